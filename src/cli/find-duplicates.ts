// `duplicates`: the groups of near-identical products in the index (DATA_DIR's, or VECTOR_STORE_URL's), as
// GET /embeddings/duplicates answers them. Needs only the index (no model, no catalogue); opens it read-only, like
// `search`, so a running service is safe.
import { resolve } from "node:path";
import { parseConfig } from "../config.ts";
import { withBinaryDefaults } from "../runtime/standalone.ts";
import { findDuplicateGroups } from "../similarity/duplicates.ts";
import { openIndexReadOnly } from "../store/open-index.ts";
import { EXIT_FAILURE, EXIT_OK } from "./command-line.ts";

export async function printDuplicates(options: { minScore: number; json: boolean }, env: Record<string, string | undefined>): Promise<number> {
  // No catalogue is read; one is named only because the configuration needs one.
  const hasCatalog = Boolean(env.CATALOG_API_URL || env.CATALOG_DIR);
  const config = parseConfig(await withBinaryDefaults(hasCatalog ? env : { ...env, CATALOG_DIR: "." }));
  const dataDir = resolve(config.dataDir);
  const store = await openIndexReadOnly({ dataDir, ...config.vectorStore });
  if (!store) {
    console.error(`duplicates: no index in ${config.vectorStore.url ? "the database of VECTOR_STORE_URL" : dataDir}; build one with \`index <folder>\` or the service (DATA_DIR)`);
    return EXIT_FAILURE;
  }
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
    const productsScanned = await store.count();
    if (options.json) {
      console.log(JSON.stringify({ groups: groups.map((group) => ({ ...group, size: group.product_ids.length })), min_score: options.minScore, products_scanned: productsScanned }));
    } else {
      console.log(`size  lowest    product ids (min score ${options.minScore}, ${groups.length} groups among ${productsScanned} products)`);
      for (const group of groups) {
        console.log(`${String(group.product_ids.length).padStart(4)}  ${group.lowest_score.toFixed(6)}  ${group.product_ids.join(" ")}`);
      }
    }
    return EXIT_OK;
  } finally {
    await store.close();
  }
}
