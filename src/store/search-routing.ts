// Where a server's searches run (VectorStore.nearest): a search alone on the event loop, where it answers soonest (a
// thread's round trip costs more than it saves); searches that overlap it on the search threads, in batches, so the
// event loop goes on meanwhile and concurrent searches use every core (search-batches.ts, search-threads.ts).
import { SearchBatches } from "./search-batches.ts";
import { SearchThreads } from "./search-threads.ts";
import type { Neighbour, SegmentSet } from "./segment-set.ts";

export interface SearchRoutingStats {
  /** Batches sent to the threads. */
  batches: number;
  /** Threads running now (they stop when idle), those of them done starting, and how many there are (0 until a
   * search first needed them). */
  running: number;
  ready: number;
  threads: number;
}

export class SearchRouting {
  readonly #set: () => SegmentSet;
  /** The store's own search, on this thread. */
  readonly #searchHere: (vector: Float32Array, k: number) => Neighbour[];
  readonly #dimensions: number;
  readonly #idleStopMs: number;
  /** Started by the first search that overlaps another. */
  #threads: SearchThreads | null = null;
  #batches: SearchBatches | null = null;
  /** Searches under way. */
  #searching = 0;

  constructor(options: {
    set: () => SegmentSet;
    searchHere: (vector: Float32Array, k: number) => Neighbour[];
    dimensions: number;
    idleStopMs: number;
  }) {
    this.#set = options.set;
    this.#searchHere = options.searchHere;
    this.#dimensions = options.dimensions;
    this.#idleStopMs = options.idleStopMs;
  }

  /** The `k` nearest (1 <= k <= the stored count); `hereOnly`: never on the threads (a read-only or closing store). */
  async nearest(vector: Float32Array, k: number, hereOnly: boolean): Promise<Neighbour[]> {
    this.#searching++;
    try {
      if (hereOnly || this.#searching === 1 || !this.#threadsReady(vector, k)) {
        // Requests read in this turn of the event loop come in meanwhile, see this one, and take the threads.
        await new Promise((resolve) => setImmediate(resolve));
        return this.#searchHere(vector, k);
      }
      return await this.#batches!.nearest(vector, k);
    } finally {
      this.#searching--;
    }
  }

  stats(): SearchRoutingStats {
    return {
      batches: this.#batches?.batches ?? 0,
      running: this.#threads?.running ?? 0,
      ready: this.#threads?.ready ?? 0,
      threads: this.#threads?.size ?? 0,
    };
  }

  close(): void {
    this.#threads?.close();
  }

  /**
   * Whether every search thread takes a search at once. If not, those stopped (idle) are started, opening the
   * segments with a search of `vector` meanwhile: searches do not wait for that (~0.5 s on a million products, when
   * the first searches sent to starting threads waited 0.7-0.9 s), they are answered on this thread until then.
   */
  #threadsReady(vector: Float32Array, k: number): boolean {
    if (!this.#threads) {
      const threads = (this.#threads = new SearchThreads(undefined, this.#idleStopMs));
      this.#batches = new SearchBatches(this.#dimensions, threads.size, (queries, count, wanted) =>
        this.#set().searchOnThreads(queries, count, wanted, threads),
      );
    }
    if (this.#threads.ready === this.#threads.size) return true;
    this.#set().warmUp(vector.slice(), k, this.#threads);
    return false;
  }
}
