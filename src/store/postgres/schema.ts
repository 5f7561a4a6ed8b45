// The index's tables in PostgreSQL, created and migrated by the service itself at start. Everything runs in one
// transaction under an advisory lock, so replicas starting together take turns and the later ones find the work done;
// PostgreSQL's DDL is transactional, so a crash part-way leaves the schema as it was.
import type { Sql, TransactionSql } from "postgres";
import type { PendingMigration } from "../pipeline-migration.ts";
import { StoreError } from "../store-error.ts";

/** Taken with pg_advisory_xact_lock by every replica that migrates: "fip" plus a version byte. */
const MIGRATION_LOCK = 0x66697001;

export const EMBEDDINGS = "fip_embeddings";
/** Tombstones older than this are removed when a replica starts. */
const TOMBSTONE_DAYS = 1;

/**
 * Versioned steps, applied in order and recorded in fip_schema_migrations. Never edit a released step: add one.
 * The embeddings table is not here: its column's size and pipeline come from the running build (createEmbeddings).
 */
const MIGRATIONS: { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
      CREATE EXTENSION IF NOT EXISTS vector;
      -- The pipeline and vector size of the embeddings table (one row).
      CREATE TABLE fip_index (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        pipeline text NOT NULL,
        dimensions integer NOT NULL
      );
      -- Products of an index made by an earlier pipeline, to embed again (pipeline-migration.ts does the same in DATA_DIR).
      CREATE TABLE fip_reembed (product_id bigint PRIMARY KEY, from_pipeline text NOT NULL);
    `,
  },
];

/** The schema version this build migrates to and reads. */
export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;

/**
 * One row per product. The vector is kept exactly (float32, `vector`), so a product's score is the embedded store's
 * to the last digit; the HNSW graph is built over its half-precision copy (`halfvec`, half the memory, and pgvector
 * indexes up to 4,000 of its dimensions), like the embedded store's f16 graphs. L2 distance (halfvec_l2_ops) because
 * the score is computed from it. A NULL vector is a tombstone: the ticket of a delete, so an older put cannot bring
 * the product back. The CHECK refuses rows of any other pipeline, whichever replica writes them.
 */
function createEmbeddings(pipeline: string, dimensions: number): string {
  const name = pipeline.replaceAll("'", "''");
  return `
    CREATE TABLE ${EMBEDDINGS} (
      product_id bigint PRIMARY KEY,
      embedding vector(${dimensions}),
      pipeline text NOT NULL CHECK (pipeline = '${name}'),
      sequence bigint NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX ${EMBEDDINGS}_hnsw ON ${EMBEDDINGS}
      USING hnsw ((embedding::halfvec(${dimensions})) halfvec_l2_ops) WITH (m = 16, ef_construction = 64);
  `;
}

/**
 * Brings the schema up to date and the embeddings table to `pipeline`: created if missing; if it holds another
 * pipeline's vectors, its products are recorded to be embedded again and it is replaced by an empty one. Removes
 * tombstones older than a day. Returns the products still waiting to be embedded again, or null.
 */
export async function prepareSchema(sql: Sql, pipeline: string, dimensions: number): Promise<PendingMigration | null> {
  const pending = await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    await tx`CREATE TABLE IF NOT EXISTS fip_schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`;
    const applied = new Set((await tx<{ version: number }[]>`SELECT version FROM fip_schema_migrations`).map((row) => row.version));
    const newest = Math.max(0, ...applied);
    if (newest > SCHEMA_VERSION) {
      throw new StoreError(`the database's schema is at version ${newest}, newer than this build knows (${SCHEMA_VERSION}): upgrade this replica`);
    }
    for (const step of MIGRATIONS.filter((step) => !applied.has(step.version))) {
      await tx.unsafe(step.sql).simple();
      await tx`INSERT INTO fip_schema_migrations (version) VALUES (${step.version})`;
    }
    await moveToPipeline(tx, pipeline, dimensions);
    // A tombstone only has to outlive the requests older than its delete, which are long finished after a day.
    await tx.unsafe(`DELETE FROM ${EMBEDDINGS} WHERE embedding IS NULL AND updated_at < now() - interval '${TOMBSTONE_DAYS} day'`);
    return tx<{ product_id: string; from_pipeline: string }[]>`SELECT product_id, from_pipeline FROM fip_reembed ORDER BY product_id`;
  });
  if (pending.length === 0) return null;
  const productIds = pending.map((row) => Number(row.product_id));
  return {
    from: pending[0]!.from_pipeline,
    productIds,
    async finish() {
      await sql`DELETE FROM fip_reembed WHERE product_id = ANY(${productIds})`;
    },
  };
}

async function moveToPipeline(tx: TransactionSql, pipeline: string, dimensions: number): Promise<void> {
  const [stored] = await tx<{ pipeline: string; dimensions: number }[]>`SELECT pipeline, dimensions FROM fip_index`;
  if (stored?.pipeline === pipeline && stored.dimensions === dimensions) return;
  if (stored) {
    await tx.unsafe(
      `INSERT INTO fip_reembed (product_id, from_pipeline)
       SELECT product_id, $1 FROM ${EMBEDDINGS} WHERE embedding IS NOT NULL ON CONFLICT (product_id) DO NOTHING`,
      [stored.pipeline],
    );
    await tx.unsafe(`DROP TABLE ${EMBEDDINGS}`);
  }
  await tx.unsafe(createEmbeddings(pipeline, dimensions)).simple();
  await tx`
    INSERT INTO fip_index (pipeline, dimensions) VALUES (${pipeline}, ${dimensions})
    ON CONFLICT (singleton) DO UPDATE SET pipeline = excluded.pipeline, dimensions = excluded.dimensions`;
}

export interface StoredIndex {
  /** The newest migration applied. */
  schemaVersion: number;
  pipeline: string;
  dimensions: number;
}

/**
 * The schema version, pipeline and size of the index at `sql`, or null if it holds none (for migrate-store and
 * read-only opens). Reads only: safe on a read replica.
 */
export async function readStoredIndex(sql: Sql): Promise<StoredIndex | null> {
  const [table] = await sql`SELECT to_regclass('fip_index') AS name`;
  if (!table?.name) return null;
  const [stored] = await sql<{ pipeline: string; dimensions: number; schema_version: number }[]>`
    SELECT pipeline, dimensions, (SELECT max(version) FROM fip_schema_migrations) AS schema_version FROM fip_index`;
  return stored ? { schemaVersion: stored.schema_version, pipeline: stored.pipeline, dimensions: stored.dimensions } : null;
}

/** Why this build cannot search the stored index as it is, or null if it can. */
export function unsearchableBecause(stored: StoredIndex, expected?: { dimensions: number; pipeline: string }): string | null {
  if (stored.schemaVersion < SCHEMA_VERSION) {
    return `holds schema version ${stored.schemaVersion}, older than this build's (${SCHEMA_VERSION}): a replica of this build on the primary migrates it`;
  }
  if (stored.schemaVersion > SCHEMA_VERSION) {
    return `holds schema version ${stored.schemaVersion}, newer than this build knows (${SCHEMA_VERSION}): upgrade this replica`;
  }
  if (expected && (stored.pipeline !== expected.pipeline || stored.dimensions !== expected.dimensions)) {
    return `holds an index of ${stored.pipeline} (${stored.dimensions}-d), not one of ${expected.pipeline} (${expected.dimensions}-d)`;
  }
  return null;
}
