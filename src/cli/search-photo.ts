// `search <image>`: the products in DATA_DIR's index that look most like a photo, as POST /similar-products/upload
// would answer. Opening the store can write to its directory (it replays the journal into a fresh snapshot), and a
// service may be using DATA_DIR right now, so the search runs on a private copy of the index files.
import { copyFile, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseConfig } from "../config.ts";
import { AppError } from "../errors.ts";
import { withBinaryDefaults } from "../runtime/standalone.ts";
import { createServices } from "../services.ts";
import { EXIT_FAILURE, EXIT_OK } from "./command-line.ts";

const COPY_ATTEMPTS = 3;

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
  const copy = await mkdtemp(join(tmpdir(), "fip-search-"));
  try {
    if (!(await copyIndex(dataDir, copy))) {
      console.error(`search: no index in ${dataDir}; build one with \`index <folder>\` or the service (DATA_DIR)`);
      return EXIT_FAILURE;
    }
    const services = await createServices({ ...config, dataDir: copy });
    try {
      const bytes = new Uint8Array(photo.buffer, photo.byteOffset, photo.byteLength);
      const similar = await services.similarity.similarToPhoto(bytes, { topN: options.top, scoreThreshold: 0 });
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
      await services.close(0);
    }
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
}

/**
 * Copies DATA_DIR's files (the manifest first, then the snapshot and journals) into `target`; false when there is no
 * index. A service that writes a new snapshot meanwhile may remove a file before it is copied: then start again.
 */
export async function copyIndex(dataDir: string, target: string): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      await copyFile(join(dataDir, "manifest.json"), join(target, "manifest.json"));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw error;
    }
    try {
      for (const name of await readdir(dataDir)) {
        if (name === "manifest.json" || name.endsWith(".tmp")) continue;
        await copyFile(join(dataDir, name), join(target, name));
      }
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT" || attempt >= COPY_ATTEMPTS) throw error;
      for (const name of await readdir(target)) await rm(join(target, name), { force: true });
    }
  }
}
