// The rows a segment's graph misses (segment-N.orphans) are scanned at every search. At a million products that is
// ~5,000 rows in all, and streaming their float32 vectors cost about a third of a search; they are scanned as int8
// instead (a quarter of the bytes), with one scale per segment so that distances keep their order. The codes pick
// twice as many candidates as asked for, and those are ranked by their float32 vectors (still mapped), so the code's
// rounding cannot push a near orphan out among near-duplicates.
import { exactSearch, MetricKind } from "usearch";
import { type RowMatch, splitMatches } from "./segment-file.ts";
import { squaredDistance } from "./squared-distance.ts";

const INT8_LIMIT = 127;
const CANDIDATES_PER_MATCH = 2;

export class OrphanScan {
  readonly #dimensions: number;
  readonly #vectors: Float32Array;
  /** The segment row of each orphan. */
  readonly #rows: Uint32Array;
  readonly #codes: Int8Array;
  /** Float units to int8 steps. */
  readonly #scale: number;

  constructor(vectors: Float32Array, rows: Uint32Array, dimensions: number) {
    let largest = 0;
    for (const value of vectors) largest = Math.max(largest, Math.abs(value));
    this.#dimensions = dimensions;
    this.#vectors = vectors;
    this.#rows = rows;
    this.#scale = largest > 0 ? INT8_LIMIT / largest : 1;
    this.#codes = this.#encode(vectors);
  }

  get size(): number {
    return this.#rows.length;
  }

  /** Each query's `k` nearest orphans as segment rows, nearest first, with their float32 squared L2 distances. */
  nearest(queries: Float32Array, count: number, k: number, threads: number): RowMatch[][] {
    const candidates = Math.min(k * CANDIDATES_PER_MATCH, this.#rows.length);
    if (candidates === 0) return Array.from({ length: count }, () => []);
    const found = exactSearch(this.#codes, this.#encode(queries), this.#dimensions, candidates, MetricKind.L2sq, threads);
    const d = this.#dimensions;
    return splitMatches(found, count, candidates).map((matches, q) => {
      const query = queries.subarray(q * d, (q + 1) * d);
      return matches
        .map(({ row }) => ({ row: this.#rows[row]!, distance: squaredDistance(query, this.#vectors.subarray(row * d, (row + 1) * d)) }))
        .sort((a, b) => a.distance - b.distance)
        .slice(0, k);
    });
  }

  /** A query value beyond the orphans' range is clamped, which keeps their order along that dimension. */
  #encode(vectors: Float32Array): Int8Array {
    const codes = new Int8Array(vectors.length);
    for (let i = 0; i < vectors.length; i++) {
      codes[i] = Math.max(-INT8_LIMIT, Math.min(INT8_LIMIT, Math.round(vectors[i]! * this.#scale)));
    }
    return codes;
  }
}
