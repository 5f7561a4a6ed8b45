// Photos made in the test itself: solid colours, transparency, EXIF orientation, truncated files, enlargements.
import { createCanvas, loadImage } from "@napi-rs/canvas";

export function solidPhoto(
  width: number,
  height: number,
  fill: string,
  format: "image/jpeg" | "image/png" | "image/webp" = "image/png",
): Uint8Array {
  const canvas = createCanvas(width, height);
  const context = canvas.getContext("2d");
  context.fillStyle = fill;
  context.fillRect(0, 0, width, height);
  return new Uint8Array(format === "image/jpeg" ? canvas.toBuffer(format, 95) : canvas.toBuffer(format as "image/png"));
}

/** A landscape photo (80x40 unless sized), left half `left`, right half `right`. */
export function twoColourPhoto(
  left: string,
  right: string,
  format: "image/jpeg" | "image/png" = "image/jpeg",
  size = { width: 80, height: 40 },
): Uint8Array {
  const canvas = createCanvas(size.width, size.height);
  const context = canvas.getContext("2d");
  context.fillStyle = left;
  context.fillRect(0, 0, size.width / 2, size.height);
  context.fillStyle = right;
  context.fillRect(size.width / 2, 0, size.width / 2, size.height);
  return new Uint8Array(format === "image/jpeg" ? canvas.toBuffer(format, 95) : canvas.toBuffer(format));
}

/** Inserts an EXIF segment carrying only the orientation tag right after the JPEG's start marker. */
export function withExifOrientation(jpeg: Uint8Array, orientation: number): Uint8Array {
  const tiff = [0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, orientation, 0, 0, 0, 0, 0, 0];
  const payload = [...new TextEncoder().encode("Exif\0\0"), ...tiff];
  const length = payload.length + 2;
  const segment = [0xff, 0xe1, length >> 8, length & 0xff, ...payload];
  return new Uint8Array([...jpeg.subarray(0, 2), ...segment, ...jpeg.subarray(2)]);
}

/** A file cut off in transfer. */
export function truncated(bytes: Uint8Array, keep = 0.6): Uint8Array {
  return bytes.slice(0, Math.floor(bytes.length * keep));
}

/** A JPEG cut off in transfer and then given an end-of-image marker (FFD9): every marker is there, the data is not. */
export function truncatedWithEndMarker(jpeg: Uint8Array, keep = 0.6): Uint8Array {
  return new Uint8Array([...truncated(jpeg, keep), 0xff, 0xd9]);
}

/** A photo (a labelled one is 224x224) drawn at `width` x `height` with the canvas's cubic filter, saved as JPEG quality 90. */
export async function enlargedJpeg(bytes: Uint8Array, width: number, height: number): Promise<Uint8Array> {
  const photo = await loadImage(Buffer.from(bytes));
  const canvas = createCanvas(width, height);
  const context = canvas.getContext("2d");
  context.imageSmoothingQuality = "high";
  context.drawImage(photo, 0, 0, width, height);
  return new Uint8Array(canvas.toBuffer("image/jpeg", 90));
}
