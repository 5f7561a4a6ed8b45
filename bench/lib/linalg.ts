// Dense linear algebra for the PCA / whitening variants of the quality evaluation, in plain typed arrays: mean,
// covariance and a symmetric eigendecomposition (Householder tridiagonalisation + implicit QL, after EISPACK's
// tred2/tql2 as in JAMA), laid out so that every inner loop walks memory contiguously: a 2048x2048 matrix takes
// about a minute instead of the many minutes the textbook column-wise loops take in JavaScript.

/** Mean of `count` rows of length `dims`. */
export function rowMean(rows: Float32Array, count: number, dims: number): Float64Array {
  const mean = new Float64Array(dims);
  for (let i = 0; i < count; i++) {
    const offset = i * dims;
    for (let k = 0; k < dims; k++) mean[k]! += rows[offset + k]!;
  }
  for (let k = 0; k < dims; k++) mean[k]! /= count;
  return mean;
}

/** Sample covariance (n - 1) of the rows around `mean`, as a full symmetric dims x dims matrix. */
export function covariance(rows: Float32Array, count: number, dims: number, mean: Float64Array): Float64Array {
  // Σ x xᵀ over the rows, upper triangle, skipping zero components (pooled ReLU features have many), then
  // subtract n·μμᵀ: the centred rows would be dense.
  const c = new Float64Array(dims * dims);
  const nonZero = new Int32Array(dims);
  const values = new Float64Array(dims);
  for (let i = 0; i < count; i++) {
    const offset = i * dims;
    let nz = 0;
    for (let k = 0; k < dims; k++) {
      const v = rows[offset + k]!;
      if (v !== 0) {
        nonZero[nz] = k;
        values[nz++] = v;
      }
    }
    for (let a = 0; a < nz; a++) {
      const row = nonZero[a]! * dims;
      const va = values[a]!;
      for (let b = a; b < nz; b++) c[row + nonZero[b]!]! += va * values[b]!;
    }
  }
  for (let a = 0; a < dims; a++) {
    for (let b = a; b < dims; b++) {
      const value = (c[a * dims + b]! - count * mean[a]! * mean[b]!) / (count - 1);
      c[a * dims + b] = value;
      c[b * dims + a] = value;
    }
  }
  return c;
}

export interface SymmetricEigen {
  /** Eigenvalues, largest first. */
  values: Float64Array;
  /** Row i (length n) is the unit eigenvector of values[i]. */
  vectors: Float64Array;
}

/** Eigenvalues and eigenvectors of the symmetric n x n matrix `a` (row-major; it is overwritten). */
export function symmetricEigen(a: Float64Array, n: number): SymmetricEigen {
  const diagonal = new Float64Array(n);
  const offDiagonal = new Float64Array(n); // offDiagonal[k] = T[k+1][k]; the last is 0
  const householder = new Float64Array(n * n); // row k: the unit Householder vector of step k (zeros up to k)
  const used = new Uint8Array(n);

  // Tridiagonalise: step k zeroes A[k+2.., k] with H = I - 2vvᵀ acting on indices k+1..n-1. By symmetry the column
  // below the diagonal is row k right of it, so everything is read and updated a row at a time.
  const p = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    const rowK = k * n;
    let sigma = 0;
    for (let j = k + 1; j < n; j++) sigma += a[rowK + j]! * a[rowK + j]!;
    diagonal[k] = a[rowK + k]!;
    const x0 = a[rowK + k + 1]!;
    const tail = sigma - x0 * x0;
    if (tail <= 1e-300 * Math.max(1, sigma)) {
      offDiagonal[k] = x0; // already tridiagonal in this column
      continue;
    }
    const norm = Math.sqrt(sigma);
    const alpha = x0 > 0 ? -norm : norm;
    const v = householder.subarray(rowK, rowK + n);
    v[k + 1] = x0 - alpha;
    for (let j = k + 2; j < n; j++) v[j] = a[rowK + j]!;
    const vNorm = Math.sqrt(tail + (x0 - alpha) * (x0 - alpha));
    for (let j = k + 1; j < n; j++) v[j]! /= vNorm;
    used[k] = 1;
    offDiagonal[k] = alpha;

    // S = trailing block: p = S v, q = p - (vᵀp) v, S -= 2(v qᵀ + q vᵀ).
    let vp = 0;
    for (let r = k + 1; r < n; r++) {
      const row = r * n;
      let sum = 0;
      for (let c = k + 1; c < n; c++) sum += a[row + c]! * v[c]!;
      p[r] = sum;
      vp += v[r]! * sum;
    }
    for (let r = k + 1; r < n; r++) p[r]! -= vp * v[r]!;
    for (let r = k + 1; r < n; r++) {
      const row = r * n;
      const vr = 2 * v[r]!;
      const qr = 2 * p[r]!;
      for (let c = k + 1; c < n; c++) a[row + c]! -= vr * p[c]! + qr * v[c]!;
    }
  }
  if (n >= 2) {
    diagonal[n - 2] = a[(n - 2) * n + n - 2]!;
    offDiagonal[n - 2] = a[(n - 1) * n + n - 2]!;
  }
  diagonal[n - 1] = a[(n - 1) * n + n - 1]!;
  offDiagonal[n - 1] = 0;

  // Qᵀ = H_m ⋯ H_0, built as I·H_m·…·H_0 from the right: row r of Qᵀ is column r of Q, and each step touches only
  // the trailing block, row by row.
  const z = new Float64Array(n * n);
  for (let i = 0; i < n; i++) z[i * n + i] = 1;
  for (let k = n - 3; k >= 0; k--) {
    if (!used[k]) continue;
    const v = householder.subarray(k * n, k * n + n);
    for (let r = k + 1; r < n; r++) {
      const row = r * n;
      let dot = 0;
      for (let c = k + 1; c < n; c++) dot += z[row + c]! * v[c]!;
      if (dot === 0) continue;
      dot *= 2;
      for (let c = k + 1; c < n; c++) z[row + c]! -= dot * v[c]!;
    }
  }

  tql2(n, diagonal, offDiagonal, z);

  // Largest first.
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => diagonal[j]! - diagonal[i]!);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((from, to) => {
    values[to] = diagonal[from]!;
    vectors.set(z.subarray(from * n, from * n + n), to * n);
  });
  return { values, vectors };
}

/**
 * Implicit QL with Wilkinson-style shifts on the tridiagonal (d, e), e[i] = T[i+1][i]. `zt` holds the basis as
 * rows (row i = column i of Z); each plane rotation then mixes two contiguous rows.
 */
function tql2(n: number, d: Float64Array, e: Float64Array, zt: Float64Array): void {
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]!) <= eps * tst1) break;
      m++;
    }
    if (m === n) m = n - 1;
    if (m > l) {
      let iterations = 0;
      do {
        if (++iterations > 200) throw new Error("symmetricEigen: QL did not converge");
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i]! -= h;
        f += h;

        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          const rowI = i * n;
          const rowNext = rowI + n;
          for (let k = 0; k < n; k++) {
            const next = zt[rowNext + k]!;
            const current = zt[rowI + k]!;
            zt[rowNext + k] = s * current + c * next;
            zt[rowI + k] = c * current - s * next;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > eps * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
}

/** Largest |A v - λ v| over the first `count` eigenpairs: a check that the decomposition is right. */
export function eigenResidual(original: Float64Array, n: number, eigen: SymmetricEigen, count: number): number {
  let worst = 0;
  for (let i = 0; i < Math.min(count, n); i++) {
    const v = eigen.vectors.subarray(i * n, i * n + n);
    for (let r = 0; r < n; r++) {
      let sum = 0;
      for (let c = 0; c < n; c++) sum += original[r * n + c]! * v[c]!;
      worst = Math.max(worst, Math.abs(sum - eigen.values[i]! * v[r]!));
    }
  }
  return worst;
}

/** Cosine of the angle between two vectors. */
export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(aa * bb);
}
