// Building candidate vectors for the fitting script: columns of a matrix, and the weighted concatenation of unit-length
// parts (the same arithmetic as src/inference/projection.ts applies to one vector, here on many rows at once).
import { normaliseEmbedding } from "../../src/inference/preprocess.ts";

export interface Part {
  rows: Float32Array;
  dims: number;
  /** The part's length in the concatenated vector; the squares of a vector's weights sum to 1. */
  weight: number;
}

/** The first `take` of `dims` columns of each row. */
export function firstColumns(rows: Float32Array, dims: number, take: number): Float32Array {
  if (take === dims) return rows;
  const count = rows.length / dims;
  const out = new Float32Array(count * take);
  for (let i = 0; i < count; i++) out.set(rows.subarray(i * dims, i * dims + take), i * take);
  return out;
}

/** Each part's rows scaled to length `weight`, side by side. */
export function fuse(parts: Part[]): { rows: Float32Array; dims: number } {
  const live = parts.filter((part) => part.weight > 0);
  const dims = live.reduce((sum, part) => sum + part.dims, 0);
  const count = live[0]!.rows.length / live[0]!.dims;
  const out = new Float32Array(count * dims);
  for (let i = 0; i < count; i++) {
    let offset = i * dims;
    for (const part of live) {
      const row = part.rows.subarray(i * part.dims, (i + 1) * part.dims);
      let sum = 0;
      for (const v of row) sum += v * v;
      const scale = sum > 0 ? part.weight / Math.sqrt(sum) : 0;
      for (let k = 0; k < part.dims; k++) out[offset + k] = row[k]! * scale;
      offset += part.dims;
    }
  }
  return { rows: out, dims };
}

/** The service's vector before projection: square root of each component, L2-normalised (src/inference/preprocess.ts). */
export function sqrtL2Rows(raw: Float32Array, dims: number): Float32Array {
  const out = new Float32Array(raw.length);
  for (let offset = 0; offset < raw.length; offset += dims) out.set(normaliseEmbedding(raw.slice(offset, offset + dims), "sqrt-l2"), offset);
  return out;
}
