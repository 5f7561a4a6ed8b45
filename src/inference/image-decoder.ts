// Turns photo bytes into the model's input tensor. The only module that touches the canvas library: it checks the
// bytes are a whole JPEG/PNG/WebP of an acceptable size before decoding (the canvas library silently decodes a
// truncated JPEG with blank rows), decodes with EXIF orientation applied, and draws into the 224x224 input. Large
// JPEGs go to large-jpeg.ts instead, which decodes them at a reduced size.
import { createCanvas, loadImage } from "@napi-rs/canvas";
import { imageSize } from "image-size";
import { AppError, invalidImage } from "../errors.ts";
import { jpegScansAreComplete } from "./jpeg-scan.ts";
import { decodeLargeJpeg, shrinksOnLoad } from "./large-jpeg.ts";
import { type FitMode, MODEL_INPUT_SIZE, placePhoto, rgbaToNchw } from "./preprocess.ts";

export type ImageFormat = "jpeg" | "png" | "webp";

export type ResizeFilter = "low" | "medium" | "high";

/**
 * How JPEGs at least 3x the input's size are decoded: "shrink-on-load" at a reduced size in the DCT, then Lanczos-3
 * (large-jpeg.ts); "full-size" like every other photo, by the canvas. Part of the pipeline: it changes their vectors.
 */
export type LargeJpegDecoding = "shrink-on-load" | "full-size";

/** How a photo becomes the model's input: each choice is part of the pipeline (it changes vectors). */
export interface Preprocessing {
  fitMode: FitMode;
  /**
   * The resize filter, the canvas's imageSmoothingQuality: "high" is a Mitchell cubic, which also softens a photo
   * drawn 1:1; "low" and "medium" are bilinear.
   */
  smoothing: ResizeFilter;
  largeJpegs: LargeJpegDecoding;
}

export interface DecodeOptions extends Preprocessing {
  maxPixels: number;
}

export function sniffFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "jpeg";
  if (bytes.length >= 8 && bytes[0] === 0x89 && ascii(bytes, 1, 3) === "PNG") return "png";
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 4) === "WEBP") return "webp";
  return null;
}

/** Whether the file ends where its format says it ends, i.e. was not cut off in transfer. */
export function isComplete(bytes: Uint8Array, format: ImageFormat): boolean {
  switch (format) {
    case "jpeg":
      // An end marker alone is not enough: a file cut off in transfer may have had one appended.
      return jpegHasEndMarker(bytes) && jpegScansAreComplete(bytes);
    case "png":
      return pngHasEndChunk(bytes);
    case "webp": {
      const riffSize = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
      return bytes.length >= riffSize + 8;
    }
  }
}

/** Validates and decodes one photo into `out` (3·224·224 floats) at `offset`. */
export async function decodeToModelInput(
  bytes: Uint8Array,
  options: DecodeOptions,
  out: Float32Array,
  offset = 0,
): Promise<void> {
  const format = sniffFormat(bytes);
  if (!format) {
    throw new AppError("UNSUPPORTED_MEDIA_TYPE", 415, "unsupported image type: send a JPEG, PNG or WebP photo");
  }
  if (!isComplete(bytes, format)) throw invalidImage(`the ${format} file is truncated`);
  let width: number;
  let height: number;
  try {
    ({ width, height } = imageSize(bytes));
  } catch (error) {
    throw invalidImage(`unreadable ${format} header (${(error as Error).message})`);
  }
  if (!(width > 0 && height > 0)) throw invalidImage(`the ${format} header has no size`);
  if (width * height > options.maxPixels) {
    throw new AppError(
      "IMAGE_TOO_LARGE",
      422,
      `image is ${width}x${height} = ${width * height} pixels; the limit is ${options.maxPixels} pixels`,
      { width, height, maxPixels: options.maxPixels },
    );
  }

  const size = MODEL_INPUT_SIZE;
  if (format === "jpeg" && options.largeJpegs === "shrink-on-load" && shrinksOnLoad(width, height, size)) {
    let rgba: Uint8ClampedArray;
    try {
      rgba = await decodeLargeJpeg(bytes, options.fitMode, size, options.maxPixels);
    } catch (error) {
      throw invalidImage(`jpeg could not be decoded (${(error as Error).message})`);
    }
    rgbaToNchw(rgba, size * size, out, offset);
    return;
  }

  let image: Awaited<ReturnType<typeof loadImage>>;
  try {
    image = await loadImage(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (error) {
    throw invalidImage(`${format} could not be decoded (${(error as Error).message})`);
  }
  if (!(image.width > 0 && image.height > 0)) throw invalidImage(`${format} decoded to an empty image`);

  const canvas = createCanvas(size, size);
  const context = canvas.getContext("2d");
  context.imageSmoothingEnabled = true;
  context.imageSmoothingQuality = options.smoothing;
  const { source, target } = placePhoto(image.width, image.height, options.fitMode, size);
  context.drawImage(
    image,
    source.x,
    source.y,
    source.width,
    source.height,
    target.x,
    target.y,
    target.width,
    target.height,
  );
  rgbaToNchw(context.getImageData(0, 0, size, size).data, size * size, out, offset);
}

/**
 * Walks the JPEG's segments (and the entropy-coded scans between them) up to the end-of-image marker; a file cut off
 * before it is truncated. Data after the marker (some phones append a trailer) is allowed.
 */
function jpegHasEndMarker(bytes: Uint8Array): boolean {
  let i = 2;
  while (i + 1 < bytes.length) {
    if (bytes[i] !== 0xff) return false;
    const marker = bytes[i + 1]!;
    if (marker === 0xff) {
      i++; // fill byte
    } else if (marker === 0xd9) {
      return true;
    } else if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2; // markers without a length
    } else {
      if (i + 3 >= bytes.length) return false;
      i += 2 + ((bytes[i + 2]! << 8) | bytes[i + 3]!);
      if (marker === 0xda) {
        // Scan data ends at the first marker that is neither a stuffed 0xff00 nor a restart marker.
        while (i + 1 < bytes.length) {
          const next = bytes[i + 1]!;
          if (bytes[i] === 0xff && next !== 0x00 && !(next >= 0xd0 && next <= 0xd7) && next !== 0xff) break;
          i++;
        }
      }
    }
  }
  return false;
}

/** Walks the PNG's chunks up to IEND; data after it is allowed, a file cut off before it is truncated. */
function pngHasEndChunk(bytes: Uint8Array): boolean {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let offset = 8; offset + 12 <= bytes.length; ) {
    const length = view.getUint32(offset);
    if (ascii(bytes, offset + 4, 4) === "IEND") return true;
    offset += 12 + length;
  }
  return false;
}

function ascii(bytes: Uint8Array, start: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(start, start + length));
}
