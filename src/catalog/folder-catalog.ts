// A catalogue that is a folder of photos named `<id>.jpg` (or .jpeg, .png, .webp), for shops without a products API
// and for trying the service out. The folder is read on every call, so photos dropped in show up without a restart.
import type { Dirent } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { AppError, productNotFoundInCatalog } from "../errors.ts";
import type { Catalog, CatalogPage } from "./catalog.ts";

export interface FolderCatalogOptions {
  dir: string;
  pageSize?: number;
}

const CONTENT_TYPES = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
} as const;

type Extension = keyof typeof CONTENT_TYPES;

/** Both cases, so camera-style `123.JPG` works, but only those two so that listing and lookup by id always agree. */
const EXTENSIONS = (Object.keys(CONTENT_TYPES) as Extension[]).flatMap((ext) => [ext, ext.toUpperCase()]);
const PHOTO_NAME = new RegExp(`^([1-9]\\d*)\\.(${EXTENSIONS.join("|")})$`);

export class FolderCatalog implements Catalog {
  readonly #dir: string;
  readonly #pageSize: number;

  constructor({ dir, pageSize = 100 }: FolderCatalogOptions) {
    this.#dir = dir;
    this.#pageSize = pageSize;
  }

  async listPage(page: number): Promise<CatalogPage> {
    const ids = await this.#listIds();
    const start = (page - 1) * this.#pageSize;
    return {
      productIds: start < 0 ? [] : ids.slice(start, start + this.#pageSize),
      // Laravel's convention, which the API catalogue follows too: an empty catalogue still has one (empty) page.
      lastPage: Math.max(1, Math.ceil(ids.length / this.#pageSize)),
      total: ids.length,
    };
  }

  async fetchImage(productId: number, signal?: AbortSignal): Promise<Uint8Array> {
    const found = await this.imagePath(productId);
    if (!found) throw productNotFoundInCatalog(productId);
    try {
      const buffer = await readFile(found.path, { signal });
      // A plain Uint8Array, like the API catalogue returns, rather than a Node Buffer.
      return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    } catch (error) {
      // Removed between the lookup and the read.
      if (isNotFound(error)) throw productNotFoundInCatalog(productId);
      throw error;
    }
  }

  /** The photo file for a product, for serving it over HTTP; null when the folder has none. */
  async imagePath(productId: number): Promise<{ path: string; contentType: string } | null> {
    if (!Number.isSafeInteger(productId) || productId < 1) return null;
    for (const ext of EXTENSIONS) {
      const path = join(this.#dir, `${productId}.${ext}`);
      const stats = await stat(path).catch(() => null);
      if (stats?.isFile()) return { path, contentType: CONTENT_TYPES[ext.toLowerCase() as Extension] };
    }
    return null;
  }

  /**
   * Files in the folder that are not photos of products (not named `<id>.jpg`, .jpeg, .png or .webp), by name, sorted:
   * never listed, so the `index` command counts them in its summary. Hidden files (`.DS_Store`) are not counted.
   */
  async skippedFiles(): Promise<string[]> {
    return (await this.#read()).skipped;
  }

  async #listIds(): Promise<number[]> {
    return (await this.#read()).ids;
  }

  async #read(): Promise<{ ids: number[]; skipped: string[] }> {
    let entries: Dirent[];
    try {
      entries = await readdir(this.#dir, { withFileTypes: true });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new AppError("CATALOG_UNAVAILABLE", 502, `catalogue folder ${this.#dir} cannot be read: ${reason}`);
    }
    const ids = new Set<number>();
    const skipped: string[] = [];
    for (const entry of entries) {
      if (!entry.isFile() && !entry.isSymbolicLink()) continue;
      const match = PHOTO_NAME.exec(entry.name);
      const id = match ? Number(match[1]) : Number.NaN;
      if (Number.isSafeInteger(id)) ids.add(id);
      else if (!entry.name.startsWith(".")) skipped.push(entry.name);
    }
    return { ids: [...ids].sort((a, b) => a - b), skipped: skipped.sort() };
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof Error && "code" in error && error.code === "ENOENT";
}
