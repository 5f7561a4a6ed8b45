// Shared pieces of the end-to-end tests: the catalogue's photos (real fashion photos from ../shared, generated ones
// on a machine without them), a catalogue server over them, and small readers of the service's answers.
import { copyFile, cp, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type CatalogProduct, type CatalogServerOptions, fashionPhotos, makePhoto, startCatalogServer } from "../helpers/catalog-server.ts";
import { HAS_FASHION_PHOTOS } from "../helpers/environment.ts";
import type { JsonAnswer, ServiceProcess, TaskView } from "../helpers/service-process.ts";

export interface Photos {
  ids: number[];
  products: CatalogProduct[];
  /** The exact bytes the catalogue serves for this id. */
  bytes(id: number): Promise<Uint8Array>;
  real: boolean;
}

let warned = false;

/** `count` product photos: the first fashion photos by id, or generated ones (ids 1..count) without ../shared. */
export function catalogPhotos(count: number): Photos {
  const fashion = HAS_FASHION_PHOTOS ? fashionPhotos(count) : null;
  if (fashion && fashion.length === count) {
    const paths = new Map(fashion.map((photo) => [photo.id, photo.path]));
    return {
      ids: fashion.map((photo) => photo.id),
      products: fashion.map((photo) => ({ id: photo.id, image: photo.path })),
      bytes: (id) => Bun.file(paths.get(id)!).bytes(),
      real: true,
    };
  }
  if (!warned) {
    warned = true;
    console.warn("\n*** e2e: no fashion photos in ../shared; using generated photos instead ***\n");
  }
  const generated = new Map<number, Uint8Array>();
  for (let id = 1; id <= count; id++) generated.set(id, makePhoto(id));
  return {
    ids: [...generated.keys()],
    products: [...generated].map(([id, image]) => ({ id, image })),
    bytes: async (id) => generated.get(id)!,
    real: false,
  };
}

/** Writes the photos of `ids` (all of them unless given) into `dir` as <id>.jpg: a folder catalogue. */
export async function writePhotoFolder(photos: Photos, dir: string, ids: readonly number[] = photos.ids): Promise<void> {
  for (const id of ids) {
    const product = photos.products.find((p) => p.id === id)!;
    const target = join(dir, `${id}.jpg`);
    if (typeof product.image === "string") await copyFile(product.image, target);
    else await writeFile(target, product.image);
  }
}

/** A Laravel-style catalogue on 127.0.0.1 serving `photos`, 50 a page unless told otherwise. */
export function startCatalogOf(photos: Photos, options: Omit<CatalogServerOptions, "products"> = {}) {
  return startCatalogServer({ perPage: 50, ...options, products: photos.products });
}

/** Checks a write was accepted as a task and returns its id. */
export function acceptedTaskId(answer: JsonAnswer): string {
  if (answer.status !== 202) throw new Error(`expected 202, got ${answer.status}: ${JSON.stringify(answer.body)}`);
  const taskId: string = answer.body.task_id;
  if (answer.headers.get("Location") !== `/tasks/${taskId}`) {
    throw new Error(`Location ${answer.headers.get("Location")} does not name task ${taskId}`);
  }
  return taskId;
}

/** Sends a write and waits for its task to finish. */
export async function runTask(
  service: ServiceProcess,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 120_000,
): Promise<TaskView> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { "Content-Type": "application/json" };
  }
  return service.waitForTask(acceptedTaskId(await service.json(path, init)), timeoutMs);
}

/**
 * Every stored product id, ascending. With `settled` (no writes running), also checks the count agrees; while writes
 * run, the count, asked a moment later, may legitimately differ.
 */
export async function storedIds(service: ServiceProcess, { settled = true } = {}): Promise<number[]> {
  const listing = await service.json("/embeddings/products?limit=10000");
  if (listing.status !== 200) throw new Error(`listing answered ${listing.status}: ${JSON.stringify(listing.body)}`);
  const { products, total } = listing.body as { products: number[]; total: number };
  if (total !== products.length) throw new Error(`listing total ${total}, listed ${products.length}`);
  if (settled) {
    const count = await service.json("/embeddings/count");
    if (count.status !== 200 || count.body.count !== total) {
      throw new Error(`count answered ${count.status} ${JSON.stringify(count.body)}, listing total ${total}`);
    }
  }
  return products;
}

export const ascending = (ids: Iterable<number>) => [...ids].sort((a, b) => a - b);

export async function copyDir(from: string, to: string): Promise<void> {
  await cp(from, to, { recursive: true });
}

export function uploadForm(bytes: Uint8Array, name = "photo.jpg"): FormData {
  const form = new FormData();
  form.append("image", new File([bytes], name, { type: "image/jpeg" }));
  return form;
}

/** A service replica's settings on the PostgreSQL index at `url` (small pool, short timeout, one model thread). */
export function postgresReplicaEnv(url: string, dataDir: string, folder: string): Record<string, string> {
  return {
    DATA_DIR: dataDir,
    CATALOG_DIR: folder,
    VECTOR_STORE_URL: url,
    VECTOR_STORE_POOL_SIZE: "4",
    VECTOR_STORE_TIMEOUT_MS: "3000",
    INFERENCE_THREADS: "1",
  };
}
