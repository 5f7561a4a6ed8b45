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
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { ChangeOrder } from "./change-order.ts";
import { type DataDirLock, lockDataDir } from "./data-dir-lock.ts";
import { GroupCommit } from "./group-commit.ts";
import { JournalWriter, type JournalRecord } from "./journal.ts";
import { chooseMerge, type MergePolicy } from "./merge-policy.ts";
import type { MutableSegment } from "./mutable-segment.ts";
import { DEFAULT_GRAPH, type GraphOptions, SealedSegment } from "./segment-file.ts";
import { SearchBatch } from "./search-batch.ts";
import { planMerge, planSeal, startSegmentJob } from "./segment-job.ts";
import type { Neighbour, SegmentSet } from "./segment-set.ts";
import { journalName, type Manifest, type SegmentEntry, segmentFileNames, staleFileNames, writeManifest } from "./store-files.ts";
import { loadIndex } from "./store-loading.ts";
import { StoreError } from "./store-error.ts";

export { StoreError };
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
}

/** Measured on 2048-d vectors (bench/exact-vs-graph.ts, docs/performance.md): the graph is faster from ~256 rows. */
export const EXACT_BELOW = 256;
export const SEAL_SIZE = 4096;
export const MERGE_FACTOR = 8;
export const SEAL_WHEN_IDLE_MS = 2000;
const MAX_DEAD_FRACTION = 0.3;
const READ_ONLY_ATTEMPTS = 5;
const SEAL_RETRY_MS = 1000;

type Settings = Required<Omit<StoreOptions, "graph">> & { graph: GraphOptions };

const nothing = () => {};

export class VectorStore {
  readonly #options: Settings;
  readonly #readOnly: boolean;
  #set!: SegmentSet;
  readonly #order = new ChangeOrder();
  #commit: GroupCommit | null = null;
  #lock: DataDirLock | null = null;
  #nextNumber = 1;
  /** The journal the manifest on disk replays from. */
  #manifestJournal = 0;
  #manifestWrites: Promise<void> = Promise.resolve();
  #sealing: Promise<void> | null = null;
  #sealJob: { cancel(): void } | null = null;
  #merging: { done: Promise<void>; cancel(): void } | null = null;
  /** Set when a merge failed: no other starts until the next seal (a damaged segment would fail every time). */
  #mergesPaused = false;
  #closed = false;
  #batch: SearchBatch | null = null;
  #idleSeal: ReturnType<typeof setTimeout> | null = null;
  #seals = 0;
  #merges = 0;

  private constructor(options: StoreOptions, readOnly: boolean) {
    this.#options = {
      sealSize: SEAL_SIZE,
      mergeFactor: MERGE_FACTOR,
      exactBelow: EXACT_BELOW,
      sealWhenIdleMs: SEAL_WHEN_IDLE_MS,
      warn: console.error,
      onSegmentWrite: nothing,
      ...options,
      graph: { ...DEFAULT_GRAPH, ...options.graph },
    };
    this.#readOnly = readOnly;
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
    store.#maybeMerge();
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
    if (this.#set.count === 0 || k <= 0) return [];
    return this.#set.search(ownBuffer(vector), 1, Math.min(k, this.#set.count), 1)[0]!;
  }

  /**
   * The same answer as `search`, for a server: searches asked in one turn of the event loop run together, spread
   * over every core.
   */
  async nearest(vector: Float32Array, k: number): Promise<Neighbour[]> {
    if (this.#set.count === 0 || k <= 0) return [];
    this.#batch ??= new SearchBatch(this.#options.dimensions, (queries, count, wanted, threads) =>
      this.#set.search(queries, count, Math.min(wanted, this.#set.count), threads),
    );
    return this.#batch.search(vector, k);
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
      await commit.allDurable;
      return { applied: false };
    }
    const record: JournalRecord = { op: "put", id, vector };
    this.#set.apply(record);
    await commit.write(record);
    return { applied: true };
  }

  /** Removes the product's vector; settles once durable. `existed` says whether there was one. */
  async delete(id: number, sequence = this.takeSequence()): Promise<{ applied: boolean; existed: boolean }> {
    const commit = this.#writable();
    if (!this.#order.claim(id, sequence) || !this.#set.has(id)) {
      // Whatever decided the outcome (a newer change, or an earlier delete) may not be on disk yet.
      const outcome = { applied: this.#order.isLatest(id, sequence), existed: this.#set.has(id) };
      await commit.allDurable;
      return outcome;
    }
    const record: JournalRecord = { op: "delete", id };
    this.#set.apply(record);
    await commit.write(record);
    return { applied: true, existed: true };
  }

  stats(): StoreStats {
    return {
      segments: this.#set.sealed.map((segment) => ({
        rows: segment.rows,
        live: this.#set.liveRowsOf(segment.number),
        graph: segment.graph !== null,
      })),
      mutableRows: this.#set.mutable.rows,
      seals: this.#seals,
      merges: this.#merges,
    };
  }

  /** Settles once no seal or merge is running and none is due: for benchmarks and tests. */
  async idle(): Promise<void> {
    await this.#commit?.drained();
    while (this.#sealing || this.#merging) {
      await Promise.allSettled([this.#sealing, this.#merging?.done]);
      await this.#manifestWrites;
      this.#maybeMerge();
    }
  }

  /**
   * Waits for pending writes and refuses later changes. A seal or merge under way is abandoned: the journals still
   * hold what it was writing, and its half-written files are removed at the next open.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#idleSeal) clearTimeout(this.#idleSeal);
    this.#merging?.cancel();
    this.#sealJob?.cancel();
    await this.#manifestWrites;
    await this.#commit?.close();
    await this.#lock?.release();
  }

  #writable(): GroupCommit {
    if (this.#readOnly) throw new StoreError("the store was opened read-only");
    if (this.#closed || !this.#commit) throw new StoreError("the store is closed");
    return this.#commit;
  }

  async #load(): Promise<void> {
    ({ set: this.#set, nextNumber: this.#nextNumber } = await loadIndex(this.#options, this.#readOnly));
    if (!this.#readOnly) await this.#startJournal();
  }

  /**
   * Starts a fresh journal holding what the replayed ones left in the mutable segment (they may end in a torn record,
   * which must not be appended to), lists it in a manifest and removes every file that manifest does not need.
   */
  async #startJournal(): Promise<void> {
    const dir = this.#options.dataDir;
    const number = this.#nextNumber++;
    const journal = await JournalWriter.create(join(dir, journalName(number)));
    const mutable = this.#set.mutable;
    const state: JournalRecord[] = [];
    for (let row = 0; row < mutable.rows; row++) {
      if (this.#set.isCurrent(mutable, row)) state.push({ op: "put", id: mutable.idAt(row), vector: mutable.vectorAt(row) });
    }
    for (const id of mutable.deletions) state.push({ op: "delete", id });
    if (state.length > 0) await journal.append(state);
    this.#manifestJournal = number;
    const manifest = this.#manifest();
    await writeManifest(dir, manifest);
    for (const name of staleFileNames(await readdir(dir), manifest)) {
      await rm(join(dir, name), { force: true });
    }
    this.#commit = new GroupCommit(journal, () => this.#sealIfDue(false));
    await this.#sealIfDue(false);
  }

  #manifest(): Omit<Manifest, "format" | "metric" | "savedAt"> {
    return {
      pipeline: this.#options.pipeline,
      dimensions: this.#options.dimensions,
      segments: this.#set.sealed.map(entryOf),
      journal: this.#manifestJournal,
      nextNumber: this.#nextNumber,
    };
  }

  /** Writes a manifest and applies its change in memory, one at a time (seals and merges finish independently). */
  #publish(change: () => Promise<void>): Promise<void> {
    const published = this.#manifestWrites.then(change);
    this.#manifestWrites = published.catch(() => {});
    return published;
  }

  /**
   * Runs inside the group-commit loop, between journal writes: freezes the mutable segment and seals it when it is
   * full, or (`idle`) when it holds any change and no seal is under way.
   */
  async #sealIfDue(idle: boolean): Promise<void> {
    const changes = this.#set.mutable.changes;
    if (!idle) this.#armIdleSeal();
    if (this.#closed || changes === 0 || (idle ? this.#sealing !== null : changes < this.#options.sealSize)) return;
    // One seal at a time: if the previous one is still writing, the journal waits (bounding memory to two segments).
    while (this.#sealing) await this.#sealing;
    // Changes applied from here on go to the new mutable segment; their records, written after this returns, to
    // the new journal. (Records of the frozen segment still waiting to be written go there too: replaying them over
    // the sealed segment sets what it already holds.)
    const frozen = this.#set.freeze(this.#nextNumber++);
    const journalNumber = this.#nextNumber++;
    const journal = await JournalWriter.create(join(this.#options.dataDir, journalName(journalNumber)));
    await this.#commit!.switchJournal(journal).close();
    this.#sealing = this.#seal(frozen, journalNumber).finally(() => {
      this.#sealing = null;
      this.#sealJob = null;
      this.#mergesPaused = false;
      this.#maybeMerge(idle);
    });
  }

  #armIdleSeal(): void {
    if (!this.#options.sealWhenIdleMs) return;
    if (this.#idleSeal) clearTimeout(this.#idleSeal);
    this.#idleSeal = setTimeout(() => {
      // Busy writing: the next batch arms the timer again.
      this.#commit?.runIfIdle(() => this.#sealIfDue(true));
    }, this.#options.sealWhenIdleMs);
    this.#idleSeal.unref();
  }

  async #seal(frozen: MutableSegment, journalNumber: number): Promise<void> {
    const { dataDir: dir, dimensions } = this.#options;
    const { job, rows } = planSeal(this.#set, frozen, this.#options);
    let orphans = 0;
    for (;;) {
      if (this.#closed) return;
      try {
        const running = startSegmentJob(job, () => this.#options.onSegmentWrite("seal"));
        this.#sealJob = running;
        ({ orphans } = await running.done);
        break;
      } catch (error) {
        if (this.#closed) return;
        this.#options.warn(`sealing segment ${frozen.number} failed, retrying; the journal keeps every change: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, SEAL_RETRY_MS));
      }
    }
    await this.#publish(async () => {
      if (this.#closed) return;
      const entry = { number: frozen.number, rows: rows.length, hasGraph: job.graph !== null, orphans };
      const output = SealedSegment.open(dir, entry, dimensions, this.#options.graph);
      const previousJournal = this.#manifestJournal;
      this.#manifestJournal = journalNumber;
      await writeManifest(dir, { ...this.#manifest(), segments: [...this.#set.sealed.map(entryOf), entryOf(output)] });
      this.#set.replace([frozen], output, rows.map((row) => ({ segment: frozen.number, row })));
      this.#seals++;
      for (let number = previousJournal; number < journalNumber; number++) await rm(join(dir, journalName(number)), { force: true });
    });
  }

  /** Starts the merge the policy asks for, if any and none is running. */
  #maybeMerge(atRest = false): void {
    if (this.#readOnly || this.#closed || this.#merging || this.#mergesPaused) return;
    const { sealSize, mergeFactor: factor, exactBelow, dimensions, dataDir: dir } = this.#options;
    const policy: MergePolicy = { sealSize, factor, maxDeadFraction: MAX_DEAD_FRACTION };
    const sealed = this.#set.sealed;
    const choice = chooseMerge(
      sealed.map((segment) => ({
        rows: segment.rows,
        live: this.#set.liveRowsOf(segment.number),
        lacksGraph: segment.rows >= exactBelow && segment.graph === null,
      })),
      policy,
      atRest,
    );
    if (!choice) return;
    const inputs = sealed.slice(choice.first, choice.last + 1);
    const number = this.#nextNumber++;
    const { job, origins } = planMerge(this.#set, inputs, choice.first === 0, number, this.#options);
    const ids = job.ids;
    const running = startSegmentJob(job, () => this.#options.onSegmentWrite("merge"));
    const done = running.done
      .then(({ orphans }) =>
        this.#publish(async () => {
          if (this.#closed) return;
          const entry = { number, rows: ids.length, hasGraph: job.graph !== null, orphans };
          const output = SealedSegment.open(dir, entry, dimensions, this.#options.graph);
          const entries = this.#set.sealed.map(entryOf);
          const at = entries.findIndex((entry) => entry.number === inputs[0]!.number);
          entries.splice(at, inputs.length, entryOf(output));
          await writeManifest(dir, { ...this.#manifest(), segments: entries });
          this.#set.replace(inputs, output, origins);
          this.#merges++;
          for (const input of inputs) {
            for (const name of segmentFileNames(input.number)) await rm(join(dir, name), { force: true });
          }
        }),
      )
      .then(
        () => {
          this.#merging = null;
          this.#maybeMerge();
        },
        (error) => {
          this.#merging = null;
          if (this.#closed) return;
          this.#mergesPaused = true;
          this.#options.warn(`merging segments failed; they stay as they are: ${(error as Error).message}`);
        },
      );
    this.#merging = { done, cancel: running.cancel };
  }
}

function entryOf(segment: SealedSegment): SegmentEntry {
  return { number: segment.number, rows: segment.rows, hasGraph: segment.hasGraphFile, orphans: segment.orphans };
}

/**
 * USearch's exact search reads a typed array from the start of its buffer, ignoring a view's offset: a view (stored
 * vectors are views into mapped files) is copied out before it is handed over.
 */
function ownBuffer(vector: Float32Array): Float32Array {
  return vector.byteOffset === 0 && vector.buffer.byteLength === vector.byteLength ? vector : vector.slice();
}
