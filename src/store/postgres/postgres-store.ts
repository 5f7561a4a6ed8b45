// The vector index as one table in PostgreSQL with pgvector, shared by every replica of the service (schema.ts).
// Every change is one upsert statement whose WHERE compares order tickets (a hybrid clock), so concurrent writers on
// several replicas never lose an update and an older request never overwrites a newer one; deletes leave tombstones
// carrying their ticket. Searches walk the HNSW graph over half-precision copies and score the float32 vectors.
import type { Sql } from "postgres";
import type { PendingMigration } from "../pipeline-migration.ts";
import { StoreError } from "../store-error.ts";
import type { Neighbour, VectorIndex } from "../vector-index.ts";
import { type ConnectionOptions, describeUrl, TIMEOUT_MS } from "./connection.ts";
import { HybridClock } from "./hybrid-clock.ts";
import { NearestSearch } from "./nearest.ts";
import { connectAndMigrate, connectReadOnly, type OpeningOptions, waitUntilSearchable } from "./opening.ts";
import { hasLive, listLiveIds, liveVectorOf } from "./rows.ts";
import { Statements } from "./statements.ts";
import { deleteRow, putRow, revisionOf } from "./writes.ts";

export { describeUrl };

export interface PostgresStoreOptions extends OpeningOptions {
  /** Tables with fewer live rows are searched exactly, by a sequential scan (a few milliseconds). */
  exactBelow?: number;
}

export class PostgresStore implements VectorIndex {
  readonly dimensions: number;
  readonly pipeline: string;
  readonly location: string;
  readonly #statements: Statements;
  readonly #search: NearestSearch;
  readonly #clock = new HybridClock();
  readonly #readOnly: boolean;

  private constructor(sql: Sql, options: PostgresStoreOptions, readOnly: boolean) {
    this.dimensions = options.dimensions;
    this.pipeline = options.pipeline;
    this.location = describeUrl(options.url);
    this.#statements = new Statements(sql, this.location, this.pipeline, options.timeoutMs ?? TIMEOUT_MS);
    this.#search = new NearestSearch(this.#statements, this.dimensions, options.exactBelow);
    this.#readOnly = readOnly;
  }

  /**
   * Connects, creates or migrates the schema (waiting while the database cannot be reached, so replicas may start
   * before it) and says which products an earlier pipeline's index left to embed again.
   */
  static async open(options: PostgresStoreOptions): Promise<{ store: PostgresStore; migration: PendingMigration | null }> {
    const { sql, migration } = await connectAndMigrate(options);
    return { store: new PostgresStore(sql, options, false), migration };
  }

  /**
   * Reads and searches only, no migration. Null when the database holds no index; refused if it holds another
   * pipeline's than `expected` (without `expected`, opened as whatever pipeline made it) or another schema version.
   */
  static async openReadOnly(
    options: ConnectionOptions,
    expected?: { dimensions: number; pipeline: string },
  ): Promise<PostgresStore | null> {
    const connected = await connectReadOnly(options, expected);
    return connected && new PostgresStore(connected.sql, { ...options, ...connected.stored }, true);
  }

  /**
   * A search-only replica's index (VECTOR_STORE_READ_ONLY), for a read replica that refuses every write: opened
   * read-only, with no migration, no lock and nothing written. Until the database holds this build's schema and
   * pipeline (a replica on the primary migrates it, then replication brings it here) or while it cannot be reached,
   * `waiting` is told why and it tries again; it settles once the index can be searched.
   */
  static openForSearches(options: PostgresStoreOptions, waiting: (reason: string) => void): Promise<PostgresStore> {
    return waitUntilSearchable(options, waiting, (expected) => PostgresStore.openReadOnly(options, expected));
  }

  count(): Promise<number> {
    return this.#search.count();
  }

  has(id: number): Promise<boolean> {
    return hasLive(this.#statements, id);
  }

  vectorOf(id: number): Promise<Float32Array | undefined> {
    return liveVectorOf(this.#statements, id);
  }

  listIds(offset: number, limit: number): Promise<{ ids: number[]; total: number }> {
    return listLiveIds(this.#statements, offset, limit);
  }

  async nearest(vector: Float32Array, k: number): Promise<Neighbour[]> {
    this.#checkSize(vector);
    if (k <= 0) return [];
    return this.#search.nearest(vector, k);
  }

  takeSequence(): number {
    return this.#clock.take();
  }

  async put(id: number, vector: Float32Array, sequence = this.takeSequence()): Promise<{ applied: boolean }> {
    this.#checkSize(vector);
    this.#checkWritable();
    return putRow(this.#statements, this, id, vector, sequence);
  }

  async delete(id: number, sequence = this.takeSequence()): Promise<{ applied: boolean; existed: boolean }> {
    this.#checkWritable();
    return deleteRow(this.#statements, this, id, sequence);
  }

  revision(): Promise<string> {
    return revisionOf(this.#statements);
  }

  close(): Promise<void> {
    return this.#statements.close();
  }

  #checkSize(vector: Float32Array): void {
    if (vector.length !== this.dimensions) {
      throw new StoreError(`vector has ${vector.length} dimensions, the index ${this.dimensions}`);
    }
  }

  #checkWritable(): void {
    if (this.#readOnly) throw new StoreError("the store was opened read-only");
    if (this.#statements.closed) throw new StoreError("the store is closed");
  }
}
