// Exact nearest-neighbour search over every stored vector: the vectors back to back in one buffer, searched by
// USearch's brute-force SIMD kernel. The buffer is updated in place on every change (a replaced vector overwrites its
// row, a deleted one is replaced by the last row), so a search during an ingest costs compute, never a copy.
import { exactSearch, MetricKind } from "usearch";

export interface Neighbour {
  id: number;
  /** Squared L2 distance. */
  distance: number;
}

const INITIAL_ROWS = 64;

export class ExactSearch {
  readonly #dimensions: number;
  /** Rows [0, size) hold the vectors; the rest is room to grow. */
  #rows: Float32Array;
  /** The product id of each row. */
  readonly #ids: number[] = [];
  readonly #rowOf = new Map<number, number>();

  constructor(dimensions: number, capacity = INITIAL_ROWS) {
    this.#dimensions = dimensions;
    this.#rows = new Float32Array(Math.max(1, capacity) * dimensions);
  }

  static from(vectors: Map<number, Float32Array>, dimensions: number): ExactSearch {
    const exact = new ExactSearch(dimensions, Math.max(INITIAL_ROWS, vectors.size));
    for (const [id, vector] of vectors) exact.set(id, vector);
    return exact;
  }

  get size(): number {
    return this.#ids.length;
  }

  /** Stores or replaces the product's vector (copied). */
  set(id: number, vector: Float32Array): void {
    let row = this.#rowOf.get(id);
    if (row === undefined) {
      row = this.#ids.length;
      if ((row + 1) * this.#dimensions > this.#rows.length) this.#grow();
      this.#ids.push(id);
      this.#rowOf.set(id, row);
    }
    this.#rows.set(vector, row * this.#dimensions);
  }

  delete(id: number): void {
    const row = this.#rowOf.get(id);
    if (row === undefined) return;
    const last = this.#ids.length - 1;
    if (row !== last) {
      const d = this.#dimensions;
      this.#rows.copyWithin(row * d, last * d, (last + 1) * d);
      const moved = this.#ids[last]!;
      this.#ids[row] = moved;
      this.#rowOf.set(moved, row);
    }
    this.#ids.pop();
    this.#rowOf.delete(id);
  }

  /** The `k` stored vectors nearest to `query`, nearest first. */
  search(query: Float32Array, k: number): Neighbour[] {
    const count = Math.min(k, this.size);
    if (count <= 0) return [];
    // A view from the buffer's start: the native kernel reads from there, for the view's length.
    const rows = this.#rows.subarray(0, this.size * this.#dimensions);
    const matches = exactSearch(rows, ownBuffer(query), this.#dimensions, count, MetricKind.L2sq);
    const neighbours: Neighbour[] = [];
    for (let i = 0; i < matches.keys.length; i++) {
      neighbours.push({ id: this.#ids[Number(matches.keys[i])]!, distance: Math.max(0, matches.distances[i]!) });
    }
    return neighbours;
  }

  /** Doubles the room: amortised, each vector is copied a constant number of times however many are added. */
  #grow(): void {
    const rows = new Float32Array(this.#rows.length * 2);
    rows.set(this.#rows.subarray(0, this.#ids.length * this.#dimensions));
    this.#rows = rows;
  }
}

/**
 * USearch's native code reads a typed array from the start of its buffer, ignoring a view's offset: a view (stored
 * vectors are views into the vectors file) is copied out before it is handed over.
 */
export function ownBuffer(vector: Float32Array): Float32Array {
  return vector.byteOffset === 0 && vector.buffer.byteLength === vector.byteLength ? vector : vector.slice();
}
