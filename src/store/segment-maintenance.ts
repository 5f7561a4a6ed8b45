// Keeping the segments in shape, in the background: sealing the mutable segment when it is full (or the store is idle),
// merging neighbours the merge policy picks, and publishing each result through a new manifest before the files it
// replaces are removed. Runs beside the group-commit loop, which it owns: a seal switches the journal between writes.
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { GroupCommit } from "./group-commit.ts";
import { JournalWriter, type JournalRecord } from "./journal.ts";
import { chooseMerge, type MergePolicy } from "./merge-policy.ts";
import type { MutableSegment } from "./mutable-segment.ts";
import { type GraphOptions, SealedSegment } from "./segment-file.ts";
import { planMerge, planSeal, startSegmentJob } from "./segment-job.ts";
import type { SegmentSet } from "./segment-set.ts";
import { journalName, type Manifest, type SegmentEntry, segmentFileNames, staleFileNames, writeManifest } from "./store-files.ts";

const MAX_DEAD_FRACTION = 0.3;
const SEAL_RETRY_MS = 1000;

export interface MaintenanceSettings {
  dataDir: string;
  dimensions: number;
  pipeline: string;
  sealSize: number;
  mergeFactor: number;
  exactBelow: number;
  sealWhenIdleMs: number;
  graph: GraphOptions;
  warn: (message: string) => void;
  onSegmentWrite: (kind: "seal" | "merge") => void;
}

export class SegmentMaintenance {
  readonly #options: MaintenanceSettings;
  readonly #set: SegmentSet;
  /** Journal writes; a seal switches its journal. */
  commit!: GroupCommit;
  #nextNumber: number;
  /** The journal the manifest on disk replays from. */
  #manifestJournal = 0;
  #manifestWrites: Promise<void> = Promise.resolve();
  #sealing: Promise<void> | null = null;
  #sealJob: { cancel(): void } | null = null;
  #merging: { done: Promise<void>; cancel(): void } | null = null;
  /** Set when a merge failed: no other starts until the next seal (a damaged segment would fail every time). */
  #mergesPaused = false;
  #closed = false;
  #idleSeal: ReturnType<typeof setTimeout> | null = null;
  /** No change for `sealWhenIdleMs`: merges at rest run one after another until the next change. */
  #atRest = false;
  /** Seals and merges finished since the store opened. */
  seals = 0;
  merges = 0;

  private constructor(options: MaintenanceSettings, set: SegmentSet, nextNumber: number) {
    this.#options = options;
    this.#set = set;
    this.#nextNumber = nextNumber;
  }

  /** Takes over a freshly loaded index: a new journal and manifest, then whatever seal or merge is due. */
  static async start(options: MaintenanceSettings, set: SegmentSet, nextNumber: number): Promise<SegmentMaintenance> {
    const maintenance = new SegmentMaintenance(options, set, nextNumber);
    await maintenance.#startJournal();
    maintenance.#maybeMerge();
    // An index opened and left alone comes to rest too (one that was closed before its merges at rest were done).
    maintenance.#armIdleSeal();
    return maintenance;
  }

  /** Settles once no seal or merge is running and none is due. */
  async idle(): Promise<void> {
    await this.commit.drained();
    while (this.#sealing || this.#merging) {
      await Promise.allSettled([this.#sealing, this.#merging?.done]);
      await this.#manifestWrites;
      this.#maybeMerge();
    }
  }

  /** Abandons a seal or merge under way (the journals still hold its changes), then closes the journal. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#idleSeal) clearTimeout(this.#idleSeal);
    this.#merging?.cancel();
    this.#sealJob?.cancel();
    await this.#manifestWrites;
    await this.commit.close();
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
    this.commit = new GroupCommit(journal, () => this.#sealIfDue(false));
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
    this.#atRest = idle;
    if (!idle) this.#armIdleSeal();
    else if (changes === 0) this.#maybeMerge();
    if (this.#closed || changes === 0 || (idle ? this.#sealing !== null : changes < this.#options.sealSize)) return;
    // One seal at a time: if the previous one is still writing, the journal waits (bounding memory to two segments).
    while (this.#sealing) await this.#sealing;
    // Changes applied from here on go to the new mutable segment; their records, written after this returns, to
    // the new journal. (Records of the frozen segment still waiting to be written go there too: replaying them over
    // the sealed segment sets what it already holds.)
    const frozen = this.#set.freeze(this.#nextNumber++);
    const journalNumber = this.#nextNumber++;
    const journal = await JournalWriter.create(join(this.#options.dataDir, journalName(journalNumber)));
    await this.commit.switchJournal(journal).close();
    this.#sealing = this.#seal(frozen, journalNumber).finally(() => {
      this.#sealing = null;
      this.#sealJob = null;
      this.#mergesPaused = false;
      this.#maybeMerge();
    });
  }

  #armIdleSeal(): void {
    if (!this.#options.sealWhenIdleMs) return;
    if (this.#idleSeal) clearTimeout(this.#idleSeal);
    this.#idleSeal = setTimeout(() => {
      // Busy writing: the next batch arms the timer again.
      this.commit.runIfIdle(() => this.#sealIfDue(true));
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
      this.#set.replace([frozen.number], output, rows.map((row) => ({ segment: frozen.number, row })));
      this.seals++;
      for (let number = previousJournal; number < journalNumber; number++) await rm(join(dir, journalName(number)), { force: true });
    });
  }

  /** Starts the merge the policy asks for, if any and none is running. */
  #maybeMerge(): void {
    if (this.#closed || this.#merging || this.#mergesPaused) return;
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
      this.#atRest,
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
          this.#set.replace(inputs.map((input) => input.number), output, origins);
          this.merges++;
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
