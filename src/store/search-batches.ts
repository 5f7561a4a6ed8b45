// Searches for the search threads, sent in batches: each thread holds at most two batches, the one it searches and
// the next (so it never sits idle while an answer and a new batch cross between threads: 1-3 ms each way under load
// on this VM, against 4-5 ms to search a batch of a million products), and the searches that arrive meanwhile wait
// here and go together in the next batch. A batch costs one message each way and one graph call per segment for all
// its queries: on a million products, 8 clients' searches cost the threads 2.0-2.1 ms of CPU each in batches against
// 2.2-2.3 one at a time (docs/performance.md).
import type { Neighbour } from "./segment-set.ts";

/** Enough to keep the threads busy under any load, few enough that a batch's last answer is not held up long. */
export const MAX_BATCH = 16;
/** The batch a thread searches and the one it takes next. */
const BATCHES_PER_THREAD = 2;

/** Searches `count` queries laid end to end in `queries` (which owns its buffer), `k` nearest each. */
export type BatchSearch = (queries: Float32Array, count: number, k: number) => Promise<Neighbour[][]>;

interface Waiting {
  vector: Float32Array;
  k: number;
  resolve: (neighbours: Neighbour[]) => void;
  reject: (error: unknown) => void;
}

export class SearchBatches {
  readonly #dimensions: number;
  readonly #threads: number;
  readonly #search: BatchSearch;
  readonly #waiting: Waiting[] = [];
  #running = 0;
  /** Batches sent, for stats: fewer than the searches when they overlapped. */
  batches = 0;

  constructor(dimensions: number, threads: number, search: BatchSearch) {
    this.#dimensions = dimensions;
    this.#threads = threads;
    this.#search = search;
  }

  nearest(vector: Float32Array, k: number): Promise<Neighbour[]> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ vector, k, resolve, reject });
      this.#send();
    });
  }

  #send(): void {
    while (this.#running < BATCHES_PER_THREAD * this.#threads && this.#waiting.length > 0) {
      // One k a batch, so an answer never depends on which searches it was batched with (a graph explores more for
      // a larger k).
      const { k } = this.#waiting[0]!;
      const batch: Waiting[] = [];
      for (let i = 0; i < this.#waiting.length && batch.length < MAX_BATCH; ) {
        if (this.#waiting[i]!.k === k) batch.push(...this.#waiting.splice(i, 1));
        else i++;
      }
      const queries = new Float32Array(batch.length * this.#dimensions);
      batch.forEach(({ vector }, q) => queries.set(vector, q * this.#dimensions));
      this.#running++;
      this.batches++;
      this.#search(queries, batch.length, k)
        .then(
          (answers) => batch.forEach(({ resolve }, q) => resolve(answers[q]!)),
          (error) => batch.forEach(({ reject }) => reject(error)),
        )
        .finally(() => {
          this.#running--;
          this.#send();
        });
    }
  }
}
