// Searches of the sealed segments on worker threads, so the event loop never waits for a graph and concurrent
// searches use every core. Each thread maps the segment files itself (the page cache is shared: no copy on the heap)
// and answers with each segment's nearest rows, live or not; the store drops dead rows and adds what only it holds,
// the in-memory segments (segment-set.ts).
import { availableParallelism } from "node:os";
import { workerEntry } from "../runtime/standalone.ts";
import type { RowMatch, SegmentSource } from "./segment-file.ts";

const SEARCH_WORKER = workerEntry("store/search-worker.ts");
/** The search threads' name, as the OS shows it (and per-thread CPU accounting reads it). */
export const SEARCH_THREAD_NAME = "search";
/**
 * A thread idle this long is stopped, and started again when needed. Its JS heap and its own mappings of the segments
 * go with it: every mapping of a page is one more entry for the kernel's memory monitor to test and clear (DAMON on
 * this VM took 13-19% of a core during sequential searches of a million products while the threads' mappings were
 * alive, 3-4% once they had stopped; docs/performance.md).
 */
export const IDLE_STOP_MS = 10_000;

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
  /** Null while stopped. */
  worker: Worker | null;
  waiting: Map<number, { resolve: (found: SegmentMatches) => void; reject: (error: Error) => void }>;
  idleTimer: ReturnType<typeof setTimeout> | null;
  /** Has answered since it started: it has loaded and opened the segments, and takes a search at once. */
  ready: boolean;
}

export class SearchThreads {
  readonly #threads: Thread[];
  readonly #idleStopMs: number;
  #nextId = 0;

  constructor(count = availableParallelism(), idleStopMs = IDLE_STOP_MS) {
    this.#threads = Array.from({ length: count }, () => ({ worker: null, waiting: new Map(), idleTimer: null, ready: false }));
    this.#idleStopMs = idleStopMs;
  }

  get size(): number {
    return this.#threads.length;
  }

  /** Threads running now (the others were idle long enough to be stopped, or never needed). */
  get running(): number {
    return this.#threads.filter((thread) => thread.worker !== null).length;
  }

  /** Threads that take a search at once (running, and done starting). */
  get ready(): number {
    return this.#threads.filter((thread) => thread.ready).length;
  }

  /**
   * Starts each thread that is stopped, and has it search `request` (the answer dropped), which opens the segments:
   * on a million products that takes ~0.5 s, which searches sent later then do not wait for. A thread already
   * starting or ready is left alone.
   */
  warmUp(request: ThreadSearch): void {
    for (const thread of this.#threads) {
      if (!thread.ready && thread.waiting.size === 0) this.#send(thread, request).catch(() => {});
    }
  }

  /** Runs on the thread with the fewest searches waiting; rejects if that thread fails. */
  search(request: ThreadSearch): Promise<SegmentMatches> {
    return this.#send(this.#threads.reduce((best, candidate) => (candidate.waiting.size < best.waiting.size ? candidate : best)), request);
  }

  #send(thread: Thread, request: ThreadSearch): Promise<SegmentMatches> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      if (thread.idleTimer) clearTimeout(thread.idleTimer);
      thread.idleTimer = null;
      const worker = (thread.worker ??= this.#start(thread));
      // Referenced while it owes an answer: Bun serves an unreferenced worker's messages late, which halved the
      // throughput of two threads (2.1 against 1.2 ms a search on a million products); idle threads must still not
      // keep the process alive.
      if (thread.waiting.size === 0) worker.ref();
      thread.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, ...request });
    });
  }

  close(): void {
    for (const thread of this.#threads) {
      this.#stop(thread);
      this.#fail(thread, new Error("the search threads were closed"));
    }
  }

  #start(thread: Thread): Worker {
    const worker = new Worker(SEARCH_WORKER, { name: SEARCH_THREAD_NAME });
    worker.onmessage = (event: MessageEvent<SearchReply>) => {
      const reply = event.data;
      thread.ready = true;
      const waiter = thread.waiting.get(reply.id);
      thread.waiting.delete(reply.id);
      if (thread.waiting.size === 0) this.#rest(thread);
      if ("error" in reply) waiter?.reject(new Error(reply.error));
      else waiter?.resolve(reply.found);
    };
    worker.onerror = (event) => {
      // A thread that died answers nothing more: fail what it held; the next search starts a new one.
      this.#stop(thread);
      this.#fail(thread, new Error(`a search thread failed: ${event.message}`));
    };
    return worker;
  }

  /** Nothing waits on the thread: it no longer keeps the process alive, and stops if nothing comes for a while. */
  #rest(thread: Thread): void {
    thread.worker?.unref();
    thread.idleTimer = setTimeout(() => this.#stop(thread), this.#idleStopMs);
    thread.idleTimer.unref();
  }

  #stop(thread: Thread): void {
    if (thread.idleTimer) clearTimeout(thread.idleTimer);
    thread.idleTimer = null;
    thread.worker?.terminate();
    thread.worker = null;
    thread.ready = false;
  }

  #fail(thread: Thread, error: Error): void {
    for (const waiter of thread.waiting.values()) waiter.reject(error);
    thread.waiting.clear();
  }
}
