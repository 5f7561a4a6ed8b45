// `migrate-store --from A --to B`: copies an index between a DATA_DIR and PostgreSQL (either way) as stored, so a shop
// moving to several replicas (or back to one machine) keeps its vectors without embedding its catalogue again.
import { resolve } from "node:path";
import { openIndex, openIndexReadOnly, type IndexSettings } from "../store/open-index.ts";
import { describeUrl } from "../store/postgres/postgres-store.ts";
import { StoreError } from "../store/store-error.ts";
import type { VectorIndex } from "../store/vector-index.ts";
import { EXIT_FAILURE, EXIT_OK } from "./command-line.ts";

/** Products read and written at once. */
const PAGE = 500;

export async function migrateStore(from: string, to: string, env: Record<string, string | undefined>): Promise<number> {
  const [source, target] = [settingsOf(from, env), settingsOf(to, env)];
  const reader = await openIndexReadOnly(source);
  if (!reader) {
    console.error(`migrate-store: no index in ${describe(source)}`);
    return EXIT_FAILURE;
  }
  try {
    const identity = { pipeline: reader.pipeline, dimensions: reader.dimensions };
    const existing = await openIndexReadOnly(target);
    await existing?.close();
    if (existing && (existing.pipeline !== identity.pipeline || existing.dimensions !== identity.dimensions)) {
      throw new StoreError(
        `${describe(target)} holds an index of ${existing.pipeline} (${existing.dimensions}-d), ${describe(source)} one of ` +
          `${identity.pipeline} (${identity.dimensions}-d): copy into an empty index or one of the same pipeline`,
      );
    }
    const { index: writer } = await openIndex(target, identity);
    try {
      const copied = await copyAll(reader, writer);
      console.log(`copied ${copied} vectors of ${identity.pipeline} from ${describe(source)} to ${describe(target)}; it now holds ${await writer.count()}`);
    } finally {
      await writer.close();
    }
    return EXIT_OK;
  } finally {
    await reader.close();
  }
}

async function copyAll(reader: VectorIndex, writer: VectorIndex): Promise<number> {
  const total = await reader.count();
  let copied = 0;
  for (let offset = 0; ; offset += PAGE) {
    const { ids } = await reader.listIds(offset, PAGE);
    if (ids.length === 0) return copied;
    const vectors = await Promise.all(ids.map((id) => reader.vectorOf(id)));
    await Promise.all(ids.map((id, i) => (vectors[i] ? writer.put(id, vectors[i]) : undefined)));
    copied += vectors.filter(Boolean).length;
    console.error(`migrate-store: ${copied}/${total}`);
  }
}

/** A postgres:// URL is a database; anything else a DATA_DIR. Pool size and timeouts come from the environment. */
function settingsOf(place: string, env: Record<string, string | undefined>): IndexSettings {
  const isUrl = /^postgres(ql)?:\/\//.test(place);
  return {
    dataDir: isUrl ? "" : resolve(place),
    url: isUrl ? place : null,
    poolSize: Number(env.VECTOR_STORE_POOL_SIZE) || undefined,
    timeoutMs: Number(env.VECTOR_STORE_TIMEOUT_MS) || undefined,
  };
}

function describe(settings: IndexSettings): string {
  return settings.url ? `PostgreSQL at ${describeUrl(settings.url)}` : settings.dataDir;
}
