// Vectors for the store benchmark, made again from (id, version) whenever needed, so a million of them never sit in
// memory at once: "realistic" ones are a labelled photo's embedding (chosen by id and version) plus a small Gaussian
// perturbation, re-normalised; "gaussian" ones are random unit vectors, the hardest case for any graph index.

export type VectorKind = "realistic" | "gaussian";

/** Per-component standard deviation of the perturbation: its norm is about 0.3, a cosine of ~0.96 to the photo. */
const PERTURBATION = 0.3;

export class SyntheticVectors {
  readonly #bases: Float32Array;
  readonly #baseCount: number;
  readonly #dimensions: number;
  readonly kind: VectorKind;

  constructor(kind: VectorKind, bases: Float32Array, dimensions: number) {
    this.kind = kind;
    this.#bases = bases;
    this.#dimensions = dimensions;
    this.#baseCount = bases.length / dimensions;
  }

  /** Product `id`'s vector at `version` (0 when first stored, 1 after a replacement, ...), written into `out`. */
  fill(id: number, version: number, out: Float32Array, offset = 0): void {
    const d = this.#dimensions;
    const random = gaussian(id * 7919 + version * 104729 + 1);
    if (this.kind === "gaussian") {
      for (let k = 0; k < d; k++) out[offset + k] = random();
    } else {
      const base = (hash(id * 31 + version) % this.#baseCount) * d;
      const sigma = PERTURBATION / Math.sqrt(d);
      for (let k = 0; k < d; k++) out[offset + k] = this.#bases[base + k]! + sigma * random();
    }
    let norm = 0;
    for (let k = 0; k < d; k++) norm += out[offset + k]! ** 2;
    norm = Math.sqrt(norm);
    for (let k = 0; k < d; k++) out[offset + k]! /= norm;
  }

  vector(id: number, version: number): Float32Array {
    const out = new Float32Array(this.#dimensions);
    this.fill(id, version, out);
    return out;
  }
}

function hash(value: number): number {
  let x = value >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** A seeded standard normal generator (xorshift32 and Box-Muller). */
function gaussian(seed: number): () => number {
  let state = hash(seed) || 1;
  const uniform = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return (state + 0.5) / 2 ** 32;
  };
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const value = spare;
      spare = null;
      return value;
    }
    const radius = Math.sqrt(-2 * Math.log(uniform()));
    const angle = 2 * Math.PI * uniform();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
}
