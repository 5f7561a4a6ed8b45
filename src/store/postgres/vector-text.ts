// pgvector's text form of a vector, '[0.1,-2,3e-7]'. A float32 written as JavaScript's shortest decimal and read back
// by pgvector (strtof) is the same float32, and pgvector writes shortest decimals too, so vectors go both ways exactly.

export function toVectorText(vector: Float32Array): string {
  return `[${vector.join(",")}]`;
}

export function fromVectorText(text: string): Float32Array {
  return Float32Array.from(text.slice(1, -1).split(","), Number);
}

/** Squared L2 distance in float32, as the embedded store reports it (its scores come from the same formula). */
export function squaredDistance(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const difference = a[i]! - b[i]!;
    sum += difference * difference;
  }
  return Math.fround(sum);
}
