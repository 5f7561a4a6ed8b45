// Bulk work (the model, decoding) runs at a lower scheduling priority than the event loop: when every core is busy,
// a search's few milliseconds of routing go first instead of queueing behind a batch's threads. Linux keeps a nice
// value per thread, and threads inherit their creator's, so onnxruntime's pool started afterwards runs niced too.
import { libc } from "./libc.ts";

/** CFS gives a nice-5 thread about a third of a nice-0 thread's share when both want the CPU. */
export const BULK_THREAD_NICE = 5;

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
