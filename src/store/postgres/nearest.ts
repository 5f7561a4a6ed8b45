// Nearest-neighbour searches: candidates from the HNSW graph over the half-precision copies (hnsw.ef_search sized
// for k), or an exact scan of a small table, ranked by the exact float32 distance.
import { squaredDistance } from "../squared-distance.ts";
import type { Neighbour } from "../vector-index.ts";
import { EMBEDDINGS } from "./schema.ts";
import type { Statements } from "./statements.ts";
import { fromVectorText, toVectorText } from "./vector-text.ts";

/** 1,000 rows of 464 float32s are 1.9 MB: a scan of that many takes a few ms, and is exact. */
const EXACT_BELOW = 1_000;
/** pgvector's default ef_search; a search for k neighbours explores 2k candidates, at least this many. */
const DEFAULT_EF_SEARCH = 40;
/** pgvector's largest hnsw.ef_search: an HNSW scan returns at most that many rows, so a larger k is searched exactly. */
const MAX_EF_SEARCH = 1_000;
/** How long a row count decides between exact and graph searches before it is read again. */
const COUNT_MAX_AGE_MS = 5_000;

export class NearestSearch {
  readonly #statements: Statements;
  readonly #dimensions: number;
  readonly #exactBelow: number;
  #liveRows: { value: number; at: number } | null = null;

  constructor(statements: Statements, dimensions: number, exactBelow = EXACT_BELOW) {
    this.#statements = statements;
    this.#dimensions = dimensions;
    this.#exactBelow = exactBelow;
  }

  /** Live rows, counted now; the count is kept to choose between exact and graph searches. */
  count(): Promise<number> {
    return this.#statements.run(async () => {
      const [row] = await this.#statements.query(`SELECT count(*)::float8 AS live FROM ${EMBEDDINGS} WHERE embedding IS NOT NULL`);
      this.#liveRows = { value: row!.live, at: Date.now() };
      return row!.live as number;
    });
  }

  /**
   * Candidates from the HNSW graph (ORDER BY the half-precision distance, hnsw.ef_search sized for k), or from a
   * sequential scan when the table is small or k is beyond what a graph scan returns; ranked by the exact distance.
   */
  nearest(vector: Float32Array, k: number): Promise<Neighbour[]> {
    return this.#statements.run(async () => {
      const query = toVectorText(vector);
      const exact = k > MAX_EF_SEARCH || (await this.#liveRowsLately()) < this.#exactBelow;
      const rows = exact ? await this.#scan(query, k) : await this.#walkGraph(query, k);
      return rows
        .map((row) => ({ id: Number(row.product_id), distance: squaredDistance(vector, fromVectorText(row.embedding)) }))
        .sort((a, b) => a.distance - b.distance || a.id - b.id);
    });
  }

  #scan(query: string, k: number) {
    return this.#statements.query(
      `SELECT product_id, embedding::text AS embedding FROM ${EMBEDDINGS} WHERE embedding IS NOT NULL
       ORDER BY embedding <-> $1::vector(${this.#dimensions}) LIMIT $2`,
      [query, k],
    );
  }

  async #walkGraph(query: string, k: number) {
    const select = `SELECT product_id, embedding::text AS embedding FROM ${EMBEDDINGS} WHERE embedding IS NOT NULL
       ORDER BY embedding::halfvec(${this.#dimensions}) <-> $1::halfvec(${this.#dimensions}) LIMIT $2`;
    const efSearch = Math.max(DEFAULT_EF_SEARCH, 2 * k);
    if (efSearch === DEFAULT_EF_SEARCH) return this.#statements.query(select, [query, k]);
    // SET LOCAL lasts until the transaction ends, so the pooled connection goes back with the default.
    return this.#statements.transaction(async (tx) => {
      await tx`SELECT set_config('hnsw.ef_search', ${String(Math.min(efSearch, MAX_EF_SEARCH))}, true)`;
      return tx.unsafe(select, [query, k], { prepare: true });
    });
  }

  /** Live rows, read again when the last count is older than COUNT_MAX_AGE_MS. */
  async #liveRowsLately(): Promise<number> {
    if (this.#liveRows && Date.now() - this.#liveRows.at < COUNT_MAX_AGE_MS) return this.#liveRows.value;
    return this.count();
  }
}
