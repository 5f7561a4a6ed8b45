// Opening the index's database: connected and migrated (waiting while it cannot be reached, so replicas may start
// before it), connected read-only, or, for a search-only replica, waited on until it holds an index to search.
import type { Sql } from "postgres";
import { AppError } from "../../errors.ts";
import type { PendingMigration } from "../pipeline-migration.ts";
import { StoreError } from "../store-error.ts";
import { type ConnectionOptions, connect, describeUrl } from "./connection.ts";
import { prepareSchema, readStoredIndex, type StoredIndex, unsearchableBecause } from "./schema.ts";
import { asStoreError, isUnavailable } from "./unavailable.ts";

const START_RETRY_MS = [250, 500, 1_000, 2_000, 5_000];

export interface OpeningOptions extends ConnectionOptions {
  dimensions: number;
  pipeline: string;
  /** Told about each failed attempt to reach the database at start (default: stderr). */
  warn?: (message: string) => void;
}

/** Connects and creates or migrates the schema, trying again while the database cannot be reached. */
export async function connectAndMigrate(options: OpeningOptions): Promise<{ sql: Sql; migration: PendingMigration | null }> {
  const sql = connect(options);
  const warn = options.warn ?? console.error;
  const location = describeUrl(options.url);
  for (let attempt = 0; ; attempt++) {
    try {
      const migration = await prepareSchema(sql, options.pipeline, options.dimensions);
      return { sql, migration };
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
 * Connects without migrating. Null when the database holds no index; refused if it holds another pipeline's than
 * `expected` (without `expected`, whatever pipeline made it) or another schema version.
 */
export async function connectReadOnly(
  options: ConnectionOptions,
  expected?: { dimensions: number; pipeline: string },
): Promise<{ sql: Sql; stored: StoredIndex } | null> {
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
    return { sql, stored };
  } catch (error) {
    await sql.end({ timeout: 1 });
    throw error;
  }
}

/**
 * Calls `openReadOnly` until the database holds this build's schema and pipeline (a replica on the primary migrates
 * it, then replication brings it here) and can be reached; until then `waiting` is told why.
 */
export async function waitUntilSearchable<Store>(
  options: OpeningOptions,
  waiting: (reason: string) => void,
  openReadOnly: (expected: { dimensions: number; pipeline: string }) => Promise<Store | null>,
): Promise<Store> {
  const warn = options.warn ?? console.error;
  const expected = { dimensions: options.dimensions, pipeline: options.pipeline };
  let told: string | null = null;
  for (let attempt = 0; ; attempt++) {
    let reason: string;
    try {
      const store = await openReadOnly(expected);
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
