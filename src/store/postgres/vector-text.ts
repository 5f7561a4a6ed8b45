// pgvector's text form of a vector, '[0.1,-2,3e-7]'. A float32 written as JavaScript's shortest decimal and read back
// by pgvector (strtof) is the same float32, and pgvector writes shortest decimals too, so vectors go both ways exactly.

export function toVectorText(vector: Float32Array): string {
  return `[${vector.join(",")}]`;
}

export function fromVectorText(text: string): Float32Array {
  return Float32Array.from(text.slice(1, -1).split(","), Number);
}
