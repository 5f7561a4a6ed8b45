// The learned projection's file format and arithmetic, and the colour descriptor it may include, with exact values.
import { describe, expect, test } from "bun:test";
import { COLOUR_DIMENSIONS, colourDescriptor } from "../../src/inference/colour-descriptor.ts";
import { INPUT_FLOATS } from "../../src/inference/model-session.ts";
import { applyProjection, decodeProjection, encodeProjection, type ProjectionHeader } from "../../src/inference/projection.ts";

const PIXELS = INPUT_FLOATS / 3;

/** A 224x224 model input (NCHW, 0..255) of one colour, or of `colour` on the left half and white on the right. */
function input(rgb: [number, number, number], halfWhite = false): Float32Array {
  const out = new Float32Array(INPUT_FLOATS);
  for (let p = 0; p < PIXELS; p++) {
    const white = halfWhite && p % 224 >= 112;
    for (let c = 0; c < 3; c++) out[c * PIXELS + p] = white ? 255 : rgb[c]!;
  }
  return out;
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, v, i) => sum + v * b[i]!, 0);

describe("colourDescriptor", () => {
  test("an all-white photo (no product pixel) falls back to all pixels: L* 100, a* = b* = 0, shared by four bins", () => {
    const descriptor = colourDescriptor(input([255, 255, 255]));
    expect(descriptor.length).toBe(COLOUR_DIMENSIONS);
    // L* = 100 sits on the last L bin; a* = b* = 0 halfway between the 3rd and 4th of 6 bins: four bins of 1/4,
    // square-rooted: 0.5 each (to 1e-4: white is a* = b* = 0 only to float precision).
    const nonZero = [...descriptor.entries()].filter(([, v]) => v > 1e-6).map(([i, v]) => [i, Number(v.toFixed(4))]);
    expect(nonZero).toEqual([
      [3 * 36 + 2 * 6 + 2, 0.5],
      [3 * 36 + 2 * 6 + 3, 0.5],
      [3 * 36 + 3 * 6 + 2, 0.5],
      [3 * 36 + 3 * 6 + 3, 0.5],
    ]);
  });

  test("leaves the white background out, is unit length, and puts red nearer dark red than blue", () => {
    const red = colourDescriptor(input([200, 20, 30], true));
    expect(red).toEqual(colourDescriptor(input([200, 20, 30])));
    expect(dot(red, red)).toBeCloseTo(1, 6);
    const darkRed = colourDescriptor(input([140, 10, 20]));
    const blue = colourDescriptor(input([30, 40, 200]));
    expect(dot(red, darkRed)).toBeGreaterThan(dot(red, blue) + 0.3);
  });
});

describe("projection", () => {
  const header: ProjectionHeader = {
    name: "test",
    inputDims: 3,
    parts: [
      { kind: "linear", name: "a", dims: 2, weight: 0.6 },
      { kind: "colour", dims: COLOUR_DIMENSIONS, weight: 0.8 },
    ],
    fitted: { data: "none" },
  };
  const mean = Float32Array.of(1, 0, 0);
  const rows = Float32Array.of(1, 0, 0, 0, 1, 1);

  test("the file decodes to what was encoded, and a file with bytes to spare is refused", () => {
    const bytes = encodeProjection(header, mean, [rows]);
    const decoded = decodeProjection(bytes);
    expect({ ...decoded }).toEqual({ ...header, outputDims: 2 + COLOUR_DIMENSIONS, mean, matrices: [rows], usesColour: true });
    const longer = new Uint8Array(bytes.length + 4);
    longer.set(bytes);
    expect(() => decodeProjection(longer)).toThrow("4 bytes more than its header describes");
  });

  test("each part is its rows times (vector - mean), scaled to its weight; the result is unit length", () => {
    const projection = decodeProjection(encodeProjection(header, mean, [rows]));
    const colour = colourDescriptor(input([255, 255, 255]));
    // (4, 3, 1) - mean = (3, 3, 1) -> rows: (3, 4) -> length 5 -> scaled to 0.6: (0.36, 0.48).
    const out = applyProjection(projection, Float32Array.of(4, 3, 1), colour);
    expect([...out.subarray(0, 2)].map((v) => Number(v.toFixed(6)))).toEqual([0.36, 0.48]);
    expect([...out.subarray(2)].map((v) => Number(v.toFixed(6)))).toEqual([...colour].map((v) => Number((v * 0.8).toFixed(6))));
    expect(dot(out, out)).toBeCloseTo(1, 6);
    expect(() => applyProjection(projection, Float32Array.of(4, 3, 1))).toThrow("needs the photo's colour descriptor");
  });
});
