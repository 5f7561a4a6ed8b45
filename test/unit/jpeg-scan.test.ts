import { describe, expect, test } from "bun:test";
import { createCanvas, loadImage } from "@napi-rs/canvas";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { jpegScansAreComplete } from "../../src/inference/jpeg-scan.ts";
import { FASHION_DIR } from "../helpers/catalog-server.ts";
import { requireFashionPhotos } from "../helpers/environment.ts";
import { isComplete } from "../../src/inference/image-decoder.ts";
import { truncatedWithEndMarker } from "../helpers/images.ts";
import { toProgressive } from "../helpers/progressive-jpeg.ts";

/** A JPEG of random pixels: its scan data is most of the file, so a cut lands in it. */
function noisyJpeg(width: number, height: number): Uint8Array {
  const canvas = createCanvas(width, height);
  const context = canvas.getContext("2d");
  const image = context.createImageData(width, height);
  let seed = 7;
  for (let i = 0; i < image.data.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    image.data[i] = i % 4 === 3 ? 255 : seed >>> 24;
  }
  context.putImageData(image, 0, 0);
  return new Uint8Array(canvas.toBuffer("image/jpeg", 90));
}

describe("jpegScansAreComplete", () => {
  test.each([
    [64, 48],
    [1200, 1600],
  ])("a whole %ix%i JPEG is complete; cut to 60 per cent with an end marker appended, it is not", (width, height) => {
    const jpeg = noisyJpeg(width, height);
    expect(jpegScansAreComplete(jpeg)).toBe(true);
    expect(jpegScansAreComplete(truncatedWithEndMarker(jpeg))).toBe(false);
    // Cut anywhere in its last tenth: still short of the last block.
    expect(jpegScansAreComplete(truncatedWithEndMarker(jpeg, 0.97))).toBe(false);
  });

  test.skipIf(!requireFashionPhotos("the truncated real photo"))(
    "a real product photo: whole it is complete, cut at 60% with an end marker it is not",
    () => {
      const name = readdirSync(FASHION_DIR).find((file) => file.endsWith(".jpg"))!;
      const jpeg = new Uint8Array(readFileSync(join(FASHION_DIR, name)));
      expect(jpegScansAreComplete(jpeg)).toBe(true);
      expect(jpegScansAreComplete(truncatedWithEndMarker(jpeg))).toBe(false);
    },
  );

  test("a progressive JPEG: whole it is complete; cut at 60% with an end marker appended, it is not", async () => {
    const baseline = noisyJpeg(100, 75);
    const progressive = toProgressive(baseline);
    const pixels = async (jpeg: Uint8Array) => {
      const image = await loadImage(Buffer.from(jpeg));
      const context = createCanvas(image.width, image.height).getContext("2d");
      context.drawImage(image, 0, 0);
      return context.getImageData(0, 0, image.width, image.height).data;
    };
    // Really progressive (SOF2), and the same picture as the baseline file it was made from.
    expect(progressive.some((byte, i) => byte === 0xff && progressive[i + 1] === 0xc2)).toBe(true);
    expect(await pixels(progressive)).toEqual(await pixels(baseline));

    expect(jpegScansAreComplete(progressive)).toBe(true);
    const cut = truncatedWithEndMarker(progressive);
    expect(jpegScansAreComplete(cut)).toBe(false);
    expect(isComplete(cut, "jpeg")).toBe(false);
  });

  test("a file with no scan before its end marker is not complete", () => {
    const jpeg = noisyJpeg(16, 16);
    const start = jpeg.findIndex((byte, i) => byte === 0xff && jpeg[i + 1] === 0xda);
    expect(jpegScansAreComplete(new Uint8Array([...jpeg.subarray(0, start), 0xff, 0xd9]))).toBe(false);
  });
});
