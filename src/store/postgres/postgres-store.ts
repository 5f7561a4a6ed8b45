// The vector index as one table in PostgreSQL with pgvector, shared by every replica of the service (schema.ts).
// Every change is one upsert statement whose WHERE compares order tickets (a hybrid clock), so concurrent writers on
// several replicas never lose an update and an older request never overwrites a newer one; deletes leave tombstones
// carrying their ticket. Searches walk the HNSW graph over half-precision copies and score the float32 vectors.
import type postgres from "postgres";
import type { Sql } from "postgres";
import { AppError } from "../../errors.ts";
import type { PendingMigration } from "../pipeline-migration.ts";
import { squaredDistance } from "../squared-distance.ts";
import { StoreError } from "../store-error.ts";
import type { Neighbour, VectorIndex } from "../vector-index.ts";
import { type ConnectionOptions, connect, describeUrl, TIMEOUT_MS } from "./connection.ts";
import { HybridClock } from "./hybrid-clock.ts";
import { EMBEDDINGS, prepareSchema, readStoredIndex, unsearchableBecause } from "./schema.ts";
import { asStoreError, isLostConnection, isUnavailable } from "./unavailable.ts";
import { fromVectorText, toVectorText } from "./vector-text.ts";

export { describeUrl };

export interface PostgresStoreOptions extends ConnectionOptions {
  dimensions: number;
  pipeline: string;
  /** Tables with fewer live rows are searched exactly, by a sequential scan (a few milliseconds). */
  exactBelow?: number;
  /** Told about each failed attempt to reach the database at start (default: stderr). */
  warn?: (message: string) => void;
}

/** 1,000 rows of 464 float32s are 1.9 MB: a scan of that many takes a few ms, and is exact. */
export const EXACT_BELOW = 1_000;
/** pgvector's default ef_search; a search for k neighbours explores 2k candidates, at least this many. */
const DEFAULT_EF_SEARCH = 40;
/** pgvector's largest hnsw.ef_search: an HNSW scan returns at most that many rows, so a larger k is searched exactly. */
const MAX_EF_SEARCH = 1_000;
/** How long a row count decides between exact and graph searches before it is read again. */
const COUNT_MAX_AGE_MS = 5_000;
const START_RETRY_MS = [250, 500, 1_000, 2_000, 5_000];

export class PostgresStore implements VectorIndex {
  readonly dimensions: number;
  readonly pipeline: string;
  readonly location: string;
  readonly #sql: Sql;
  readonly #clock = new HybridClock();
  readonly #exactBelow: number;
  readonly #readOnly: boolean;
  readonly #timeoutMs: number;
  #liveRows: { value: number; at: number } | null = null;
  #closed = false;

  private constructor(sql: Sql, options: PostgresStoreOptions, readOnly: boolean) {
    this.#sql = sql;
    this.dimensions = options.dimensions;
    this.pipeline = options.pipeline;
    this.location = describeUrl(options.url);
    this.#exactBelow = options.exactBelow ?? EXACT_BELOW;
    this.#readOnly = readOnly;
    this.#timeoutMs = options.timeoutMs ?? TIMEOUT_MS;
  }

  /**
   * Connects, creates or migrates the schema (waiting while the database cannot be reached, so replicas may start
   * before it) and says which products an earlier pipeline's index left to embed again.
   */
  static async open(options: PostgresStoreOptions): Promise<{ store: PostgresStore; migration: PendingMigration | null }> {
    const sql = connect(options);
    const warn = options.warn ?? console.error;
    const location = describeUrl(options.url);
    for (let attempt = 0; ; attempt++) {
      try {
        const migration = await prepareSchema(sql, options.pipeline, options.dimensions);
        return { store: new PostgresStore(sql, options, false), migration };
      } catch (error) {
        if (!isUnavailable(error)) {
          await sql.end({ timeout: 1 });
          throw error;
        }
        const delay = START_RETRY_MS[Math.min(attempt, START_RETRY_MS.length - 1)]!;
        // 25006: the server refuses writes, as a read replica (standby) does; migrating there never succeeds.
        const hint = (error as { code?: string }).code === "25006" ? "; for a read replica, set VECTOR_STORE_READ_ONLY=true" : "";
        warn(`the vector index at ${location} cannot be reached (${(error as Error).message}${hint}); trying again in ${delay} ms`);
        await Bun.sleep(delay);
      }
    }
  }

  /**
   * Reads and searches only, no migration. Null when the database holds no index; refused if it holds another
   * pipeline's than `expected` (without `expected`, opened as whatever pipeline made it) or another schema version.
   */
  static async openReadOnly(
    options: ConnectionOptions,
    expected?: { dimensions: number; pipeline: string },
  ): Promise<PostgresStore | null> {
    const sql = connect(options);
    const location = describeUrl(options.url);
    try {
      const stored = await readStoredIndex(sql).catch((error) => Promise.reject(asStoreError(error, location)));
      if (!stored) {
        await sql.end({ timeout: 1 });
        return null;
      }
      const mismatch = unsearchableBecause(stored, expected);
      if (mismatch) throw new StoreError(`${location} ${mismatch}`);
      return new PostgresStore(sql, { ...options, ...stored }, true);
    } catch (error) {
      await sql.end({ timeout: 1 });
      throw error;
    }
  }

  /**
   * A search-only replica's index (VECTOR_STORE_READ_ONLY), for a read replica that refuses every write: opened
   * read-only, with no migration, no lock and nothing written. Until the database holds this build's schema and
   * pipeline (a replica on the primary migrates it, then replication brings it here) or while it cannot be reached,
   * `waiting` is told why and it tries again; it settles once the index can be searched.
   */
  static async openForSearches(options: PostgresStoreOptions, waiting: (reason: string) => void): Promise<PostgresStore> {
    const warn = options.warn ?? console.error;
    const expected = { dimensions: options.dimensions, pipeline: options.pipeline };
    let told: string | null = null;
    for (let attempt = 0; ; attempt++) {
      let reason: string;
      try {
        const store = await PostgresStore.openReadOnly(options, expected);
        if (store) return store;
        reason =
          `the database at ${describeUrl(options.url)} has no fashion-image-processor schema yet: start a replica on the ` +
          "primary first (it creates the schema), and this one is ready once replication has brought it here";
      } catch (error) {
        // Another build's schema or pipeline is for a replica on the primary to migrate; anything else stops the start.
        if (!(error instanceof StoreError || (error instanceof AppError && error.code === "STORE_UNAVAILABLE"))) throw error;
        reason = error.message;
      }
      waiting(`this replica serves searches only (VECTOR_STORE_READ_ONLY) and is waiting: ${reason}`);
      if (reason !== told) warn(`search-only replica waiting: ${reason}`);
      told = reason;
      await Bun.sleep(START_RETRY_MS[Math.min(attempt, START_RETRY_MS.length - 1)]!);
    }
  }

  count(): Promise<number> {
    return this.#run(async () => {
      const [row] = await this.#query(`SELECT count(*)::float8 AS live FROM ${EMBEDDINGS} WHERE embedding IS NOT NULL`);
      this.#liveRows = { value: row!.live, at: Date.now() };
      return row!.live as number;
    });
  }

  has(id: number): Promise<boolean> {
    return this.#run(async () => {
      const rows = await this.#query(`SELECT 1 FROM ${EMBEDDINGS} WHERE product_id = $1 AND embedding IS NOT NULL`, [id]);
      return rows.length > 0;
    });
  }

  vectorOf(id: number): Promise<Float32Array | undefined> {
    return this.#run(async () => {
      const [row] = await this.#query(
        `SELECT embedding::text AS embedding FROM ${EMBEDDINGS} WHERE product_id = $1 AND embedding IS NOT NULL`,
        [id],
      );
      return row ? fromVectorText(row.embedding) : undefined;
    });
  }

  listIds(offset: number, limit: number): Promise<{ ids: number[]; total: number }> {
    return this.#run(async () => {
      const [row] = await this.#query(
        `SELECT (SELECT count(*) FROM ${EMBEDDINGS} WHERE embedding IS NOT NULL)::float8 AS total,
                array(SELECT product_id::float8 FROM ${EMBEDDINGS} WHERE embedding IS NOT NULL
                      ORDER BY product_id OFFSET $1 LIMIT $2) AS ids`,
        [offset, limit],
      );
      return { ids: row!.ids as number[], total: row!.total as number };
    });
  }

  /**
   * Candidates from the HNSW graph (ORDER BY the half-precision distance, hnsw.ef_search sized for k), or from a
   * sequential scan when the table is small or k is beyond what a graph scan returns; ranked by the exact distance.
   */
  async nearest(vector: Float32Array, k: number): Promise<Neighbour[]> {
    this.#checkSize(vector);
    if (k <= 0) return [];
    return this.#run(async () => {
      const query = toVectorText(vector);
      const exact = k > MAX_EF_SEARCH || (await this.#liveRowsLately()) < this.#exactBelow;
      const rows = exact ? await this.#scan(query, k) : await this.#walkGraph(query, k);
      return rows
        .map((row) => ({ id: Number(row.product_id), distance: squaredDistance(vector, fromVectorText(row.embedding)) }))
        .sort((a, b) => a.distance - b.distance || a.id - b.id);
    });
  }

  takeSequence(): number {
    return this.#clock.take();
  }

  async put(id: number, vector: Float32Array, sequence = this.takeSequence()): Promise<{ applied: boolean }> {
    this.#checkSize(vector);
    this.#checkWritable();
    return this.#run(async () => {
      const rows = await this.#query(
        `INSERT INTO ${EMBEDDINGS} AS stored (product_id, embedding, pipeline, sequence, updated_at)
         VALUES ($1, $2::vector(${this.dimensions}), $3, $4, now())
         ON CONFLICT (product_id) DO UPDATE
           SET embedding = excluded.embedding, pipeline = excluded.pipeline, sequence = excluded.sequence, updated_at = excluded.updated_at
           WHERE stored.sequence <= excluded.sequence
         RETURNING 1`,
        [id, toVectorText(vector), this.pipeline, sequence],
      );
      return { applied: rows.length > 0 };
    });
  }

  async delete(id: number, sequence = this.takeSequence()): Promise<{ applied: boolean; existed: boolean }> {
    this.#checkWritable();
    return this.#run(async () => {
      const [row] = await this.#query(
        `WITH previous AS (SELECT embedding IS NOT NULL AS live FROM ${EMBEDDINGS} WHERE product_id = $1),
         written AS (
           INSERT INTO ${EMBEDDINGS} AS stored (product_id, embedding, pipeline, sequence, updated_at)
           VALUES ($1, NULL, $2, $3, now())
           ON CONFLICT (product_id) DO UPDATE
             SET embedding = NULL, sequence = excluded.sequence, updated_at = excluded.updated_at
             WHERE stored.sequence <= excluded.sequence
           RETURNING 1)
         SELECT EXISTS (SELECT 1 FROM written) AS applied, coalesce((SELECT live FROM previous), false) AS existed`,
        [id, this.pipeline, sequence],
      );
      return { applied: row!.applied as boolean, existed: row!.existed as boolean };
    });
  }

  /** Every applied change raises one row's ticket (tombstones stay), so the sum of tickets grows with each change. */
  revision(): Promise<string> {
    return this.#run(async () => {
      const [row] = await this.#query(`SELECT coalesce(sum(sequence), 0)::text || '/' || count(*) AS revision FROM ${EMBEDDINGS}`);
      return row!.revision as string;
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#sql.end({ timeout: 5 });
  }

  #scan(query: string, k: number) {
    return this.#query(
      `SELECT product_id, embedding::text AS embedding FROM ${EMBEDDINGS} WHERE embedding IS NOT NULL
       ORDER BY embedding <-> $1::vector(${this.dimensions}) LIMIT $2`,
      [query, k],
    );
  }

  async #walkGraph(query: string, k: number) {
    const select = `SELECT product_id, embedding::text AS embedding FROM ${EMBEDDINGS} WHERE embedding IS NOT NULL
       ORDER BY embedding::halfvec(${this.dimensions}) <-> $1::halfvec(${this.dimensions}) LIMIT $2`;
    const efSearch = Math.max(DEFAULT_EF_SEARCH, 2 * k);
    if (efSearch === DEFAULT_EF_SEARCH) return this.#query(select, [query, k]);
    // SET LOCAL lasts until the transaction ends, so the pooled connection goes back with the default.
    return this.#sql.begin(async (tx) => {
      await tx`SELECT set_config('hnsw.ef_search', ${String(Math.min(efSearch, MAX_EF_SEARCH))}, true)`;
      return tx.unsafe(select, [query, k], { prepare: true });
    });
  }

  /** Live rows, read again when the last count is older than COUNT_MAX_AGE_MS. */
  async #liveRowsLately(): Promise<number> {
    if (this.#liveRows && Date.now() - this.#liveRows.at < COUNT_MAX_AGE_MS) return this.#liveRows.value;
    return this.count();
  }

  #checkSize(vector: Float32Array): void {
    if (vector.length !== this.dimensions) {
      throw new StoreError(`vector has ${vector.length} dimensions, the index ${this.dimensions}`);
    }
  }

  #checkWritable(): void {
    if (this.#readOnly) throw new StoreError("the store was opened read-only");
    if (this.#closed) throw new StoreError("the store is closed");
  }

  /**
   * Every statement is prepared once per connection (named), so the hot ones are planned once; that also keeps a
   * statement's parse and bind together on poolers and proxies that multiplex sessions.
   */
  #query(text: string, parameters: postgres.ParameterOrJSON<never>[] = []) {
    return this.#sql.unsafe(text, parameters, { prepare: true });
  }

  /**
   * Runs one operation, its failure explained. It settles within twice the timeout (a connect, then a statement) even
   * if the connection hangs without closing, so a task records an error for the product rather than waiting forever.
   */
  async #run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new StoreError("the store is closed");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${2 * this.#timeoutMs} ms`), { code: "ETIMEDOUT" })), 2 * this.#timeoutMs);
    });
    // A connection that broke or never came up (one begun while the database was away) is worth one more try on a
    // fresh one: every operation is a read or an upsert guarded by its ticket, so running it twice leaves the table as
    // once would.
    const attempt = () => work().catch((error: unknown) => (isLostConnection(error) && !this.#closed ? work() : Promise.reject(error)));
    try {
      return await Promise.race([attempt(), late]);
    } catch (error) {
      throw this.#explain(error);
    } finally {
      clearTimeout(timer);
    }
  }

  #explain(error: unknown): unknown {
    // The CHECK on the pipeline column, or a vector size the table no longer has: another replica, running another
    // build, has moved the table to its pipeline since this one started.
    const { code, message } = error as { code?: string; message?: string };
    if (code === "23514" || (code === "22000" && /^expected \d+ dimensions/.test(message ?? ""))) {
      return new StoreError(`the index at ${this.location} now holds another pipeline's vectors than ${this.pipeline}: restart this replica with the build that made them`);
    }
    return asStoreError(error, this.location);
  }
}
