// The vector store: one embedding per product id, searched through a USearch index, kept on disk so that any crash
// leaves the last good state.
//
// On disk (DATA_DIR):
//   manifest.json          which generation is current, the pipeline that made its vectors, a checksum
//   vectors-<gen>.bin      the ids and vectors (USearch's JS binding can neither list keys nor return a vector)
//   index-<gen>.usearch    the USearch graph over the same vectors, memory-mapped when opened
// A save writes a new generation's files, fsyncs them, then atomically renames a new manifest into place; only
// then are the older generation's files removed. The manifest is the commit point.
//
// One writer: every change goes through this object on the event loop. Changes made while a save is running are
// saved together by the next one (group commit), and each change's promise settles when it is durable.
import { randomUUID } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { Index, MetricKind, ScalarKind } from "usearch";

export const MAX_PRODUCT_ID = 2 ** 31 - 1;

const MANIFEST = "manifest.json";
const FORMAT_VERSION = 1;
const VECTORS_MAGIC = 0x56504946; // "FIPV" little-endian
const HEADER_BYTES = 16;

export interface StoreOptions {
  dataDir: string;
  dimensions: number;
  /** Names the preprocessing + model + normalisation that made the vectors; vectors of two pipelines never mix. */
  pipeline: string;
}

interface Manifest {
  format: number;
  pipeline: string;
  dimensions: number;
  metric: "l2sq";
  generation: number;
  count: number;
  vectors: string;
  index: string;
  vectorsCrc32: number;
  savedAt: string;
}

export interface Neighbour {
  id: number;
  /** Squared L2 distance. */
  distance: number;
}

export class StoreError extends Error {
  override name = "StoreError";
}

export class VectorStore {
  readonly #options: StoreOptions;
  readonly #vectors = new Map<number, Float32Array>();
  #index: Index;
  #indexIsView: boolean;
  #indexPath: string | null;
  #generation: number;
  #sortedIds: number[] | null = null;
  /** Highest request sequence applied per product, so a slow older change never overwrites a newer one. */
  readonly #appliedSequence = new Map<number, number>();
  #nextSequence = 1;
  #waitingForSave: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  #saving: Promise<void> | null = null;
  #closed = false;

  private constructor(options: StoreOptions, index: Index, indexIsView: boolean, indexPath: string | null, generation: number) {
    this.#options = options;
    this.#index = index;
    this.#indexIsView = indexIsView;
    this.#indexPath = indexPath;
    this.#generation = generation;
  }

  static async open(options: StoreOptions): Promise<VectorStore> {
    await mkdir(options.dataDir, { recursive: true });
    const manifest = await readManifest(options.dataDir);
    if (!manifest) {
      await removeFilesExcept(options.dataDir, new Set());
      return new VectorStore(options, newIndex(options.dimensions), false, null, 0);
    }
    if (manifest.pipeline !== options.pipeline || manifest.dimensions !== options.dimensions) {
      throw new StoreError(
        `the index in ${options.dataDir} was made by pipeline ${manifest.pipeline} (${manifest.dimensions}-d); ` +
          `this build uses ${options.pipeline} (${options.dimensions}-d)`,
      );
    }
    const vectorsPath = join(options.dataDir, manifest.vectors);
    const file = new Uint8Array(await readFile(vectorsPath));
    if (Bun.hash.crc32(file) !== manifest.vectorsCrc32) throw new StoreError(`${vectorsPath} is corrupt (checksum)`);
    const { ids, vectors } = decodeVectors(file, options.dimensions);

    const indexPath = join(options.dataDir, manifest.index);
    let index = newIndex(options.dimensions);
    let indexIsView = false;
    try {
      index.view(indexPath);
      indexIsView = index.size() === ids.length;
    } catch {
      // A missing or unreadable graph is rebuilt from the vectors below.
    }
    if (!indexIsView && ids.length > 0) {
      index = newIndex(options.dimensions);
      index.add(BigUint64Array.from(ids, BigInt), vectors);
    }

    const store = new VectorStore(options, index, indexIsView, indexIsView ? indexPath : null, manifest.generation);
    ids.forEach((id, i) =>
      store.#vectors.set(id, vectors.subarray(i * options.dimensions, (i + 1) * options.dimensions)),
    );
    await removeFilesExcept(options.dataDir, new Set([manifest.vectors, manifest.index]));
    return store;
  }

  get dimensions(): number {
    return this.#options.dimensions;
  }

  get pipeline(): string {
    return this.#options.pipeline;
  }

  get count(): number {
    return this.#vectors.size;
  }

  has(id: number): boolean {
    return this.#vectors.has(id);
  }

  vectorOf(id: number): Float32Array | undefined {
    return this.#vectors.get(id);
  }

  /** Stored ids in ascending order, a page at a time. */
  listIds(offset: number, limit: number): { ids: number[]; total: number } {
    this.#sortedIds ??= [...this.#vectors.keys()].sort((a, b) => a - b);
    return { ids: this.#sortedIds.slice(offset, offset + limit), total: this.#sortedIds.length };
  }

  /** The `k` stored vectors nearest to `vector`, nearest first. */
  search(vector: Float32Array, k: number): Neighbour[] {
    if (this.#vectors.size === 0 || k <= 0) return [];
    const matches = this.#index.search(vector, Math.min(k, this.#vectors.size), 0);
    const neighbours: Neighbour[] = [];
    for (let i = 0; i < matches.keys.length; i++) {
      neighbours.push({ id: Number(matches.keys[i]), distance: Math.max(0, matches.distances[i]!) });
    }
    return neighbours;
  }

  /**
   * A ticket that orders changes to one product by when they were requested, not by when their work finishes:
   * take it when the request arrives, pass it to `put`/`delete`.
   */
  takeSequence(): number {
    return this.#nextSequence++;
  }

  /** Stores (or replaces) the product's vector; settles once durable. `applied` is false if a newer change won. */
  async put(id: number, vector: Float32Array, sequence = this.takeSequence()): Promise<{ applied: boolean }> {
    if (vector.length !== this.#options.dimensions) {
      throw new StoreError(`vector has ${vector.length} dimensions, the index ${this.#options.dimensions}`);
    }
    if (!this.#claim(id, sequence)) return { applied: false };
    this.#ensureWritable();
    if (this.#vectors.has(id)) this.#index.remove(BigInt(id));
    this.#index.add(BigInt(id), vector);
    if (!this.#vectors.has(id)) this.#sortedIds = null;
    this.#vectors.set(id, vector);
    await this.#saveSoon();
    return { applied: true };
  }

  /** Removes the product's vector; settles once durable. `existed` says whether there was one. */
  async delete(id: number, sequence = this.takeSequence()): Promise<{ applied: boolean; existed: boolean }> {
    if (!this.#claim(id, sequence)) return { applied: false, existed: this.#vectors.has(id) };
    if (!this.#vectors.has(id)) return { applied: true, existed: false };
    this.#ensureWritable();
    this.#index.remove(BigInt(id));
    this.#vectors.delete(id);
    this.#sortedIds = null;
    await this.#saveSoon();
    return { applied: true, existed: true };
  }

  /** Waits for pending saves; later changes are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#saving) await this.#saving.catch(() => {});
  }

  #claim(id: number, sequence: number): boolean {
    if (this.#closed) throw new StoreError("the store is closed");
    if ((this.#appliedSequence.get(id) ?? 0) > sequence) return false;
    this.#appliedSequence.set(id, sequence);
    return true;
  }

  /** A memory-mapped index is read-only; the first change copies it into memory. */
  #ensureWritable(): void {
    if (!this.#indexIsView) return;
    const index = newIndex(this.#options.dimensions);
    index.load(this.#indexPath!);
    this.#index = index;
    this.#indexIsView = false;
  }

  #saveSoon(): Promise<void> {
    const durable = new Promise<void>((resolve, reject) => this.#waitingForSave.push({ resolve, reject }));
    this.#saving ??= this.#saveWhileWaiting();
    return durable;
  }

  async #saveWhileWaiting(): Promise<void> {
    // Let the other changes of this event-loop turn join this save.
    await new Promise((resolve) => setImmediate(resolve));
    try {
      while (this.#waitingForSave.length > 0) {
        const waiting = this.#waitingForSave.splice(0);
        try {
          await this.#saveGeneration();
          for (const waiter of waiting) waiter.resolve();
        } catch (error) {
          for (const waiter of waiting) waiter.reject(error);
        }
      }
    } finally {
      this.#saving = null;
    }
  }

  async #saveGeneration(): Promise<void> {
    const dir = this.#options.dataDir;
    const generation = this.#generation + 1;
    const suffix = `${String(generation).padStart(8, "0")}`;
    const names = { vectors: `vectors-${suffix}.bin`, index: `index-${suffix}.usearch` };

    // Snapshot synchronously, so changes arriving during the writes below belong to the next generation.
    const ids = [...this.#vectors.keys()];
    const vectorsFile = encodeVectors(ids, this.#vectors, this.#options.dimensions);
    const indexPath = join(dir, names.index);
    this.#index.save(indexPath);

    await writeDurably(join(dir, names.vectors), vectorsFile);
    await fsyncFile(indexPath);
    const manifest: Manifest = {
      format: FORMAT_VERSION,
      pipeline: this.#options.pipeline,
      dimensions: this.#options.dimensions,
      metric: "l2sq",
      generation,
      count: ids.length,
      vectors: names.vectors,
      index: names.index,
      vectorsCrc32: Bun.hash.crc32(vectorsFile),
      savedAt: new Date().toISOString(),
    };
    const manifestTemp = join(dir, `${MANIFEST}.${randomUUID()}.tmp`);
    await writeDurably(manifestTemp, new TextEncoder().encode(JSON.stringify(manifest, null, 2)));
    await rename(manifestTemp, join(dir, MANIFEST));
    await fsyncFile(dir);
    this.#generation = generation;
    await removeFilesExcept(dir, new Set([names.vectors, names.index]));
  }
}

function newIndex(dimensions: number): Index {
  return new Index({
    dimensions,
    metric: MetricKind.L2sq,
    quantization: ScalarKind.F32,
    connectivity: 16,
    expansion_add: 128,
    expansion_search: 128,
    multi: false,
  });
}

async function readManifest(dir: string): Promise<Manifest | null> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  const manifest = JSON.parse(text) as Manifest;
  if (manifest.format !== FORMAT_VERSION) throw new StoreError(`unknown index format ${manifest.format} in ${dir}`);
  return manifest;
}

function encodeVectors(ids: number[], vectors: Map<number, Float32Array>, dimensions: number): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES + ids.length * 4 * (1 + dimensions));
  const header = new DataView(bytes.buffer);
  header.setUint32(0, VECTORS_MAGIC, true);
  header.setUint32(4, FORMAT_VERSION, true);
  header.setUint32(8, dimensions, true);
  header.setUint32(12, ids.length, true);
  new Uint32Array(bytes.buffer, HEADER_BYTES, ids.length).set(ids);
  const matrix = new Float32Array(bytes.buffer, HEADER_BYTES + ids.length * 4, ids.length * dimensions);
  ids.forEach((id, i) => matrix.set(vectors.get(id)!, i * dimensions));
  return bytes;
}

function decodeVectors(bytes: Uint8Array, dimensions: number): { ids: Uint32Array; vectors: Float32Array } {
  const header = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = header.getUint32(12, true);
  if (
    header.getUint32(0, true) !== VECTORS_MAGIC ||
    header.getUint32(8, true) !== dimensions ||
    bytes.byteLength !== HEADER_BYTES + count * 4 * (1 + dimensions)
  ) {
    throw new StoreError("the vectors file does not match its manifest");
  }
  // Copy to an aligned buffer of our own; the views below share it.
  const own = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  return {
    ids: new Uint32Array(own.buffer, own.byteOffset + HEADER_BYTES, count),
    vectors: new Float32Array(own.buffer, own.byteOffset + HEADER_BYTES + count * 4, count * dimensions),
  };
}

async function writeDurably(path: string, bytes: Uint8Array): Promise<void> {
  const file = await open(path, "w");
  try {
    await file.writeFile(bytes);
    await file.sync();
  } finally {
    await file.close();
  }
}

async function fsyncFile(path: string): Promise<void> {
  const file = await open(path, "r");
  try {
    await file.sync();
  } finally {
    await file.close();
  }
}

/** Removes earlier generations and files left by a save that crashed before its manifest. */
async function removeFilesExcept(dir: string, keep: Set<string>): Promise<void> {
  for (const name of await readdir(dir)) {
    const ours = /^(vectors-\d+\.bin|index-\d+\.usearch|manifest\.json\..+\.tmp)$/.test(name);
    if (ours && !keep.has(name)) await rm(join(dir, name), { force: true });
  }
}
