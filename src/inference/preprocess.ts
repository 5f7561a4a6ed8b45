// Pure image preprocessing for the ResNet50 graph: where a photo lands in the 224x224 input, and how RGBA pixels
// become the NCHW float tensor the graph takes (RGB 0..255; the graph subtracts the channel means itself).

export const MODEL_INPUT_SIZE = 224;

/** Floats in one image's input tensor (3 x 224 x 224). */
export const INPUT_FLOATS = 3 * MODEL_INPUT_SIZE * MODEL_INPUT_SIZE;

/**
 * How a photo of any shape becomes a square input:
 * - `center-crop`: scale the shorter side to the input size, cut the centre square (no distortion, edges lost);
 * - `squash`: stretch the whole photo to the square (what the old system did);
 * - `letterbox`: scale the longer side to the input size and pad with white (nothing lost, nothing distorted).
 */
export type FitMode = "center-crop" | "squash" | "letterbox";

export interface Placement {
  /** The part of the source photo that is drawn. */
  source: { x: number; y: number; width: number; height: number };
  /** Where it is drawn in the size x size input. */
  target: { x: number; y: number; width: number; height: number };
}

export function placePhoto(width: number, height: number, mode: FitMode, size = MODEL_INPUT_SIZE): Placement {
  const whole = { x: 0, y: 0, width, height };
  const square = { x: 0, y: 0, width: size, height: size };
  switch (mode) {
    case "squash":
      return { source: whole, target: square };
    case "center-crop": {
      const side = Math.min(width, height);
      const source = { x: (width - side) / 2, y: (height - side) / 2, width: side, height: side };
      return { source, target: square };
    }
    case "letterbox": {
      const scale = size / Math.max(width, height);
      const targetWidth = Math.max(1, Math.round(width * scale));
      const targetHeight = Math.max(1, Math.round(height * scale));
      const target = {
        x: Math.floor((size - targetWidth) / 2),
        y: Math.floor((size - targetHeight) / 2),
        width: targetWidth,
        height: targetHeight,
      };
      return { source: whole, target };
    }
  }
}

/**
 * Writes one image's RGBA pixels (straight, not premultiplied alpha) into `out` at `offset` as three planes R, G, B,
 * each pixel composited onto white so transparent areas read as the white background of a product shot.
 */
export function rgbaToNchw(rgba: Uint8ClampedArray, pixelCount: number, out: Float32Array, offset = 0): void {
  if (rgba.length !== pixelCount * 4) throw new RangeError(`expected ${pixelCount * 4} RGBA bytes, got ${rgba.length}`);
  const green = offset + pixelCount;
  const blue = offset + 2 * pixelCount;
  for (let i = 0; i < pixelCount; i++) {
    const alpha = rgba[i * 4 + 3]!;
    const background = 255 - alpha;
    out[offset + i] = (rgba[i * 4]! * alpha) / 255 + background;
    out[green + i] = (rgba[i * 4 + 1]! * alpha) / 255 + background;
    out[blue + i] = (rgba[i * 4 + 2]! * alpha) / 255 + background;
  }
}

/**
 * How the model's pooled features become the stored vector:
 * - `l2`: scaled to unit length;
 * - `sqrt-l2`: the square root of each component first (power normalisation: a few strongly firing channels no
 *   longer drown the rest), then unit length. Measured better on the labelled photos (docs/quality.md).
 */
export type VectorNormalisation = "l2" | "sqrt-l2";

/** Turns raw features into the stored vector, in place. */
export function normaliseEmbedding(vector: Float32Array, mode: VectorNormalisation): Float32Array {
  if (mode === "sqrt-l2") {
    for (let i = 0; i < vector.length; i++) vector[i] = Math.sign(vector[i]!) * Math.sqrt(Math.abs(vector[i]!));
  }
  return normalizeL2(vector);
}

/** Scales `vector` in place to unit length, so squared L2 distance d² between two vectors equals 2 - 2·cosine. */
export function normalizeL2(vector: Float32Array): Float32Array {
  let sum = 0;
  for (const value of vector) sum += value * value;
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < vector.length; i++) vector[i]! /= norm;
  return vector;
}
