// What every background task is doing, kept in memory so clients can follow the work they started. Finished tasks
// are kept up to a limit, oldest forgotten first.
import { randomUUID } from "node:crypto";
import type { ErrorCode } from "../errors.ts";

export type TaskKind =
  | "embed_product"
  | "reembed_product"
  | "delete_product"
  | "embed_products"
  | "embed_catalog"
  | "migrate_index";
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
  /** A sentence on the outcome, e.g. that a deleted product had no embedding. */
  message: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/** Errors kept per task: a catalogue-wide task with thousands of broken photos should not grow without bound. */
export const MAX_ERRORS_PER_TASK = 1000;

export class TaskRegistry {
  readonly #tasks = new Map<string, Task>();
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
      message: null,
      created_at: new Date().toISOString(),
      started_at: null,
      finished_at: null,
    };
    this.#tasks.set(task.task_id, task);
    return task;
  }

  get(taskId: string): Task | undefined {
    return this.#tasks.get(taskId);
  }

  /** Newest first. */
  list(options: { limit: number; status?: TaskStatus }): Task[] {
    const newestFirst = [...this.#tasks.values()].reverse();
    const matching = options.status ? newestFirst.filter((task) => task.status === options.status) : newestFirst;
    return matching.slice(0, options.limit);
  }

  markRunning(task: Task): void {
    task.status = "running";
    task.started_at = new Date().toISOString();
  }

  recordFailure(task: Task, error: TaskItemError): void {
    task.progress.failed++;
    if (task.errors.length < MAX_ERRORS_PER_TASK) task.errors.push(error);
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
        finished--;
      }
    }
  }
}
