// The one segment that changes: recent puts, in memory, appended to one growing buffer and searched exactly. A put
// appends a row (a replaced row just stops being live), so a search never waits for vectors to be copied together.
// When it holds enough changes it is frozen and written as a sealed segment (vector-store.ts).
import { exactSearch, MetricKind } from "usearch";
import { type RowMatch, type Segment, splitMatches } from "./segment-file.ts";

const INITIAL_ROWS = 64;

export interface MutableSegmentCopy {
  number: number;
  dimensions: number;
  ids: Uint32Array<ArrayBuffer>;
  vectors: Float32Array<ArrayBuffer>;
  deletions: number[];
  changes: number;
}

export class MutableSegment implements Segment {
  readonly number: number;
  readonly #dimensions: number;
  #vectors: Float32Array;
  #ids: Uint32Array;
  #rows = 0;
  /** Products deleted while this segment was the mutable one: sealed with it, so older segments' rows stay dead. */
  readonly deletions = new Set<number>();
  /** Puts and deletes applied to this segment, to know when to seal it. */
  changes = 0;

  constructor(number: number, dimensions: number) {
    this.number = number;
    this.#dimensions = dimensions;
    this.#vectors = new Float32Array(INITIAL_ROWS * dimensions);
    this.#ids = new Uint32Array(INITIAL_ROWS);
  }

  /** Its rows and deletions so far, for another thread to rebuild it (`MutableSegment.from`). */
  copy(): MutableSegmentCopy {
    return {
      number: this.number,
      dimensions: this.#dimensions,
      ids: this.#ids.slice(0, this.#rows),
      vectors: this.vectors.slice(),
      deletions: [...this.deletions],
      changes: this.changes,
    };
  }

  static from(copy: MutableSegmentCopy): MutableSegment {
    const segment = new MutableSegment(copy.number, copy.dimensions);
    while (segment.#ids.length < copy.ids.length) segment.#grow();
    segment.#ids.set(copy.ids);
    segment.#vectors.set(copy.vectors);
    segment.#rows = copy.ids.length;
    for (const id of copy.deletions) segment.deletions.add(id);
    segment.changes = copy.changes;
    return segment;
  }

  get rows(): number {
    return this.#rows;
  }

  /** The vectors of every row so far, rows x dimensions, from the start of their own buffer. */
  get vectors(): Float32Array {
    return new Float32Array(this.#vectors.buffer, 0, this.#rows * this.#dimensions);
  }

  /** Appends the vector as a new row and returns its number. */
  append(id: number, vector: Float32Array): number {
    if (this.#rows === this.#ids.length) this.#grow();
    const row = this.#rows++;
    this.#vectors.set(vector, row * this.#dimensions);
    this.#ids[row] = id;
    this.deletions.delete(id);
    this.changes++;
    return row;
  }

  recordDeletion(id: number): void {
    this.deletions.add(id);
    this.changes++;
  }

  idAt(row: number): number {
    return this.#ids[row]!;
  }

  vectorAt(row: number): Float32Array {
    return this.#vectors.subarray(row * this.#dimensions, (row + 1) * this.#dimensions);
  }

  nearest(queries: Float32Array, count: number, k: number, threads: number): RowMatch[][] {
    const wanted = Math.min(k, this.#rows);
    if (wanted === 0) return Array.from({ length: count }, () => []);
    return splitMatches(exactSearch(this.vectors, queries, this.#dimensions, wanted, MetricKind.L2sq, threads), count, wanted);
  }

  #grow(): void {
    const vectors = new Float32Array(this.#vectors.length * 2);
    vectors.set(this.#vectors);
    const ids = new Uint32Array(this.#ids.length * 2);
    ids.set(this.#ids);
    this.#vectors = vectors;
    this.#ids = ids;
  }
}
