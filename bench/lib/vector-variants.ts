// What is done to the raw 2048-d ResNet50 embedding before it goes into the index, and the score each variant would
// show users. Some variants need statistics of the catalogue (a mean, a PCA basis): those are fitted on given rows
// and applied to others, so the evaluation can keep the photos it fits on apart from the photos it measures on.
import { similarityScore } from "../../src/similarity/similarity.ts";
import { EMBEDDING_DIMENSIONS } from "../../src/inference/model-session.ts";
import { covariance, eigenResidual, rowMean, type SymmetricEigen, symmetricEigen } from "./linalg.ts";

export type ScoreKind = "inverse-distance" | "cosine" | "half-cosine";

export const SCORE_FORMULAS: Record<ScoreKind, { formula: string; of: (squaredDistance: number) => number }> = {
  // The old system: raw vectors, score 1/(1+d²).
  "inverse-distance": { formula: "1/(1+d²)", of: (d2) => 1 / (1 + d2) },
  // The service's formula (src/similarity): cosine of unit vectors, 1 - d²/2, clamped to [0, 1].
  cosine: { formula: "1 - d²/2 (cosine)", of: similarityScore },
  // Centred / whitened vectors can point away from each other (cosine < 0): map [-1, 1] onto [0, 1].
  "half-cosine": { formula: "1 - d²/4 = (1 + cosine)/2", of: (d2) => Math.min(1, Math.max(0, 1 - d2 / 4)) },
};

export interface VectorTransform {
  name: string;
  description: string;
  dims: number;
  score: ScoreKind;
  /** Whether it needs statistics fitted on the catalogue (stored with the index if shipped). */
  fitted: boolean;
  apply(raw: Float32Array): Float32Array;
}

const D = EMBEDDING_DIMENSIONS;

/** Rows of `dims` scaled to unit length (zero rows stay zero). */
export function normaliseRows(rows: Float32Array, dims: number): Float32Array {
  for (let offset = 0; offset < rows.length; offset += dims) {
    let sum = 0;
    for (let k = 0; k < dims; k++) sum += rows[offset + k]! * rows[offset + k]!;
    const scale = sum > 0 ? 1 / Math.sqrt(sum) : 0;
    for (let k = 0; k < dims; k++) rows[offset + k]! *= scale;
  }
  return rows;
}

export const rawTransform: VectorTransform = {
  name: "raw",
  description: "raw 2048-d, ranked by L2 distance (the old system)",
  dims: D,
  score: "inverse-distance",
  fitted: false,
  apply: (raw) => raw.slice(),
};

export const l2Transform: VectorTransform = {
  name: "l2",
  description: "L2-normalised, ranked by cosine (the service's first default)",
  dims: D,
  score: "cosine",
  fitted: false,
  apply: (raw) => normaliseRows(raw.slice(), D),
};

export const sqrtTransform: VectorTransform = {
  name: "sqrt-l2",
  description: "square root of each component (power normalisation), then L2-normalised",
  dims: D,
  score: "cosine",
  fitted: false,
  apply: (raw) => normaliseRows(raw.map((v) => Math.sqrt(Math.max(0, v))), D),
};

/** L2-normalise, subtract the mean of the fitting rows, L2-normalise again. */
export function centredTransform(fitRaw: Float32Array): VectorTransform {
  const fit = normaliseRows(fitRaw.slice(), D);
  const mean = rowMean(fit, fit.length / D, D);
  return {
    name: "centred-l2",
    description: "L2-normalised, centred on the catalogue mean, L2-normalised again",
    dims: D,
    score: "half-cosine",
    fitted: true,
    apply(raw) {
      const rows = normaliseRows(raw.slice(), D);
      for (let offset = 0; offset < rows.length; offset += D) for (let k = 0; k < D; k++) rows[offset + k]! -= mean[k]!;
      return normaliseRows(rows, D);
    },
  };
}

export interface PcaModel {
  mean: Float64Array;
  eigen: SymmetricEigen;
  /** Full projections already computed, by a hash of the raw rows: every variant truncates the same one. */
  projections: Map<string, Float32Array>;
  /** Largest |Cv - λv| over the top eigenpairs, as a check. */
  residual: number;
  seconds: number;
}

/** PCA of the L2-normalised fitting rows. */
export function fitPca(fitRaw: Float32Array): PcaModel {
  const started = performance.now();
  const fit = normaliseRows(fitRaw.slice(), D);
  const count = fit.length / D;
  const mean = rowMean(fit, count, D);
  const cov = covariance(fit, count, D, mean);
  const original = cov.slice();
  const eigen = symmetricEigen(cov, D);
  const residual = eigenResidual(original, D, eigen, 8);
  return { mean, eigen, projections: new Map(), residual, seconds: (performance.now() - started) / 1000 };
}

/** Each L2-normalised raw row, centred on the fitting mean, in the coordinates of all principal axes. */
function project(model: PcaModel, raw: Float32Array): Float32Array {
  const key = `${raw.length}:${Bun.hash(raw)}`;
  const known = model.projections.get(key);
  if (known) return known;
  const { mean, eigen } = model;
  const rows = normaliseRows(raw.slice(), D);
  const count = rows.length / D;
  const out = new Float32Array(count * D);
  const centred = new Float64Array(D);
  for (let i = 0; i < count; i++) {
    for (let k = 0; k < D; k++) centred[k] = rows[i * D + k]! - mean[k]!;
    for (let j = 0; j < D; j++) {
      const axis = j * D;
      let sum = 0;
      for (let k = 0; k < D; k++) sum += centred[k]! * eigen.vectors[axis + k]!;
      out[i * D + j] = sum;
    }
  }
  model.projections.set(key, out);
  return out;
}

/**
 * L2-normalise, centre, project on the first `dims` principal axes, optionally divide each by the square root of its
 * variance (whitening), L2-normalise.
 */
export function pcaTransform(model: PcaModel, dims: number, whiten: boolean): VectorTransform {
  const { eigen } = model;
  // Directions with (numerically) no variance in the fitting rows would be scaled up without bound.
  const floor = eigen.values[0]! * 1e-6;
  const scale = Float64Array.from({ length: dims }, (_, j) => (whiten ? 1 / Math.sqrt(Math.max(eigen.values[j]!, floor)) : 1));
  return {
    name: `${whiten ? "pca-whiten" : "pca"}-${dims}`,
    description: `${whiten ? "PCA-whitened" : "PCA-projected"} to ${dims} dims, L2-normalised`,
    dims,
    score: "half-cosine",
    fitted: true,
    apply(raw) {
      const full = project(model, raw);
      const count = full.length / D;
      const out = new Float32Array(count * dims);
      for (let i = 0; i < count; i++) for (let j = 0; j < dims; j++) out[i * dims + j] = full[i * D + j]! * scale[j]!;
      return normaliseRows(out, dims);
    },
  };
}

/** Rows `indices` of a matrix of `dims`-wide rows, as a new matrix. */
export function pickRows(matrix: Float32Array, dims: number, indices: number[]): Float32Array {
  const out = new Float32Array(indices.length * dims);
  indices.forEach((row, i) => out.set(matrix.subarray(row * dims, (row + 1) * dims), i * dims));
  return out;
}
