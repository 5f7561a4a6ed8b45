// Moving an index to a new pipeline. Vectors made by two pipelines are never mixed in one index, so at start an index
// made by another pipeline is set aside in DATA_DIR/previous-<time>/ and its products are queued to be embedded again
// from the catalogue. A migration file records the products first, so a crash at any point resumes the migration
// at the next start instead of forgetting them; once they are all re-embedded, the old index is removed.
import { mkdir, readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { lockDataDir } from "./data-dir-lock.ts";
import { fsyncPath, replaceDurably } from "./durable-files.ts";
import { indexFileNames, readStoredPipeline } from "./store-files.ts";
import { VectorStore } from "./vector-store.ts";

const MIGRATION_FILE = "migration.json";

interface MigrationRecord {
  from: string;
  to: string;
  /** Folders under DATA_DIR holding old indexes until the migration is done (more than one if the pipeline changed
   * again before an earlier migration finished). */
  archives: string[];
  productIds: number[];
}

export interface PendingMigration {
  from: string;
  productIds: number[];
  /** Removes the old index and the record: every product has been embedded again (or reported as failed). */
  finish(): Promise<void>;
}

/** Sets an index of another pipeline aside (or finds one set aside earlier) and says which products to re-embed. */
export async function prepareMigration(dataDir: string, pipeline: string): Promise<PendingMigration | null> {
  await mkdir(dataDir, { recursive: true });
  // No other process may be using the index while its files move (the store takes the lock again when it opens).
  const lock = await lockDataDir(dataDir);
  try {
    return await setAside(dataDir, pipeline);
  } finally {
    await lock.release();
  }
}

async function setAside(dataDir: string, pipeline: string): Promise<PendingMigration | null> {
  let record = await readMigration(dataDir);
  const stored = await readStoredPipeline(dataDir);
  if (stored && stored.pipeline !== pipeline && record?.to !== pipeline) {
    // Record the products before anything moves, adding to a migration that had not finished.
    const old = await VectorStore.openReadOnly({ dataDir, dimensions: stored.dimensions, pipeline: stored.pipeline });
    const { ids } = old.listIds(0, old.count);
    await old.close();
    record = {
      from: record?.from ?? stored.pipeline,
      to: pipeline,
      archives: [...(record?.archives ?? []), `previous-${Date.now()}`],
      productIds: [...new Set([...(record?.productIds ?? []), ...ids])],
    };
    await replaceDurably(join(dataDir, MIGRATION_FILE), JSON.stringify(record));
  }
  if (stored && stored.pipeline !== pipeline && record) {
    const archive = join(dataDir, record.archives.at(-1)!);
    await mkdir(archive, { recursive: true });
    // The manifest moves last: until it has, the next start sees the old index here and finishes moving it; no file
    // of the old index is ever left beside a new one.
    for (const name of indexFileNames(await readdir(dataDir))) await rename(join(dataDir, name), join(archive, name));
    await fsyncPath(dataDir);
  }
  if (!record) return null;
  const { from, productIds, archives } = record;
  return {
    from,
    productIds,
    async finish() {
      await rm(join(dataDir, MIGRATION_FILE), { force: true });
      for (const archive of archives) await rm(join(dataDir, archive), { recursive: true, force: true });
    },
  };
}

async function readMigration(dataDir: string): Promise<MigrationRecord | null> {
  try {
    return JSON.parse(await readFile(join(dataDir, MIGRATION_FILE), "utf8")) as MigrationRecord;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}
