// Group commit: changes apply in memory at once and reach the journal through one loop that writes whatever has
// gathered since its last write, in one append and one fsync; each change's promise settles when it is durable.
import type { JournalRecord, JournalWriter } from "./journal.ts";

export class GroupCommit {
  #journal: JournalWriter;
  readonly #afterBatch: () => Promise<void>;
  #unwritten: { record: JournalRecord; resolve: () => void; reject: (error: unknown) => void }[] = [];
  #allDurable: Promise<void> = Promise.resolve();
  #writing: Promise<void> | null = null;

  /** `afterBatch` runs inside the loop after each write, where the journal may be switched (a seal starting). */
  constructor(journal: JournalWriter, afterBatch: () => Promise<void>) {
    this.#journal = journal;
    this.#afterBatch = afterBatch;
  }

  /** Settles when every change written so far is on disk (never rejects: a failure is reported to its change). */
  get allDurable(): Promise<void> {
    return this.#allDurable;
  }

  write(record: JournalRecord): Promise<void> {
    const durable = new Promise<void>((resolve, reject) => this.#unwritten.push({ record, resolve, reject }));
    this.#allDurable = durable.catch(() => {});
    this.#writing ??= this.#loop();
    return durable;
  }

  /** From `afterBatch` only: later batches go to `next`. Returns the journal written until now, to close. */
  switchJournal(next: JournalWriter): JournalWriter {
    const previous = this.#journal;
    this.#journal = next;
    return previous;
  }

  /**
   * Runs `task` now if nothing is being written (where `afterBatch` would run: the journal may be switched), holding
   * later writes until it is done; false, doing nothing, if the loop is busy.
   */
  runIfIdle(task: () => Promise<void>): boolean {
    if (this.#writing) return false;
    this.#writing = task().finally(() => {
      this.#writing = this.#unwritten.length > 0 ? this.#loop() : null;
    });
    return true;
  }

  /** Settles when the loop has nothing left to write (and `afterBatch` has returned). */
  async drained(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  /** Waits for every pending write, then closes the journal. */
  async close(): Promise<void> {
    await this.drained();
    await this.#journal.close();
  }

  async #loop(): Promise<void> {
    // Let the other changes of this event-loop turn join the first write.
    await new Promise((resolve) => setImmediate(resolve));
    try {
      while (this.#unwritten.length > 0) {
        const batch = this.#unwritten.splice(0);
        try {
          await this.#journal.append(batch.map((item) => item.record));
          for (const item of batch) item.resolve();
        } catch (error) {
          for (const item of batch) item.reject(error);
        }
        await this.#afterBatch();
      }
    } finally {
      this.#writing = null;
    }
  }
}
