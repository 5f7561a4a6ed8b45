// The vector store: one embedding per product id, kept on disk so that a crash at any moment leaves every
// acknowledged change and nothing half-written, and searched across segments (segment-set.ts).
//
// A change is applied in memory to the mutable segment and is durable once its journal record is fsynced (group
// commit). When the mutable segment has taken `sealSize` changes it is frozen, a new journal starts, and a worker
// writes it once as a sealed segment (segment-file.ts), memory-mapped from then on and never rewritten. Neighbouring
// sealed segments of similar size are merged in the background (merge-policy.ts) into one with a freshly built graph,
// dropping replaced and deleted rows. Each seal or merge becomes visible through a new manifest, atomically renamed
// into place after its files are fsynced, and only then are the files it replaced removed: a crash at any point
// leaves the last manifest's segments plus the journals after them.
import { mkdir } from "node:fs/promises";
import { ChangeOrder } from "./change-order.ts";
import { type DataDirLock, lockDataDir } from "./data-dir-lock.ts";
import type { GroupCommit } from "./group-commit.ts";
import type { JournalRecord } from "./journal.ts";
import { SearchRouting } from "./search-routing.ts";
import { IDLE_STOP_MS } from "./search-threads.ts";
import { DEFAULT_GRAPH, type GraphOptions } from "./segment-file.ts";
import { SegmentMaintenance } from "./segment-maintenance.ts";
import { MirrorFeed } from "./store-mirror.ts";
import type { Neighbour, SegmentSet } from "./segment-set.ts";
import { loadIndex } from "./store-loading.ts";
import { StoreError } from "./store-error.ts";

export { StoreError };
export { readStoredPipeline } from "./store-files.ts";
export type { Neighbour };

export interface StoreOptions {
  dataDir: string;
  dimensions: number;
  /** Names the preprocessing + model + normalisation that made the vectors; vectors of two pipelines never mix. */
  pipeline: string;
  /** Changes the mutable segment takes before it is sealed (it is searched exactly, in memory, until then). */
  sealSize?: number;
  /** How many neighbouring segments of one size are merged into one. */
  mergeFactor?: number;
  /** Sealed segments with fewer rows get no graph and are searched exactly. */
  exactBelow?: number;
  /**
   * After this long without a change, the mutable segment is sealed whatever its size, so a store at rest is
   * searched through graphs rather than by scanning thousands of recent vectors; 0 never.
   */
  sealWhenIdleMs?: number;
  graph?: Partial<GraphOptions>;
  /** How long a search thread may sit idle before it is stopped (search-threads.ts). */
  searchThreadIdleMs?: number;
  /** Where a journal damaged in the middle, or a failed background write, is reported (default: stderr). */
  warn?: (message: string) => void;
  /** Told when a seal or merge has written its vectors file and builds its graph (crash tests kill it right then). */
  onSegmentWrite?: (kind: "seal" | "merge") => void;
}

/** What the store is made of right now, for benchmarks, tests and logs. */
export interface StoreStats {
  /** Sealed segments, oldest first. */
  segments: { rows: number; live: number; graph: boolean }[];
  mutableRows: number;
  /** Seals and merges finished since the store opened. */
  seals: number;
  merges: number;
  /** Searches whose sealed segments were searched on the search threads. */
  searchesOnThreads: number;
  /** The batches those went in (search-batches.ts). */
  batchesOnThreads: number;
  /** Search threads running now: they stop when idle. */
  searchThreadsRunning: number;
  /** Of those, the ones done starting; and how many there are, once a search first needed them (0 before). */
  searchThreadsReady: number;
  searchThreads: number;
}

/**
 * Measured on the pipeline's 464-d vectors (bench/exact-vs-graph.ts, docs/performance.md): scanning 512 rows costs
 * what a graph search does; from 1,024 rows the graph is faster.
 */
export const EXACT_BELOW = 512;
export const SEAL_SIZE = 4096;
export const MERGE_FACTOR = 8;
export const SEAL_WHEN_IDLE_MS = 2000;
const READ_ONLY_ATTEMPTS = 5;

type Settings = Required<Omit<StoreOptions, "graph">> & { graph: GraphOptions };

const nothing = () => {};

export class VectorStore {
  readonly #options: Settings;
  readonly #readOnly: boolean;
  #set!: SegmentSet;
  readonly #order = new ChangeOrder();
  /** Null when read-only. */
  #maintenance: SegmentMaintenance | null = null;
  #lock: DataDirLock | null = null;
  #closed = false;
  readonly #routing: SearchRouting;
  #changes = 0;
  /** Copies of the view on other threads (store-mirror.ts); a write settles once each has it. */
  readonly #mirrors = new Set<MirrorFeed>();

  private constructor(options: StoreOptions, readOnly: boolean) {
    this.#options = {
      sealSize: SEAL_SIZE,
      mergeFactor: MERGE_FACTOR,
      exactBelow: EXACT_BELOW,
      sealWhenIdleMs: SEAL_WHEN_IDLE_MS,
      searchThreadIdleMs: IDLE_STOP_MS,
      warn: console.error,
      onSegmentWrite: nothing,
      ...options,
      graph: { ...DEFAULT_GRAPH, ...options.graph },
    };
    this.#readOnly = readOnly;
    this.#routing = new SearchRouting({
      set: () => this.#set,
      searchHere: (vector, k) => this.search(vector, k),
      dimensions: this.#options.dimensions,
      idleStopMs: this.#options.searchThreadIdleMs,
    });
  }

  /** Opens (or creates) the index in `dataDir` for reading and writing, holding the DATA_DIR lock until close. */
  static async open(options: StoreOptions): Promise<VectorStore> {
    await mkdir(options.dataDir, { recursive: true });
    const store = new VectorStore(options, false);
    store.#lock = await lockDataDir(options.dataDir);
    try {
      await store.#load();
    } catch (error) {
      await store.#lock.release();
      throw error;
    }
    return store;
  }

  /**
   * Opens the index for searching only: no lock, nothing written or removed, so it is safe beside a service that
   * owns `dataDir` (the `search` command, evaluations). Changes made after it opened are not seen.
   */
  static async openReadOnly(options: StoreOptions): Promise<VectorStore> {
    for (let attempt = 1; ; attempt++) {
      const store = new VectorStore(options, true);
      try {
        await store.#load();
        return store;
      } catch (error) {
        // The owner merged a segment away between our reading its manifest and its files: read the new manifest.
        if ((error as NodeJS.ErrnoException).code !== "ENOENT" || attempt >= READ_ONLY_ATTEMPTS) throw error;
      }
    }
  }

  get dimensions(): number {
    return this.#options.dimensions;
  }

  get pipeline(): string {
    return this.#options.pipeline;
  }

  get count(): number {
    return this.#set.count;
  }

  /** Changes applied since the store opened: a cheap way to tell whether anything derived from it is stale. */
  get changes(): number {
    return this.#changes;
  }

  has(id: number): boolean {
    return this.#set.has(id);
  }

  /** The stored vector (a view into a mapped file or the mutable segment: do not change it). */
  vectorOf(id: number): Float32Array | undefined {
    return this.#set.vectorOf(id);
  }

  /** Stored ids in ascending order, a page at a time. */
  listIds(offset: number, limit: number): { ids: number[]; total: number } {
    return this.#set.listIds(offset, limit);
  }

  /** The `k` stored vectors nearest to `vector`, nearest first, searched at once on this thread. */
  search(vector: Float32Array, k: number): Neighbour[] {
    return this.#set.searchOne(vector, k);
  }

  /**
   * The same answer as `search`, for a server: searches that overlap are searched on worker threads, so the event
   * loop goes on meanwhile and concurrent searches use every core (search-routing.ts). A read-only store searches on
   * this thread.
   */
  async nearest(vector: Float32Array, k: number): Promise<Neighbour[]> {
    if (this.#set.count === 0 || k <= 0) return [];
    return this.#routing.nearest(vector, Math.min(k, this.#set.count), this.#readOnly || this.#closed || this.#mirrors.size > 0);
  }

  /**
   * A ticket that orders changes to one product by when they were requested, not by when their work finishes:
   * take it when the request arrives, pass it to `put`/`delete`.
   */
  takeSequence(): number {
    return this.#order.take();
  }

  /** Stores (or replaces) the product's vector; settles once durable. `applied` is false if a newer change won. */
  async put(id: number, vector: Float32Array, sequence = this.takeSequence()): Promise<{ applied: boolean }> {
    if (vector.length !== this.#options.dimensions) {
      throw new StoreError(`vector has ${vector.length} dimensions, the index ${this.#options.dimensions}`);
    }
    const commit = this.#writable();
    if (!this.#order.claim(id, sequence)) {
      // The newer change that won may not be on disk yet; this answer must not outrun it.
      await Promise.all([commit.allDurable, this.#mirrored()]);
      return { applied: false };
    }
    const record: JournalRecord = { op: "put", id, vector };
    this.#set.apply(record);
    this.#changes++;
    await Promise.all([commit.write(record), this.#mirrored()]);
    return { applied: true };
  }

  /** Removes the product's vector; settles once durable. `existed` says whether there was one. */
  async delete(id: number, sequence = this.takeSequence()): Promise<{ applied: boolean; existed: boolean }> {
    const commit = this.#writable();
    if (!this.#order.claim(id, sequence) || !this.#set.has(id)) {
      // Whatever decided the outcome (a newer change, or an earlier delete) may not be on disk yet.
      const outcome = { applied: this.#order.isLatest(id, sequence), existed: this.#set.has(id) };
      await Promise.all([commit.allDurable, this.#mirrored()]);
      return outcome;
    }
    const record: JournalRecord = { op: "delete", id };
    this.#set.apply(record);
    this.#changes++;
    await Promise.all([commit.write(record), this.#mirrored()]);
    return { applied: true, existed: true };
  }

  /**
   * Keeps a copy of the store's view on the thread at the other end of `port` (StoreMirror.attach there), for that
   * thread to search and read itself; from now on a write settles once the copy has it too. Close the feed when that
   * thread stops. That thread searches on a core of its own (an extra HTTP loop), so while it is mirrored this
   * store searches on its own thread, not the search threads, which would compete with it for the cores.
   */
  mirrorTo(port: MessagePort): MirrorFeed {
    if (this.#readOnly) throw new StoreError("a read-only store has no changes to mirror");
    const feed = new MirrorFeed(this.#set, port, () => this.#mirrors.delete(feed));
    this.#mirrors.add(feed);
    this.#set.onChange = (change) => {
      for (const mirror of this.#mirrors) mirror.send(change);
    };
    return feed;
  }

  stats(): StoreStats {
    const routing = this.#routing.stats();
    return {
      segments: this.#set.sealed.map((segment) => ({
        rows: segment.rows,
        live: this.#set.liveRowsOf(segment.number),
        graph: segment.graph !== null,
      })),
      mutableRows: this.#set.mutable.rows,
      seals: this.#maintenance?.seals ?? 0,
      merges: this.#maintenance?.merges ?? 0,
      searchesOnThreads: this.#set.searchesOnThreads,
      batchesOnThreads: routing.batches,
      searchThreadsRunning: routing.running,
      searchThreadsReady: routing.ready,
      searchThreads: routing.threads,
    };
  }

  /** Settles once no seal or merge is running and none is due: for benchmarks and tests. */
  async idle(): Promise<void> {
    await this.#maintenance?.idle();
  }

  /**
   * Waits for pending writes and refuses later changes. A seal or merge under way is abandoned: the journals still
   * hold what it was writing, and its half-written files are removed at the next open.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#routing.close();
    for (const mirror of this.#mirrors) mirror.close();
    await this.#maintenance?.close();
    await this.#lock?.release();
  }

  #mirrored(): Promise<unknown> {
    return this.#mirrors.size === 0 ? Promise.resolve() : Promise.all([...this.#mirrors].map((mirror) => mirror.caughtUp()));
  }

  #writable(): GroupCommit {
    if (this.#readOnly) throw new StoreError("the store was opened read-only");
    if (this.#closed || !this.#maintenance) throw new StoreError("the store is closed");
    return this.#maintenance.commit;
  }

  async #load(): Promise<void> {
    const { set, nextNumber } = await loadIndex(this.#options, this.#readOnly);
    this.#set = set;
    if (!this.#readOnly) this.#maintenance = await SegmentMaintenance.start(this.#options, set, nextNumber);
  }
}
