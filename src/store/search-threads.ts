// Searches of the sealed segments on worker threads, so the event loop never waits for a graph and concurrent
// searches use every core. Each thread maps the segment files itself (the page cache is shared: no copy on the heap)
// and answers with each segment's nearest rows, live or not; the store drops dead rows and adds what only it holds,
// the in-memory segments (segment-set.ts).
import { availableParallelism } from "node:os";
import { workerEntry } from "../runtime/standalone.ts";
import type { RowMatch, SegmentSource } from "./segment-file.ts";

const SEARCH_WORKER = workerEntry("store/search-worker.ts");

export interface ThreadSearch {
  /** Queries laid end to end. */
  queries: Float32Array;
  count: number;
  segments: { source: SegmentSource; wanted: number }[];
}

/** found[s][q]: the nearest rows of segment s to query q. */
export type SegmentMatches = RowMatch[][][];

export type SearchReply = { id: number; found: SegmentMatches } | { id: number; error: string };

interface Thread {
  worker: Worker;
  waiting: Map<number, { resolve: (found: SegmentMatches) => void; reject: (error: Error) => void }>;
}

export class SearchThreads {
  readonly #threads: Thread[];
  #nextId = 0;

  constructor(count = availableParallelism()) {
    this.#threads = Array.from({ length: count }, () => this.#start());
  }

  /** Runs on the thread with the fewest searches waiting; rejects if that thread fails. */
  search(request: ThreadSearch): Promise<SegmentMatches> {
    const thread = this.#threads.reduce((best, candidate) => (candidate.waiting.size < best.waiting.size ? candidate : best));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      // Referenced while it owes an answer: Bun serves an unreferenced worker's messages late, which halved the
      // throughput of two threads (2.1 against 1.2 ms a search on a million products); idle threads must still not
      // keep the process alive.
      if (thread.waiting.size === 0) thread.worker.ref();
      thread.waiting.set(id, { resolve, reject });
      thread.worker.postMessage({ id, ...request });
    });
  }

  close(): void {
    for (const thread of this.#threads) {
      thread.worker.terminate();
      this.#fail(thread, new Error("the search threads were closed"));
    }
  }

  #start(): Thread {
    const thread: Thread = { worker: new Worker(SEARCH_WORKER, { name: "search" }), waiting: new Map() };
    thread.worker.onmessage = (event: MessageEvent<SearchReply>) => {
      const reply = event.data;
      const waiter = thread.waiting.get(reply.id);
      thread.waiting.delete(reply.id);
      if (thread.waiting.size === 0) thread.worker.unref();
      if ("error" in reply) waiter?.reject(new Error(reply.error));
      else waiter?.resolve(reply.found);
    };
    thread.worker.onerror = (event) => {
      // A thread that died answers nothing more: fail what it held and start a new one in its place.
      this.#fail(thread, new Error(`a search thread failed: ${event.message}`));
      thread.worker.terminate();
      this.#threads[this.#threads.indexOf(thread)] = this.#start();
    };
    thread.worker.unref();
    return thread;
  }

  #fail(thread: Thread, error: Error): void {
    for (const waiter of thread.waiting.values()) waiter.reject(error);
    thread.waiting.clear();
    thread.worker.unref();
  }
}
