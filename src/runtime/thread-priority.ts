// Bulk work (the model, decoding) runs at a lower scheduling priority than the event loop: when every core is busy,
// a search's few milliseconds of routing go first instead of queueing behind a batch's threads. Linux keeps a nice
// value per thread, and threads inherit their creator's, so onnxruntime's pool started afterwards runs niced too.
import { readdirSync, readFileSync } from "node:fs";
import { libc } from "./libc.ts";

/** CFS gives a nice-5 thread about a third of a nice-0 thread's share when both want the CPU. */
export const BULK_THREAD_NICE = 5;
/**
 * The search threads: below the event loop, so that with every core searching it still takes requests in and answers
 * them at once (no thread sits idle waiting for it: 8 clients got 8% more searches a second on 100,000 products than
 * at nice 0, docs/performance.md), and above bulk work, which shoppers' searches go before.
 */
export const SEARCH_THREAD_NICE = 3;

const PRIO_PROCESS = 0;

/** Lowers the calling thread's priority (never raises it); best effort: a refusal leaves it as it was. */
export function lowerThisThreadPriority(nice = BULK_THREAD_NICE): void {
  try {
    const { gettid, setpriority } = libc();
    setpriority(PRIO_PROCESS, gettid(), nice);
  } catch {
    // No libc to call: the thread keeps the event loop's priority.
  }
}

/** Threads already lowered by lowerThreadsNamed. */
const lowered = new Set<number>();

/**
 * Lowers the priority of this process's threads whose names start with one of `prefixes`: threads that a library
 * runs bulk work on but that no niced thread started (sharp decodes on Bun's thread pool, "Bun Pool N"). Linux only;
 * best effort. Cheap enough to call after each piece of such work (~20 tiny reads of /proc), which catches threads
 * the pool starts later.
 */
export function lowerThreadsNamed(prefixes: readonly string[], nice = BULK_THREAD_NICE): void {
  try {
    const { setpriority } = libc();
    for (const entry of readdirSync("/proc/self/task")) {
      const tid = Number(entry);
      if (lowered.has(tid)) continue;
      const name = readFileSync(`/proc/self/task/${entry}/comm`, "utf8");
      if (!prefixes.some((prefix) => name.startsWith(prefix))) continue;
      setpriority(PRIO_PROCESS, tid, nice);
      lowered.add(tid);
    }
  } catch {
    // No /proc or no libc: those threads keep the priority they started with.
  }
}
