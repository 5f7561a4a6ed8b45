// The rows a segment's graph misses (segment-N.orphans) are scanned at every search. At a million products that is
// ~5,000 rows in all, and streaming their float32 vectors cost about a third of a search; they are scanned as int8
// instead (a quarter of the bytes), with one scale per segment so that distances keep their order. What the scan
// picks are candidates: the store scores every match from its float32 vector.
import { exactSearch, MetricKind } from "usearch";
import { type RowMatch, splitMatches } from "./segment-file.ts";

const INT8_LIMIT = 127;

export class OrphanScan {
  readonly #dimensions: number;
  /** The segment row of each orphan. */
  readonly #rows: Uint32Array;
  readonly #codes: Int8Array;
  /** Float units to int8 steps. */
  readonly #scale: number;

  constructor(vectors: Float32Array, rows: Uint32Array, dimensions: number) {
    let largest = 0;
    for (const value of vectors) largest = Math.max(largest, Math.abs(value));
    this.#dimensions = dimensions;
    this.#rows = rows;
    this.#scale = largest > 0 ? INT8_LIMIT / largest : 1;
    this.#codes = this.#encode(vectors);
  }

  get size(): number {
    return this.#rows.length;
  }

  /** Each query's `k` nearest orphans as segment rows, with squared L2 distances in float units (approximate). */
  nearest(queries: Float32Array, count: number, k: number, threads: number): RowMatch[][] {
    const wanted = Math.min(k, this.#rows.length);
    if (wanted === 0) return Array.from({ length: count }, () => []);
    const found = exactSearch(this.#codes, this.#encode(queries), this.#dimensions, wanted, MetricKind.L2sq, threads);
    const toFloat = 1 / (this.#scale * this.#scale);
    return splitMatches(found, count, wanted).map((matches) =>
      matches.map((match) => ({ row: this.#rows[match.row]!, distance: match.distance * toFloat })),
    );
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
