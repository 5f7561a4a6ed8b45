// Small vectors for the store's tests: exact values, unit length, one of its own for every id.
export const DIMENSIONS = 8;
export const PIPELINE = "test-pipeline/v1";

/** A unit vector between axes `index` and `index + 1`. */
export function unit(index: number, weight = 1): Float32Array {
  const vector = new Float32Array(DIMENSIONS);
  vector[index % DIMENSIONS] = weight;
  vector[(index + 1) % DIMENSIONS] = 1 - weight;
  const norm = Math.hypot(...vector);
  return vector.map((v) => v / norm);
}

/** A vector of its own for every id. */
export function distinct(id: number, dimensions = DIMENSIONS): Float32Array {
  const vector = Float32Array.from({ length: dimensions }, (_, k) => Math.abs(Math.sin(id * (k + 1.3))));
  const norm = Math.hypot(...vector);
  return vector.map((v) => v / norm);
}
