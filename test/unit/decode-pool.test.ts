import { describe, expect, test } from "bun:test";
import { createCanvas } from "@napi-rs/canvas";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AppError } from "../../src/errors.ts";
import { colourDescriptor } from "../../src/inference/colour-descriptor.ts";
import { DecodePool } from "../../src/inference/decode-pool.ts";
import { type DecodeOptions, decodeToModelInput } from "../../src/inference/image-decoder.ts";
import { INPUT_FLOATS } from "../../src/inference/model-session.ts";
import { FASHION_DIR } from "../helpers/catalog-server.ts";
import { requireFashionPhotos } from "../helpers/environment.ts";
import { solidPhoto, twoColourPhoto, withExifOrientation } from "../helpers/images.ts";

const options: DecodeOptions = { fitMode: "squash", smoothing: "high", largeJpegs: "shrink-on-load", maxPixels: 50_000_000 };

async function inThreadDecode(bytes: Uint8Array, overrides: Partial<DecodeOptions> = {}): Promise<Float32Array> {
  const out = new Float32Array(INPUT_FLOATS);
  await decodeToModelInput(bytes, { ...options, ...overrides }, out);
  return out;
}

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => new Error("expected a rejection"),
    (reason: unknown) => reason,
  );
  if (!(error instanceof AppError)) throw error;
  return error;
}

/** A large photo (a gradient, so it compresses well but still decodes every pixel). */
function largeJpeg(width: number, height: number): Uint8Array {
  const canvas = createCanvas(width, height);
  const context = canvas.getContext("2d");
  const gradient = context.createLinearGradient(0, 0, width, height);
  gradient.addColorStop(0, "rgb(200, 30, 60)");
  gradient.addColorStop(1, "rgb(20, 90, 220)");
  context.fillStyle = gradient;
  context.fillRect(0, 0, width, height);
  return new Uint8Array(canvas.toBuffer("image/jpeg", 90));
}

/**
 * CPU time the main thread (the event loop; its thread id is the process id) has used, in milliseconds: what a
 * decode done there takes away from answering requests. Linux clock ticks, 10 ms each.
 */
function mainThreadCpuMs(): number {
  const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function mainThreadCpuDuring(work: () => Promise<unknown>): Promise<number> {
  const before = mainThreadCpuMs();
  await work();
  return mainThreadCpuMs() - before;
}

describe("DecodePool", () => {
  test("gives exactly the tensor the in-thread decoder gives", async () => {
    await using pool = new DecodePool({ workers: 1, decode: options });
    const photos = [
      withExifOrientation(twoColourPhoto("rgb(255, 0, 0)", "rgb(0, 0, 255)"), 6),
      solidPhoto(300, 120, "rgba(10, 200, 30, 0.5)", "image/webp"),
      largeJpeg(1200, 1600), // decoded at a reduced size (large-jpeg.ts)
      ...(requireFashionPhotos("decoding a real photo in the pool") ? [new Uint8Array(readFileSync(join(FASHION_DIR, "10000.jpg")))] : []),
    ];
    for (const photo of photos) {
      const expected = await inThreadDecode(photo);
      expect((await pool.decode(photo.slice())).input).toEqual(expected);
    }
    expect(pool.decoded).toBe(photos.length);
  });

  test("describes the photo's colours in the thread too when asked (the projection's colour part), and only then", async () => {
    const photo = twoColourPhoto("rgb(200, 30, 30)", "rgb(20, 40, 220)");
    await using withColour = new DecodePool({ workers: 1, decode: options, withColour: true });
    const decoded = await withColour.decode(photo.slice());
    expect(decoded.colour).toEqual(colourDescriptor(await inThreadDecode(photo)));
    await using without = new DecodePool({ workers: 1, decode: options });
    expect((await without.decode(photo.slice())).colour).toBeNull();
  });

  test("a refused photo comes back as the same AppError", async () => {
    await using pool = new DecodePool({ workers: 1, decode: { ...options, maxPixels: 9_999 } });
    const corrupt = solidPhoto(30, 30, "red").slice();
    corrupt.fill(7, 40, corrupt.length - 12); // keep signature, IHDR and IEND; ruin the pixel data
    const invalid = await rejection(pool.decode(corrupt));
    expect([invalid.status, invalid.code]).toEqual([422, "INVALID_IMAGE"]);
    expect(invalid.message).toStartWith("not a decodable image: ");
    const tooLarge = await rejection(pool.decode(solidPhoto(100, 100, "red")));
    expect([tooLarge.status, tooLarge.code, tooLarge.details]).toEqual([422, "IMAGE_TOO_LARGE", { width: 100, height: 100, maxPixels: 9_999 }]);
    const notAnImage = await rejection(pool.decode(new TextEncoder().encode("GIF89a or text")));
    expect([notAnImage.status, notAnImage.code]).toEqual([415, "UNSUPPORTED_MEDIA_TYPE"]);
    // The worker survives its refusals.
    expect((await pool.decode(solidPhoto(20, 20, "rgb(1, 2, 3)"))).input).toEqual(await inThreadDecode(solidPhoto(20, 20, "rgb(1, 2, 3)")));
  });

  test("an interactive photo goes ahead of the bulk photos waiting", async () => {
    await using pool = new DecodePool({ workers: 1, decode: options });
    const finished: string[] = [];
    const photo = () => solidPhoto(400, 400, "rgb(9, 9, 9)", "image/jpeg");
    const bulk = Array.from({ length: 5 }, (_, i) => pool.decode(photo()).then(() => finished.push(`bulk ${i}`)));
    const interactive = pool.decode(photo(), { interactive: true }).then(() => finished.push("interactive"));
    await Promise.all([...bulk, interactive]);
    // The first bulk photo was already in the worker; the interactive one is next.
    expect(finished).toEqual(["bulk 0", "interactive", "bulk 1", "bulk 2", "bulk 3", "bulk 4"]);
  });

  test("decoding takes (almost) no CPU time from the event loop's thread", async () => {
    await using pool = new DecodePool({ workers: 1, decode: options });
    const photo = largeJpeg(1600, 1200);
    await pool.decode(photo.slice()); // the worker's start-up is not what is measured
    const inThread = await mainThreadCpuDuring(async () => {
      for (let i = 0; i < 60; i++) await inThreadDecode(photo);
    });
    const pooled = await mainThreadCpuDuring(() => Promise.all(Array.from({ length: 60 }, () => pool.decode(photo.slice()))));
    expect(pool.decoded).toBe(61);
    expect(inThread).toBeGreaterThanOrEqual(100);
    expect(pooled).toBeLessThan(inThread / 3);
  });
});
