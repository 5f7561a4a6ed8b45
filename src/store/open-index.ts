// Chooses the vector index at start: the embedded store in DATA_DIR, or PostgreSQL when VECTOR_STORE_URL is set.
// The rest of the service sees only a VectorIndex.
import { EmbeddedIndex } from "./embedded-index.ts";
import { type PendingMigration, prepareMigration } from "./pipeline-migration.ts";
import { PostgresStore } from "./postgres/postgres-store.ts";
import type { VectorIndex } from "./vector-index.ts";
import { readStoredPipeline } from "./vector-store.ts";

export interface IndexSettings {
  dataDir: string;
  /** postgres://… or null for the embedded store. */
  url: string | null;
  poolSize?: number;
  timeoutMs?: number;
  /** With a url: a search-only replica (VECTOR_STORE_READ_ONLY), on a database a replica on the primary migrates. */
  readOnly?: boolean;
}

export interface IndexIdentity {
  dimensions: number;
  pipeline: string;
}

/**
 * Opens the index for reading and writing; an index made by another pipeline is set aside and its products are
 * named, to be embedded again. A search-only replica's index is opened read-only instead, once the database holds
 * this build's schema; until then `waiting` is told why.
 */
export async function openIndex(
  settings: IndexSettings,
  identity: IndexIdentity,
  waiting: (reason: string) => void = () => {},
): Promise<{ index: VectorIndex; migration: PendingMigration | null }> {
  if (settings.url && settings.readOnly) {
    const store = await PostgresStore.openForSearches({ ...identity, url: settings.url, poolSize: settings.poolSize, timeoutMs: settings.timeoutMs }, waiting);
    return { index: store, migration: null };
  }
  if (settings.url) {
    const { store, migration } = await PostgresStore.open({ ...identity, url: settings.url, poolSize: settings.poolSize, timeoutMs: settings.timeoutMs });
    return { index: store, migration };
  }
  const migration = await prepareMigration(settings.dataDir, identity.pipeline);
  return { index: await EmbeddedIndex.open({ dataDir: settings.dataDir, ...identity }), migration };
}

/**
 * Opens the index for searching only (no lock, nothing written), safe beside a running service. Without `identity`,
 * the embedded index is opened as whatever pipeline made it. Null when there is no index.
 */
export async function openIndexReadOnly(settings: IndexSettings, identity?: IndexIdentity): Promise<VectorIndex | null> {
  if (settings.url) {
    return PostgresStore.openReadOnly({ url: settings.url, poolSize: settings.poolSize, timeoutMs: settings.timeoutMs }, identity);
  }
  const stored = await readStoredPipeline(settings.dataDir);
  if (!stored) return null;
  return EmbeddedIndex.openReadOnly({ dataDir: settings.dataDir, ...(identity ?? stored) });
}
