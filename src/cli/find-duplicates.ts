// `duplicates`: the groups of near-identical products in DATA_DIR's index, as GET /embeddings/duplicates answers them.
// Needs only the index (no model, no catalogue); opens it read-only, like `search`, so a running service is safe.
import { resolve } from "node:path";
import { parseConfig } from "../config.ts";
import { withBinaryDefaults } from "../runtime/standalone.ts";
import { findDuplicateGroups } from "../similarity/duplicates.ts";
import { readStoredPipeline, VectorStore } from "../store/vector-store.ts";
import { EXIT_FAILURE, EXIT_OK } from "./command-line.ts";

export async function printDuplicates(options: { minScore: number; json: boolean }, env: Record<string, string | undefined>): Promise<number> {
  // No catalogue is read; one is named only because the configuration needs one.
  const hasCatalog = Boolean(env.CATALOG_API_URL || env.CATALOG_DIR);
  const config = parseConfig(await withBinaryDefaults(hasCatalog ? env : { ...env, CATALOG_DIR: "." }));
  const dataDir = resolve(config.dataDir);
  const stored = await readStoredPipeline(dataDir);
  if (!stored) {
    console.error(`duplicates: no index in ${dataDir}; build one with \`index <folder>\` or the service (DATA_DIR)`);
    return EXIT_FAILURE;
  }
  const store = await VectorStore.openReadOnly({ dataDir, dimensions: stored.dimensions, pipeline: stored.pipeline });
  try {
    let lastPercent = -1;
    const groups = await findDuplicateGroups(store, options.minScore, {
      onProgress: (done, total) => {
        const percent = total === 0 ? 100 : Math.floor((100 * done) / total);
        if (percent === lastPercent || percent % 10 !== 0) return;
        lastPercent = percent;
        console.error(`duplicates: ${done}/${total} products searched`);
      },
    });
    if (options.json) {
      console.log(JSON.stringify({ groups: groups.map((group) => ({ ...group, size: group.product_ids.length })), min_score: options.minScore, products_scanned: store.count }));
    } else {
      console.log(`size  lowest    product ids (min score ${options.minScore}, ${groups.length} groups among ${store.count} products)`);
      for (const group of groups) {
        console.log(`${String(group.product_ids.length).padStart(4)}  ${group.lowest_score.toFixed(6)}  ${group.product_ids.join(" ")}`);
      }
    }
    return EXIT_OK;
  } finally {
    await store.close();
  }
}
