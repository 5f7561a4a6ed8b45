import { describe, expect, test } from "bun:test";
import { normaliseEmbedding, normalizeL2, placePhoto, rgbaToNchw } from "../../src/inference/preprocess.ts";

describe("placePhoto", () => {
  test("squash stretches the whole photo over the square", () => {
    expect(placePhoto(300, 400, "squash")).toEqual({
      source: { x: 0, y: 0, width: 300, height: 400 },
      target: { x: 0, y: 0, width: 224, height: 224 },
    });
  });

  test("center-crop cuts the centre square of a portrait or landscape photo", () => {
    expect(placePhoto(300, 400, "center-crop")).toEqual({
      source: { x: 0, y: 50, width: 300, height: 300 },
      target: { x: 0, y: 0, width: 224, height: 224 },
    });
    expect(placePhoto(500, 200, "center-crop")).toEqual({
      source: { x: 150, y: 0, width: 200, height: 200 },
      target: { x: 0, y: 0, width: 224, height: 224 },
    });
  });

  test("letterbox fits the longer side and centres the rest on the square", () => {
    expect(placePhoto(300, 400, "letterbox")).toEqual({
      source: { x: 0, y: 0, width: 300, height: 400 },
      target: { x: 28, y: 0, width: 168, height: 224 },
    });
    expect(placePhoto(1000, 10, "letterbox")).toEqual({
      source: { x: 0, y: 0, width: 1000, height: 10 },
      target: { x: 0, y: 111, width: 224, height: 2 },
    });
  });

  test("a square photo is drawn whole in every mode", () => {
    for (const mode of ["squash", "center-crop", "letterbox"] as const) {
      expect(placePhoto(224, 224, mode)).toEqual({
        source: { x: 0, y: 0, width: 224, height: 224 },
        target: { x: 0, y: 0, width: 224, height: 224 },
      });
    }
  });
});

describe("rgbaToNchw", () => {
  test("writes RGB planes of 0..255 values and composites transparency onto white", () => {
    const rgba = new Uint8ClampedArray([
      10, 20, 30, 255, // opaque: kept
      10, 20, 30, 0, // transparent: white
      0, 0, 0, 51, // 20% black over white: 204
      200, 100, 50, 255,
    ]);
    const out = new Float32Array(12);
    rgbaToNchw(rgba, 4, out);
    expect([...out]).toEqual([10, 255, 204, 200, 20, 255, 204, 100, 30, 255, 204, 50]);
  });

  test("writes at an offset, leaving the rest of a batch buffer alone", () => {
    const out = new Float32Array(5).fill(-1);
    rgbaToNchw(new Uint8ClampedArray([1, 2, 3, 255]), 1, out, 2);
    expect([...out]).toEqual([-1, -1, 1, 2, 3]);
  });

  test("refuses a buffer of the wrong size", () => {
    expect(() => rgbaToNchw(new Uint8ClampedArray(8), 1, new Float32Array(3))).toThrow(RangeError);
  });
});

describe("normalizeL2", () => {
  test("scales to unit length in place", () => {
    const vector = new Float32Array([3, 4]);
    expect(normalizeL2(vector)).toBe(vector);
    expect([...vector]).toEqual([0.6000000238418579, 0.800000011920929]);
  });

  test("leaves an all-zero vector as it is", () => {
    expect([...normalizeL2(new Float32Array(3))]).toEqual([0, 0, 0]);
  });
});

describe("normaliseEmbedding", () => {
  test("l2 only scales to unit length", () => {
    expect([...normaliseEmbedding(new Float32Array([3, 4]), "l2")]).toEqual([0.6000000238418579, 0.800000011920929]);
  });

  test("sqrt-l2 takes the square root of each component, then scales to unit length", () => {
    // sqrt gives [3, 4, 0]; unit length gives [0.6, 0.8, 0].
    expect([...normaliseEmbedding(new Float32Array([9, 16, 0]), "sqrt-l2")]).toEqual([
      0.6000000238418579, 0.800000011920929, 0,
    ]);
  });
});
