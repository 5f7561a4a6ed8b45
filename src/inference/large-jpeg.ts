// Large JPEGs straight to the model's input at a fraction of the cost: libjpeg-turbo decodes them at 1/2, 1/4 or 1/8
// of their size in the DCT (libvips' shrink-on-load, through sharp), and the rest of the way to 224x224 is one
// Lanczos-3 resize. A 1200x1600 shop photo or a 12-megapixel phone photo is never decoded pixel by pixel only for
// most of its pixels to be thrown away. bench/large-photos.ts measures the time saved and the vectors and retrieval
// against a full-size decode's (docs/performance.md). Lanczos-3 is the kernel of sharp's whose vectors came closest
// to the full-size decode's (40 photos: cosine median 0.995, against 0.993 for cubic and 0.990 for Mitchell).
import sharp from "sharp";
import { lowerThreadsNamed } from "../runtime/thread-priority.ts";
import type { FitMode } from "./preprocess.ts";

// One libvips thread per photo: the decoding threads are already sized against the model's. No operation cache: a
// catalogue's photos are each decoded once.
sharp.concurrency(1);
sharp.cache(false);

/**
 * Photos whose shorter side is at least this many times the input's take this path. Below 3x sharp decodes at full
 * size too (it shrinks on load only by a factor the resize still exceeds), so the canvas decoder stays in charge.
 */
export const SHRINK_ON_LOAD_FROM = 3;

const FIT: Readonly<Record<FitMode, "fill" | "cover" | "contain">> = {
  squash: "fill",
  "center-crop": "cover",
  letterbox: "contain",
};

const WHITE = { r: 255, g: 255, b: 255, alpha: 1 };

/** The names of Bun's thread pool's threads ("Bun Pool N", which do other work too) and of libvips' own. */
export const BUN_POOL_THREAD_NAME = "Bun Pool";
export const LIBVIPS_THREAD_NAME = "libvips worker";

/**
 * Where sharp's work runs: Bun's thread pool and libvips' workers, not the decoding thread that asks for it, so not
 * at that thread's lowered priority. Left at the event loop's, a bulk ingest's decodes took the CPU from an upload's
 * model run (niced with the model): uploads waited 90-360 ms for the model during a 1200x1600 ingest.
 */
const SHARP_THREADS = [BUN_POOL_THREAD_NAME, LIBVIPS_THREAD_NAME];

export function shrinksOnLoad(width: number, height: number, size: number): boolean {
  return Math.min(width, height) >= SHRINK_ON_LOAD_FROM * size;
}

/**
 * The photo placed in a size x size square as `fitMode` says (letterbox pads with white), EXIF orientation applied,
 * in sRGB, as RGBA bytes. Rejects with the decoder's own message when the JPEG cannot be decoded.
 */
export async function decodeLargeJpeg(bytes: Uint8Array, fitMode: FitMode, size: number, maxPixels: number): Promise<Uint8ClampedArray> {
  // failOn "error": sharp's default, "warning", refuses every JPEG that libjpeg decodes with any warning. Truncated
  // files (even one given an end marker, which "truncated" lets through) were refused before this by jpeg-scan.ts.
  const { data, info } = await sharp(bytes, { autoOrient: true, failOn: "error", limitInputPixels: maxPixels })
    .resize(size, size, { fit: FIT[fitMode], position: "centre", kernel: "lanczos3", background: WHITE })
    .toColourspace("srgb")
    .ensureAlpha(1)
    .raw()
    .toBuffer({ resolveWithObject: true });
  lowerThreadsNamed(SHARP_THREADS);
  if (info.width !== size || info.height !== size || info.channels !== 4) {
    throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}, not ${size}x${size}x4`);
  }
  return new Uint8ClampedArray(data.buffer, data.byteOffset, data.byteLength);
}
