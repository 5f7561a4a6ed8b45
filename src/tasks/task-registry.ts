// What every background task is doing, kept in memory so clients can follow the work they started. Finished tasks
// are kept up to a limit, oldest forgotten first; a task lists at most 100 errors, so no record grows without bound.
import { randomUUID } from "node:crypto";
import type { ErrorCode } from "../errors.ts";

/** Every kind of task, in one list (the OpenAPI schema reads it too). */
export const TASK_KINDS = [
  "embed_product",
  "reembed_product",
  "delete_product",
  "embed_products",
  "embed_catalog",
  "migrate_index",
  "find_duplicates",
] as const;
export type TaskKind = (typeof TASK_KINDS)[number];
export type TaskStatus = "queued" | "running" | "succeeded" | "failed";

export interface TaskItemError {
  product_id: number | null;
  code: ErrorCode;
  message: string;
}

export interface Task {
  task_id: string;
  kind: TaskKind;
  status: TaskStatus;
  product_id: number | null;
  product_ids: number[] | null;
  progress: { total: number; done: number; failed: number };
  errors: TaskItemError[];
  /** Errors past MAX_ERRORS_PER_TASK: counted (in progress.failed too) but not listed. */
  errors_omitted: number;
  /** A sentence on the outcome, e.g. that a deleted product had no embedding. */
  message: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/**
 * Errors listed per task: enough to see what went wrong; a batch of 10,000 unknown ids would otherwise carry ~1 MB of
 * errors, and the list of tasks one such record per task.
 */
export const MAX_ERRORS_PER_TASK = 100;
/** Ids of a batch shown in the list of tasks; GET /tasks/{id} has them all. */
export const MAX_LISTED_PRODUCT_IDS = 100;

export interface TaskPage {
  /** Newest first. */
  tasks: Task[];
  /** Tasks kept that match the filter, on every page. */
  total: number;
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: number | null;
}

export class TaskRegistry {
  readonly #tasks = new Map<string, Task>();
  /** Creation order, for cursors that new tasks do not shift. */
  readonly #sequence = new Map<Task, number>();
  #nextSequence = 1;
  readonly #maxFinished: number;

  constructor(maxFinished = 1000) {
    this.#maxFinished = maxFinished;
  }

  create(kind: TaskKind, target: { productId?: number; productIds?: number[] }): Task {
    const task: Task = {
      task_id: randomUUID(),
      kind,
      status: "queued",
      product_id: target.productId ?? null,
      product_ids: target.productIds ?? null,
      progress: { total: target.productIds?.length ?? (target.productId === undefined ? 0 : 1), done: 0, failed: 0 },
      errors: [],
      errors_omitted: 0,
      message: null,
      created_at: new Date().toISOString(),
      started_at: null,
      finished_at: null,
    };
    this.#tasks.set(task.task_id, task);
    this.#sequence.set(task, this.#nextSequence++);
    return task;
  }

  get(taskId: string): Task | undefined {
    return this.#tasks.get(taskId);
  }

  /**
   * One page, newest first, starting after `cursor` (the nextCursor of the page before). A long batch shows its first
   * ids only.
   */
  list(options: { limit: number; status?: TaskStatus; cursor?: number }): TaskPage {
    const newestFirst = [...this.#tasks.values()].reverse();
    const matching = options.status ? newestFirst.filter((task) => task.status === options.status) : newestFirst;
    const { cursor } = options;
    const after = cursor === undefined ? matching : matching.filter((task) => this.#sequence.get(task)! < cursor);
    const page = after.slice(0, options.limit);
    const last = page.at(-1);
    return {
      tasks: page.map(listed),
      total: matching.length,
      nextCursor: last && after.length > page.length ? this.#sequence.get(last)! : null,
    };
  }

  /** Tasks waiting for their turn, oldest first. */
  queued(): Task[] {
    return [...this.#tasks.values()].filter((task) => task.status === "queued");
  }

  markRunning(task: Task): void {
    task.status = "running";
    task.started_at = new Date().toISOString();
  }

  recordFailure(task: Task, error: TaskItemError): void {
    task.progress.failed++;
    if (task.errors.length < MAX_ERRORS_PER_TASK) task.errors.push(error);
    else task.errors_omitted++;
  }

  finish(task: Task, status: "succeeded" | "failed", message?: string): void {
    task.status = status;
    task.finished_at = new Date().toISOString();
    if (message) task.message = message;
    this.#forgetOldFinished();
  }

  #forgetOldFinished(): void {
    let finished = 0;
    for (const task of this.#tasks.values()) if (task.finished_at) finished++;
    for (const [id, task] of this.#tasks) {
      if (finished <= this.#maxFinished) break;
      if (task.finished_at) {
        this.#tasks.delete(id);
        this.#sequence.delete(task);
        finished--;
      }
    }
  }
}

function listed(task: Task): Task {
  const ids = task.product_ids;
  return ids && ids.length > MAX_LISTED_PRODUCT_IDS ? { ...task, product_ids: ids.slice(0, MAX_LISTED_PRODUCT_IDS) } : task;
}
