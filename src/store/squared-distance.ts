// The distance every score comes from, for both stores: the embedded one (after its f16 graph has ranked) and
// PostgreSQL (after its halfvec index has), so a product scores the same whichever store holds it.

/** Squared L2 distance, rounded to float32 as USearch reports distances. */
export function squaredDistance(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const difference = a[i]! - b[i]!;
    sum += difference * difference;
  }
  return Math.fround(sum);
}
