// `search <image>`: the products in DATA_DIR's index that look most like a photo, as POST /similar-products/upload
// would answer. A service may be using DATA_DIR right now, so the index is opened read-only (no lock, nothing
// written).
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseConfig } from "../config.ts";
import { AppError } from "../errors.ts";
import { withBinaryDefaults } from "../runtime/standalone.ts";
import { openSearchOnly } from "../services.ts";
import { EXIT_FAILURE, EXIT_OK } from "./command-line.ts";

export async function searchPhoto(
  image: string,
  options: { top: number; json: boolean },
  env: Record<string, string | undefined>,
): Promise<number> {
  const photo = await readFile(image).catch((error: NodeJS.ErrnoException) => {
    console.error(`search: cannot read ${image}: ${error.code ?? error.message}`);
    return null;
  });
  if (!photo) return EXIT_FAILURE;

  // No catalogue is read; one is named only so that image_url follows the service's rules (IMAGE_URL_TEMPLATE, else
  // the products API's URL, else PUBLIC_URL as in folder mode).
  const hasCatalog = Boolean(env.CATALOG_API_URL || env.CATALOG_DIR);
  const config = parseConfig(await withBinaryDefaults(hasCatalog ? env : { ...env, CATALOG_DIR: "." }));
  const dataDir = resolve(config.dataDir);
  const search = await openSearchOnly({ ...config, dataDir });
  if (!search) {
    console.error(`search: no index in ${dataDir}; build one with \`index <folder>\` or the service (DATA_DIR)`);
    return EXIT_FAILURE;
  }
  try {
    const bytes = new Uint8Array(photo.buffer, photo.byteOffset, photo.byteLength);
    const similar = await search.similarity.similarToPhoto(bytes, { topN: options.top, scoreThreshold: 0 });
    if (options.json) {
      console.log(JSON.stringify({ similar_products: similar }));
    } else {
      const width = Math.max(2, ...similar.map((product) => String(product.id).length));
      console.log(`${"id".padStart(width)}  score     image_url`);
      for (const { id, similarity_score, image_url } of similar) {
        console.log(`${String(id).padStart(width)}  ${similarity_score.toFixed(6)}  ${image_url}`);
      }
    }
    return EXIT_OK;
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    console.error(`search: ${image}: ${error.message}`);
    return EXIT_FAILURE;
  } finally {
    await search.close();
  }
}
