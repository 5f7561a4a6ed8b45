// The vector store: one embedding per product id, searched through a USearch index, kept on disk so that a crash
// at any moment leaves every acknowledged change and nothing half-written.
//
// On disk (DATA_DIR), for snapshot number N:
//   manifest.json          the current snapshot N, the pipeline that made its vectors, a checksum
//   vectors-N.bin          the ids and vectors (USearch's JS binding can neither list keys nor return a vector)
//   index-N.usearch        the USearch graph over the same vectors, memory-mapped when opened
//   journal-M.log (M >= N) changes made after snapshot N, in order
// A change is durable once its journal record is fsynced. Every so often (and at close) the whole state is written
// as snapshot M: its files are fsynced, then a new manifest is atomically renamed into place, and only then are older
// files removed. Opening loads the manifest's snapshot and replays the journals from N on.
//
// One writer: changes apply in memory at once, on the event loop, and reach disk through one loop that writes
// whatever has gathered since its last write (group commit); each change's promise settles when it is durable.
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { Index, MetricKind, ScalarKind } from "usearch";
import { type DataDirLock, lockDataDir } from "./data-dir-lock.ts";
import { fsyncPath, replaceDurably, writeDurably } from "./durable-files.ts";
import { ExactSearch, type Neighbour, ownBuffer } from "./exact-search.ts";
import { JournalWriter, type JournalRecord, readJournal } from "./journal.ts";
import { describeDamage, keepDamagedJournal } from "./journal-damage.ts";
import { StoreError } from "./store-error.ts";

export { StoreError };
export type { Neighbour };

export const MAX_PRODUCT_ID = 2 ** 31 - 1;

const MANIFEST = "manifest.json";
const FORMAT_VERSION = 1;
const VECTORS_MAGIC = 0x56504946; // "FIPV" little-endian
const HEADER_BYTES = 16;
/**
 * Up to this many vectors a search is exact (USearch's brute-force SIMD kernel over all vectors, a few milliseconds
 * at 6,416 x 2048-d): the HNSW graph is approximate, and after products are replaced or deleted it was seen to miss
 * a stored product, even the query's own. Larger catalogues are searched through the graph.
 */
export const EXACT_SEARCH_LIMIT = 50_000;

export interface StoreOptions {
  dataDir: string;
  dimensions: number;
  /** Names the preprocessing + model + normalisation that made the vectors; vectors of two pipelines never mix. */
  pipeline: string;
  /** Journal records after which the whole state is written as a new snapshot. */
  snapshotAfter?: number;
  /** Most vectors searched exactly; beyond, the HNSW graph answers (default EXACT_SEARCH_LIMIT). */
  exactSearchLimit?: number;
  /** Where a journal damaged in the middle is reported (default: stderr). */
  warn?: (message: string) => void;
}

interface Manifest {
  format: number;
  pipeline: string;
  dimensions: number;
  metric: "l2sq";
  snapshot: number;
  count: number;
  vectors: string;
  index: string;
  vectorsCrc32: number;
  savedAt: string;
}

const fileNames = (snapshot: number) => {
  const suffix = String(snapshot).padStart(8, "0");
  return { vectors: `vectors-${suffix}.bin`, index: `index-${suffix}.usearch`, journal: `journal-${suffix}.log` };
};

export class VectorStore {
  readonly #options: Required<StoreOptions>;
  readonly #vectors = new Map<number, Float32Array>();
  #index: Index;
  /** Set while the index is a read-only memory map of this file. */
  #viewedIndexPath: string | null = null;
  #journal!: JournalWriter;
  #journalNumber = 0;
  #recordsSinceSnapshot = 0;
  #sortedIds: number[] | null = null;
  /** All vectors back to back, for exact search: built at the first exact search, then updated with every change. */
  #exact: ExactSearch | null = null;
  #exactSearchBuilds = 0;
  /** Highest request sequence applied per product, so a slow older change never overwrites a newer one. */
  readonly #appliedSequence = new Map<number, number>();
  #nextSequence = 1;
  #unwritten: { record: JournalRecord; resolve: () => void; reject: (error: unknown) => void }[] = [];
  /** Settles when every change applied in memory so far is on disk. */
  #allDurable: Promise<void> = Promise.resolve();
  #writing: Promise<void> | null = null;
  #closed = false;
  #lock: DataDirLock | null = null;
  #changes = 0;

  private constructor(options: StoreOptions) {
    this.#options = { snapshotAfter: 2000, exactSearchLimit: EXACT_SEARCH_LIMIT, warn: console.error, ...options };
    this.#index = newIndex(options.dimensions);
  }

  static async open(options: StoreOptions): Promise<VectorStore> {
    await mkdir(options.dataDir, { recursive: true });
    const store = new VectorStore(options);
    store.#lock = await lockDataDir(options.dataDir);
    try {
      await store.#load();
    } catch (error) {
      await store.#lock.release();
      throw error;
    }
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

  /** Changes applied since the store was opened: a result computed from the vectors is current while it is unchanged. */
  get changes(): number {
    return this.#changes;
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
    if (this.#vectors.size <= this.#options.exactSearchLimit) {
      if (!this.#exact) {
        this.#exact = ExactSearch.from(this.#vectors, this.#options.dimensions);
        this.#exactSearchBuilds++;
      }
      return this.#exact.search(vector, k);
    }
    const matches = this.#index.search(ownBuffer(vector), Math.min(k, this.#vectors.size), 0);
    const neighbours: Neighbour[] = [];
    for (let i = 0; i < matches.keys.length; i++) {
      neighbours.push({ id: Number(matches.keys[i]), distance: Math.max(0, matches.distances[i]!) });
    }
    return neighbours;
  }

  /**
   * How many times the exact-search copy of the vectors was built from scratch: at the first search, and again only
   * if the store grew past the exact-search limit (which drops the copy) and shrank back under it.
   */
  get exactSearchBuilds(): number {
    return this.#exactSearchBuilds;
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
    if (!this.#claim(id, sequence)) {
      // The newer change that won may not be on disk yet; this answer must not outrun it.
      await this.#allDurable;
      return { applied: false };
    }
    const record: JournalRecord = { op: "put", id, vector };
    this.#apply(record);
    await this.#writeSoon(record);
    return { applied: true };
  }

  /** Removes the product's vector; settles once durable. `existed` says whether there was one. */
  async delete(id: number, sequence = this.takeSequence()): Promise<{ applied: boolean; existed: boolean }> {
    if (!this.#claim(id, sequence) || !this.#vectors.has(id)) {
      // Whatever decided the outcome (a newer change, or an earlier delete) may not be on disk yet.
      const outcome = { applied: this.#appliedSequence.get(id) === sequence, existed: this.#vectors.has(id) };
      await this.#allDurable;
      return outcome;
    }
    const record: JournalRecord = { op: "delete", id };
    this.#apply(record);
    await this.#writeSoon(record);
    return { applied: true, existed: true };
  }

  /** Waits for pending writes, writes a final snapshot so the next start replays nothing, and refuses later changes. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#writing) await this.#writing;
    if (this.#recordsSinceSnapshot > 0) await this.#writeSnapshot();
    await this.#journal.close();
    await this.#lock?.release();
  }

  #claim(id: number, sequence: number): boolean {
    if (this.#closed) throw new StoreError("the store is closed");
    if ((this.#appliedSequence.get(id) ?? 0) > sequence) return false;
    this.#appliedSequence.set(id, sequence);
    return true;
  }

  #apply(record: JournalRecord): void {
    this.#ensureWritable();
    this.#changes++;
    const existed = this.#vectors.has(record.id);
    if (existed) this.#index.remove(BigInt(record.id));
    if (record.op === "put") {
      this.#index.add(BigInt(record.id), ownBuffer(record.vector));
      this.#vectors.set(record.id, record.vector);
    } else {
      this.#vectors.delete(record.id);
    }
    if (existed !== (record.op === "put")) this.#sortedIds = null;
    if (this.#exact) {
      if (record.op === "put") this.#exact.set(record.id, record.vector);
      else this.#exact.delete(record.id);
      // Past the limit the graph answers; the copy would only take memory.
      if (this.#vectors.size > this.#options.exactSearchLimit) this.#exact = null;
    }
  }

  /** A memory-mapped index is read-only; the first change copies it into memory. */
  #ensureWritable(): void {
    if (!this.#viewedIndexPath) return;
    const index = newIndex(this.#options.dimensions);
    index.load(this.#viewedIndexPath);
    this.#index = index;
    this.#viewedIndexPath = null;
  }

  #writeSoon(record: JournalRecord): Promise<void> {
    const durable = new Promise<void>((resolve, reject) => this.#unwritten.push({ record, resolve, reject }));
    this.#allDurable = durable.catch(() => {}); // a failed write is reported to its own change
    this.#writing ??= this.#writeLoop();
    return durable;
  }

  async #writeLoop(): Promise<void> {
    // Let the other changes of this event-loop turn join the first write.
    await new Promise((resolve) => setImmediate(resolve));
    try {
      while (this.#unwritten.length > 0) {
        const batch = this.#unwritten.splice(0);
        try {
          await this.#journal.append(batch.map((item) => item.record));
          this.#recordsSinceSnapshot += batch.length;
          for (const item of batch) item.resolve();
        } catch (error) {
          for (const item of batch) item.reject(error);
        }
        if (this.#recordsSinceSnapshot >= this.#options.snapshotAfter) {
          await this.#writeSnapshot().catch((error) => console.error("snapshot failed; the journal keeps every change:", error));
        }
      }
    } finally {
      this.#writing = null;
    }
  }

  /** Writes the whole state as snapshot M and starts journal M for the changes after it. */
  async #writeSnapshot(): Promise<void> {
    const dir = this.#options.dataDir;
    const snapshot = this.#journalNumber + 1;
    const names = fileNames(snapshot);

    // Capture synchronously: changes from here on go to the new journal, which replay applies after this snapshot.
    const ids = [...this.#vectors.keys()];
    const vectorsFile = encodeVectors(ids, this.#vectors, this.#options.dimensions);
    this.#index.save(join(dir, names.index));
    const previousJournal = this.#journal;
    this.#journal = await JournalWriter.create(join(dir, names.journal));
    this.#journalNumber = snapshot;
    this.#recordsSinceSnapshot = 0;
    await previousJournal?.close();

    await writeDurably(join(dir, names.vectors), vectorsFile);
    await fsyncPath(join(dir, names.index));
    const manifest: Manifest = {
      format: FORMAT_VERSION,
      pipeline: this.#options.pipeline,
      dimensions: this.#options.dimensions,
      metric: "l2sq",
      snapshot,
      count: ids.length,
      vectors: names.vectors,
      index: names.index,
      vectorsCrc32: Bun.hash.crc32(vectorsFile),
      savedAt: new Date().toISOString(),
    };
    await replaceDurably(join(dir, MANIFEST), JSON.stringify(manifest, null, 2));
    await removeStaleFiles(dir, snapshot);
  }

  async #load(): Promise<void> {
    const { dataDir: dir, dimensions, pipeline } = this.#options;
    const manifest = await readManifest(dir);
    const snapshot = manifest?.snapshot ?? 0;
    if (manifest) {
      if (manifest.pipeline !== pipeline || manifest.dimensions !== dimensions) {
        throw new StoreError(
          `the index in ${dir} was made by pipeline ${manifest.pipeline} (${manifest.dimensions}-d); ` +
            `this build uses ${pipeline} (${dimensions}-d)`,
        );
      }
      this.#loadSnapshot(manifest, await readFile(join(dir, manifest.vectors)));
    }
    const journals = (await readdir(dir))
      .map((name) => /^journal-(\d+)\.log$/.exec(name))
      .filter((match) => match !== null && Number(match[1]) >= snapshot)
      .map((match) => ({ name: match![0], number: Number(match![1]) }))
      .sort((a, b) => a.number - b.number);
    let replayed = 0;
    for (const journal of journals) {
      const path = join(dir, journal.name);
      const contents = await readJournal(path, dimensions);
      if (contents.damage.length > 0) this.#options.warn(describeDamage(path, await keepDamagedJournal(path), contents));
      for (const record of contents.records) {
        this.#apply(record);
        replayed++;
      }
    }
    this.#journalNumber = Math.max(snapshot, ...journals.map((journal) => journal.number));
    if (replayed > 0 || !manifest) {
      // Start from a clean snapshot: the replayed journals may end in a torn record that must not be appended to.
      await this.#writeSnapshot();
    } else {
      this.#journal = await JournalWriter.create(join(dir, fileNames(this.#journalNumber).journal));
      await removeStaleFiles(dir, snapshot);
    }
  }

  #loadSnapshot(manifest: Manifest, file: Uint8Array): void {
    const { dataDir: dir, dimensions } = this.#options;
    if (Bun.hash.crc32(file) !== manifest.vectorsCrc32) {
      throw new StoreError(`${join(dir, manifest.vectors)} is corrupt (checksum)`);
    }
    const { ids, vectors } = decodeVectors(file, dimensions);
    ids.forEach((id, i) => this.#vectors.set(id, vectors.subarray(i * dimensions, (i + 1) * dimensions)));
    const indexPath = join(dir, manifest.index);
    try {
      this.#index.view(indexPath);
      if (this.#index.size() === ids.length) {
        this.#viewedIndexPath = indexPath;
        return;
      }
    } catch {
      // A missing or unreadable graph is rebuilt from the vectors below.
    }
    this.#index = newIndex(dimensions);
    if (ids.length > 0) this.#index.add(BigUint64Array.from(ids, BigInt), ownBuffer(vectors));
  }
}

/** The pipeline (and its dimensions) that made the index in `dir`, or null where there is none yet. */
export async function readStoredPipeline(dir: string): Promise<{ pipeline: string; dimensions: number } | null> {
  const manifest = await readManifest(dir);
  return manifest && { pipeline: manifest.pipeline, dimensions: manifest.dimensions };
}

/** The names of the index's own files in a data directory, the manifest (what makes the others an index) last. */
export function indexFileNames(names: string[]): string[] {
  const files = names.filter((name) => /^(?:vectors|index|journal)-\d+\.(?:bin|usearch|log)$/.test(name));
  return names.includes(MANIFEST) ? [...files, MANIFEST] : files;
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
  // Typed-array views need 4-byte alignment; a pooled read buffer may not have it.
  const own = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  return {
    ids: new Uint32Array(own.buffer, own.byteOffset + HEADER_BYTES, count),
    vectors: new Float32Array(own.buffer, own.byteOffset + HEADER_BYTES + count * 4, count * dimensions),
  };
}

/** Removes older snapshots and journals, and files left by a snapshot that crashed before its manifest. */
async function removeStaleFiles(dir: string, snapshot: number): Promise<void> {
  for (const name of await readdir(dir)) {
    const numbered = /^(?:vectors|index|journal)-(\d+)\.(?:bin|usearch|log)$/.exec(name);
    const stale = numbered
      ? Number(numbered[1]) < snapshot || (Number(numbered[1]) > snapshot && !name.startsWith("journal-"))
      : /^manifest\.json\..+\.tmp$/.test(name);
    if (stale) await rm(join(dir, name), { force: true });
  }
}
