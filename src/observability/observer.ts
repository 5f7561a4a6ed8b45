// What the core reports as it works, for metrics and logs. The core calls these hooks and knows nothing of what
// listens: src/observability/metrics.ts counts, src/observability/task-log.ts writes log lines.
import type { ErrorCode } from "../errors.ts";
import type { Task } from "../tasks/task-registry.ts";

export interface ServiceObserver {
  /** One model run over `size` photos took `seconds`. */
  modelBatch(size: number, seconds: number): void;
  /** One nearest-neighbour search in the index took `seconds`. */
  search(seconds: number): void;
  /** A catalogue request for a product or a page failed for good (after its retries). */
  catalogError(code: ErrorCode): void;
  taskStarted(task: Task): void;
  /** The task has its final status; `seconds` since it started (0 if it never ran). */
  taskFinished(task: Task, seconds: number): void;
}

export const silentObserver: ServiceObserver = {
  modelBatch() {},
  search() {},
  catalogError() {},
  taskStarted() {},
  taskFinished() {},
};

/** One observer that tells each of `observers` (each may listen to a few hooks only). */
export function combineObservers(...observers: Partial<ServiceObserver>[]): ServiceObserver {
  return {
    modelBatch: (size, seconds) => observers.forEach((observer) => observer.modelBatch?.(size, seconds)),
    search: (seconds) => observers.forEach((observer) => observer.search?.(seconds)),
    catalogError: (code) => observers.forEach((observer) => observer.catalogError?.(code)),
    taskStarted: (task) => observers.forEach((observer) => observer.taskStarted?.(task)),
    taskFinished: (task, seconds) => observers.forEach((observer) => observer.taskFinished?.(task, seconds)),
  };
}

/** Seconds since `startedAt` (a performance.now() reading). */
export function secondsSince(startedAt: number): number {
  return (performance.now() - startedAt) / 1000;
}
