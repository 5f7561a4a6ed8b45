// Learned linear maps for the fitting script: a PCA basis of the (square-rooted, L2-normalised) embeddings, and a
// linear discriminant analysis (LDA) in its first p coordinates, with the within-class scatter shrunk towards a
// multiple of the identity (regularised LDA, as in Friedman 1989), so that classes with a handful of photos do not
// make the scatter singular.
import { covariance, rowMean, symmetricEigen } from "./linalg.ts";

export interface PcaBasis {
  dims: number;
  mean: Float64Array;
  /** Rows: principal axes (unit, length `dims`), largest variance first; as many as were kept. */
  axes: Float64Array;
  values: Float64Array;
  kept: number;
}

/** PCA of `count` rows of `dims`, keeping the first `keep` axes. */
export function fitPcaBasis(rows: Float32Array, count: number, dims: number, keep: number): PcaBasis {
  const mean = rowMean(rows, count, dims);
  const eigen = symmetricEigen(covariance(rows, count, dims, mean), dims);
  const kept = Math.min(keep, dims);
  return { dims, mean, axes: eigen.vectors.slice(0, kept * dims), values: eigen.values.slice(0, kept), kept };
}

/** Each row, centred on the basis's mean, in the coordinates of its first `p` axes (count x p). */
export function pcaCoordinates(basis: PcaBasis, rows: Float32Array, p: number): Float32Array {
  const { dims, mean, axes } = basis;
  const count = rows.length / dims;
  const out = new Float32Array(count * p);
  const centred = new Float64Array(dims);
  for (let i = 0; i < count; i++) {
    for (let k = 0; k < dims; k++) centred[k] = rows[i * dims + k]! - mean[k]!;
    for (let j = 0; j < p; j++) {
      const axis = j * dims;
      let sum = 0;
      for (let k = 0; k < dims; k++) sum += centred[k]! * axes[axis + k]!;
      out[i * p + j] = sum;
    }
  }
  return out;
}

/**
 * Discriminant directions in the p-dimensional coordinates: rows of a q x p matrix. `labels[i]` is the class of row
 * i. Solves Sb v = λ Sw' v with Sw' = (1 - shrinkage)·Sw + shrinkage·(trace(Sw)/p)·I, by whitening with Sw'^(-1/2).
 */
export function fitLda(coords: Float32Array, labels: Int32Array, p: number, shrinkage: number, q: number): Float64Array {
  const count = labels.length;
  const classes = Math.max(...labels) + 1;
  const means = new Float64Array(classes * p);
  const sizes = new Float64Array(classes);
  const overall = new Float64Array(p);
  for (let i = 0; i < count; i++) {
    const c = labels[i]!;
    sizes[c]!++;
    for (let k = 0; k < p; k++) {
      means[c * p + k]! += coords[i * p + k]!;
      overall[k]! += coords[i * p + k]!;
    }
  }
  for (let k = 0; k < p; k++) overall[k]! /= count;
  for (let c = 0; c < classes; c++) if (sizes[c]! > 0) for (let k = 0; k < p; k++) means[c * p + k]! /= sizes[c]!;

  const within = new Float64Array(p * p);
  const diff = new Float64Array(p);
  for (let i = 0; i < count; i++) {
    const c = labels[i]!;
    for (let k = 0; k < p; k++) diff[k] = coords[i * p + k]! - means[c * p + k]!;
    addOuter(within, diff, 1, p);
  }
  const between = new Float64Array(p * p);
  for (let c = 0; c < classes; c++) {
    if (sizes[c]! === 0) continue;
    for (let k = 0; k < p; k++) diff[k] = means[c * p + k]! - overall[k]!;
    addOuter(between, diff, sizes[c]!, p);
  }
  let trace = 0;
  for (let k = 0; k < p; k++) trace += within[k * p + k]!;
  for (let a = 0; a < p * p; a++) within[a] = (1 - shrinkage) * within[a]!;
  for (let k = 0; k < p; k++) within[k * p + k]! += (shrinkage * trace) / p;

  // W = Sw'^(-1/2) = V Λ^(-1/2) Vᵀ (symmetric).
  const { values, vectors } = symmetricEigen(within, p);
  const floor = values[0]! * 1e-10;
  const whiten = new Float64Array(p * p);
  for (let e = 0; e < p; e++) {
    const scale = 1 / Math.sqrt(Math.max(values[e]!, floor));
    const v = vectors.subarray(e * p, (e + 1) * p);
    for (let a = 0; a < p; a++) {
      const va = v[a]! * scale;
      if (va === 0) continue;
      for (let b = 0; b < p; b++) whiten[a * p + b]! += va * v[b]!;
    }
  }
  const m = multiply(multiply(whiten, between, p), whiten, p);
  const top = symmetricEigen(m, p);
  const kept = Math.min(q, p, classes - 1);
  // Direction i = W u_i, as a row.
  const directions = new Float64Array(kept * p);
  for (let i = 0; i < kept; i++) {
    const u = top.vectors.subarray(i * p, (i + 1) * p);
    for (let a = 0; a < p; a++) {
      let sum = 0;
      for (let b = 0; b < p; b++) sum += whiten[a * p + b]! * u[b]!;
      directions[i * p + a] = sum;
    }
  }
  return directions;
}

/** rows (count x p) times directionsᵀ (q x p): count x q. */
export function applyDirections(coords: Float32Array, p: number, directions: Float64Array): Float32Array {
  const q = directions.length / p;
  const count = coords.length / p;
  const out = new Float32Array(count * q);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < q; j++) {
      let sum = 0;
      for (let k = 0; k < p; k++) sum += coords[i * p + k]! * directions[j * p + k]!;
      out[i * q + j] = sum;
    }
  }
  return out;
}

/** Directions in the p PCA coordinates -> the same directions on the original `dims` (q x dims). */
export function directionsInInputSpace(basis: PcaBasis, p: number, directions: Float64Array): Float64Array {
  const q = directions.length / p;
  const out = new Float64Array(q * basis.dims);
  for (let i = 0; i < q; i++) {
    for (let j = 0; j < p; j++) {
      const w = directions[i * p + j]!;
      const axis = j * basis.dims;
      for (let k = 0; k < basis.dims; k++) out[i * basis.dims + k]! += w * basis.axes[axis + k]!;
    }
  }
  return out;
}

function addOuter(target: Float64Array, v: Float64Array, weight: number, p: number): void {
  for (let a = 0; a < p; a++) {
    const va = v[a]! * weight;
    if (va === 0) continue;
    const row = a * p;
    for (let b = 0; b < p; b++) target[row + b]! += va * v[b]!;
  }
}

function multiply(a: Float64Array, b: Float64Array, p: number): Float64Array {
  const out = new Float64Array(p * p);
  for (let i = 0; i < p; i++) {
    for (let k = 0; k < p; k++) {
      const aik = a[i * p + k]!;
      if (aik === 0) continue;
      for (let j = 0; j < p; j++) out[i * p + j]! += aik * b[k * p + j]!;
    }
  }
  return out;
}
