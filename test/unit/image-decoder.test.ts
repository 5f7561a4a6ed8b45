import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AppError } from "../../src/errors.ts";
import { type DecodeOptions, decodeToModelInput, isComplete, sniffFormat } from "../../src/inference/image-decoder.ts";
import { INPUT_FLOATS } from "../../src/inference/model-session.ts";
import { FASHION_DIR } from "../helpers/catalog-server.ts";
import { requireFashionPhotos } from "../helpers/environment.ts";
import { createCanvas } from "@napi-rs/canvas";
import sharp from "sharp";
import { BUN_POOL_THREAD_NAME, SHRINK_ON_LOAD_FROM } from "../../src/inference/large-jpeg.ts";
import { BULK_THREAD_NICE } from "../../src/runtime/thread-priority.ts";
import { solidPhoto, truncated, twoColourPhoto, withExifOrientation } from "../helpers/images.ts";
import { threadPriorities } from "../helpers/thread-priorities.ts";

const options: DecodeOptions = { fitMode: "center-crop", smoothing: "high", largeJpegs: "shrink-on-load", maxPixels: 50_000_000 };
const PLANE = 224 * 224;

async function decode(bytes: Uint8Array, overrides: Partial<DecodeOptions> = {}): Promise<Float32Array> {
  const out = new Float32Array(INPUT_FLOATS);
  await decodeToModelInput(bytes, { ...options, ...overrides }, out);
  return out;
}

/** The RGB value the tensor holds at pixel (x, y). */
function pixel(tensor: Float32Array, x: number, y: number): number[] {
  const i = y * 224 + x;
  return [tensor[i]!, tensor[PLANE + i]!, tensor[2 * PLANE + i]!].map(Math.round);
}

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error("expected a rejection");
}

describe("sniffFormat and isComplete", () => {
  test("recognise whole JPEG, PNG and WebP files", () => {
    for (const [format, mime] of [["jpeg", "image/jpeg"], ["png", "image/png"], ["webp", "image/webp"]] as const) {
      const bytes = solidPhoto(30, 20, "red", mime);
      expect(sniffFormat(bytes)).toBe(format);
      expect(isComplete(bytes, format)).toBe(true);
      expect(isComplete(truncated(bytes), format)).toBe(false);
    }
  });

  test("a JPEG with data after its end marker (as some phones write) is complete", () => {
    const jpeg = solidPhoto(30, 20, "red", "image/jpeg");
    expect(isComplete(new Uint8Array([...jpeg, 1, 2, 3, 0xff, 0xd8]), "jpeg")).toBe(true);
  });

  test("a PNG with bytes after its end chunk is complete", () => {
    const png = solidPhoto(30, 20, "red");
    expect(isComplete(new Uint8Array([...png, 0, 0, 0, 0]), "png")).toBe(true);
  });

  test("anything else is no image", () => {
    expect(sniffFormat(new TextEncoder().encode("hello, not a photo"))).toBeNull();
    expect(sniffFormat(new Uint8Array())).toBeNull();
  });
});

describe("decodeToModelInput", () => {
  test("a solid colour fills all three planes with its exact RGB values", async () => {
    const tensor = await decode(solidPhoto(300, 200, "rgb(10, 20, 30)"));
    expect(tensor.subarray(0, PLANE).every((v) => v === 10)).toBe(true);
    expect(tensor.subarray(PLANE, 2 * PLANE).every((v) => v === 20)).toBe(true);
    expect(tensor.subarray(2 * PLANE).every((v) => v === 30)).toBe(true);
  });

  test("transparent areas become white", async () => {
    const tensor = await decode(solidPhoto(50, 50, "rgba(0, 0, 0, 0)"));
    expect(tensor.every((v) => v === 255)).toBe(true);
  });

  test("letterbox pads with white, center-crop fills the square", async () => {
    const wide = solidPhoto(400, 100, "rgb(0, 0, 255)");
    const letterboxed = await decode(wide, { fitMode: "letterbox" });
    expect(pixel(letterboxed, 112, 5)).toEqual([255, 255, 255]);
    expect(pixel(letterboxed, 112, 112)).toEqual([0, 0, 255]);
    const cropped = await decode(wide, { fitMode: "center-crop" });
    expect(pixel(cropped, 112, 5)).toEqual([0, 0, 255]);
  });

  test("EXIF orientation is honoured", async () => {
    // Red on the left, blue on the right; orientation 6 means "rotate 90° clockwise to display": red on top.
    const photo = twoColourPhoto("rgb(255, 0, 0)", "rgb(0, 0, 255)");
    const upright = await decode(photo, { fitMode: "squash" });
    expect(pixel(upright, 20, 112)).toEqual([254, 0, 0]);
    const rotated = await decode(withExifOrientation(photo, 6), { fitMode: "squash" });
    expect(pixel(rotated, 112, 20)).toEqual([254, 0, 0]);
    expect(pixel(rotated, 112, 200)).toEqual([0, 0, 254]);
  });

  test("a truncated JPEG is refused, not decoded with blank rows", async () => {
    const error = await rejection(decode(truncated(twoColourPhoto("red", "blue"))));
    expect([error.status, error.code, error.message]).toEqual([422, "INVALID_IMAGE", "not a decodable image: the jpeg file is truncated"]);
  });

  test("bytes that are no image are 415", async () => {
    const error = await rejection(decode(new TextEncoder().encode("GIF89a or text")));
    expect([error.status, error.code]).toEqual([415, "UNSUPPORTED_MEDIA_TYPE"]);
  });

  test("a corrupt image with a whole structure is 422", async () => {
    const png = solidPhoto(30, 30, "red");
    const corrupt = png.slice();
    corrupt.fill(7, 40, png.length - 12); // keep signature, IHDR and IEND; ruin the pixel data
    const error = await rejection(decode(corrupt));
    expect([error.status, error.code]).toEqual([422, "INVALID_IMAGE"]);
  });

  test("more pixels than the limit is refused before decoding (decompression bombs)", async () => {
    const error = await rejection(decode(solidPhoto(100, 100, "red"), { maxPixels: 9_999 }));
    expect([error.status, error.code, error.details]).toEqual([
      422,
      "IMAGE_TOO_LARGE",
      { width: 100, height: 100, maxPixels: 9_999 },
    ]);
  });

  test.skipIf(!requireFashionPhotos("decoding a real catalogue photo"))("a real 224x224 catalogue photo decodes as it is", async () => {
    const bytes = new Uint8Array(readFileSync(join(FASHION_DIR, "10000.jpg")));
    const tensor = await decode(bytes);
    expect(tensor.every((v) => v >= 0 && v <= 255)).toBe(true);
    expect(pixel(tensor, 0, 0)).toEqual([255, 255, 255]); // the white studio background
  });
});

/** A 1200x1600 JPEG with detail: overlapping rectangles of many colours, placed by a fixed pseudo-random sequence. */
function detailedPhoto(width = 1200, height = 1600): Uint8Array {
  const canvas = createCanvas(width, height);
  const context = canvas.getContext("2d");
  let seed = 7;
  const next = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  for (let i = 0; i < 600; i++) {
    context.fillStyle = `rgb(${Math.floor(next() * 256)}, ${Math.floor(next() * 256)}, ${Math.floor(next() * 256)})`;
    context.fillRect(next() * width, next() * height, 30 + next() * 200, 30 + next() * 200);
  }
  return new Uint8Array(canvas.toBuffer("image/jpeg", 90));
}

function meanAbsoluteDifference(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

describe("large JPEGs (shorter side at least 3x the input's)", () => {
  const large = { width: 1600, height: 800 };
  const smallest = SHRINK_ON_LOAD_FROM * 224;

  test("are decoded at a reduced size, not by the full-size decoder, into nearly the same input", async () => {
    const photo = detailedPhoto();
    const reduced = await decode(photo, { fitMode: "squash" });
    const fullSize = await decode(photo, { fitMode: "squash", largeJpegs: "full-size" });
    const difference = meanAbsoluteDifference(reduced, fullSize);
    expect(difference).toBeGreaterThan(0);
    // They differ at edges: shrunk 5-7x, the canvas's cubic samples a few source pixels (an edge stays sharp, or
    // aliases), while Lanczos-3 averages all of them (an edge 0.42 of a pixel in reads 144 of 255, not 249).
    expect(difference).toBeLessThan(8);
  });

  test("a JPEG just under the size, and a large PNG, go through the full-size decoder", async () => {
    const under = detailedPhoto(smallest - 1, smallest + 200);
    expect(await decode(under, { fitMode: "squash" })).toEqual(await decode(under, { fitMode: "squash", largeJpegs: "full-size" }));
    const png = solidPhoto(smallest, smallest, "rgb(10, 200, 30)", "image/png");
    expect(await decode(png)).toEqual(await decode(png, { largeJpegs: "full-size" }));
  });

  test("a solid colour keeps its RGB values", async () => {
    const tensor = await decode(solidPhoto(smallest, smallest, "rgb(10, 200, 30)", "image/jpeg"));
    expect(pixel(tensor, 0, 0)).toEqual(pixel(tensor, 223, 223));
    for (const [value, expected] of pixel(tensor, 112, 112).map((v, i) => [v, [10, 200, 30][i]!])) {
      expect(Math.abs(value! - expected!)).toBeLessThanOrEqual(2);
    }
  });

  test("each fit mode places the photo as the full-size decoder does", async () => {
    const photo = twoColourPhoto("rgb(255, 0, 0)", "rgb(0, 0, 255)", "image/jpeg", large);
    for (const fitMode of ["squash", "center-crop", "letterbox"] as const) {
      const reduced = await decode(photo, { fitMode });
      const fullSize = await decode(photo, { fitMode, largeJpegs: "full-size" });
      // Away from the edge between the halves (and, letterboxed, the edge of the white bands): the same colours.
      for (const [x, y] of [[20, 112], [200, 112], [40, 20], [180, 200], [20, 200], [200, 20]] as const) {
        expect(pixel(reduced, x, y).map((v, i) => Math.abs(v - pixel(fullSize, x, y)[i]!) <= 3)).toEqual([true, true, true]);
      }
    }
    const letterboxed = await decode(photo, { fitMode: "letterbox" });
    expect(pixel(letterboxed, 112, 20)).toEqual([255, 255, 255]);
    expect(pixel(letterboxed, 20, 112)[0]).toBeGreaterThan(250);
  });

  test("EXIF orientation is honoured", async () => {
    // Orientation 6 ("rotate 90° clockwise to display"): the left half (red) ends up on top.
    const rotated = await decode(withExifOrientation(twoColourPhoto("rgb(255, 0, 0)", "rgb(0, 0, 255)", "image/jpeg", large), 6), { fitMode: "squash" });
    expect(pixel(rotated, 112, 20)[0]).toBeGreaterThan(250);
    expect(pixel(rotated, 112, 200)[2]).toBeGreaterThan(250);
  });

  test("a CMYK JPEG becomes RGB", async () => {
    const cmyk = await sharp({ create: { width: smallest, height: smallest, channels: 3, background: { r: 200, g: 50, b: 50 } } })
      .toColourspace("cmyk")
      .jpeg({ quality: 95 })
      .toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe("cmyk");
    const [red, green, blue] = pixel(await decode(new Uint8Array(cmyk)), 112, 112);
    expect(red).toBeGreaterThan(180);
    expect(Math.max(green!, blue!)).toBeLessThan(80);
  });

  test("sharp's work runs at the bulk priority, like the rest of decoding, not at the event loop's", async () => {
    await decode(detailedPhoto());
    // The threads sharp ran on: Bun's pool.
    const pool = threadPriorities().filter((thread) => thread.name.startsWith(BUN_POOL_THREAD_NAME));
    expect(pool.length).toBeGreaterThan(0);
    expect(pool.map((thread) => thread.nice)).toEqual(pool.map(() => BULK_THREAD_NICE));
  });

  test("a truncated one is refused, and so is one whose data is corrupt", async () => {
    const photo = detailedPhoto();
    const cut = await rejection(decode(truncated(photo)));
    expect([cut.status, cut.code, cut.message]).toEqual([422, "INVALID_IMAGE", "not a decodable image: the jpeg file is truncated"]);
    // The start of frame claims 12 bits a sample, which no decoder of 8-bit JPEGs accepts; every marker is in place.
    const corrupt = photo.slice();
    const frame = corrupt.findIndex((byte, i) => byte === 0xff && corrupt[i + 1] === 0xc0);
    corrupt[frame + 4] = 12;
    const error = await rejection(decode(corrupt));
    expect([error.status, error.code]).toEqual([422, "INVALID_IMAGE"]);
  });
});
