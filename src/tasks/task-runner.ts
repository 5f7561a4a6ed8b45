// Runs background tasks a few at a time on an in-process queue and keeps their status in the registry. Work
// functions report per-product outcomes; a failure inside a task is recorded on it and never reaches HTTP.
import PQueue from "p-queue";
import type { Reservation } from "../admission.ts";
import { describeError } from "../errors.ts";
import { type ServiceObserver, secondsSince, silentObserver } from "../observability/observer.ts";
import type { Task, TaskRegistry } from "./task-registry.ts";

export interface TaskContext {
  readonly task: Task;
  /** Aborted as soon as shutdown starts: take no new products; those in flight go on. */
  readonly stopping: AbortSignal;
  /** Aborted when the grace period is over: what is still in flight is cut off. */
  readonly signal: AbortSignal;
  addToTotal(count: number): void;
  itemDone(): void;
  itemFailed(productId: number | null, error: unknown): void;
}

/** What a finished work function may say about its outcome. */
export interface TaskOutcome {
  message?: string;
}

export type TaskWork = (context: TaskContext) => Promise<TaskOutcome | void>;

export class TaskRunner {
  readonly registry: TaskRegistry;
  readonly #queue: PQueue;
  readonly #stopping = new AbortController();
  readonly #shutdown = new AbortController();
  readonly #observer: Pick<ServiceObserver, "taskStarted" | "taskFinished">;
  #shuttingDown: Promise<void> | null = null;

  constructor(
    registry: TaskRegistry,
    options: { concurrency: number; observer?: Pick<ServiceObserver, "taskStarted" | "taskFinished"> },
  ) {
    this.registry = registry;
    this.#queue = new PQueue({ concurrency: options.concurrency });
    this.#observer = options.observer ?? silentObserver;
  }

  /**
   * Queues the work; single-product tasks go ahead of catalogue-wide ones. The task's admission `reservation` is given
   * back a product at a time as they finish, and whatever is left when the task ends.
   */
  submit(task: Task, work: TaskWork, options: { priority?: number; reservation?: Reservation } = {}): Task {
    void this.#queue.add(() => this.#run(task, work, options.reservation), { priority: options.priority ?? 0 });
    return task;
  }

  /** Tasks queued or running. */
  get pending(): number {
    return this.#queue.size + this.#queue.pending;
  }

  /**
   * Takes no new tasks, fails the queued ones (their status is in memory and would be lost anyway), tells running ones
   * to take no new products and lets those in flight finish for up to `graceMs`, then aborts them; what they stored
   * before that stays stored. Settles as soon as the running tasks have returned. Calling it again waits the same.
   */
  shutdown(graceMs: number): Promise<void> {
    this.#shuttingDown ??= this.#shutDown(graceMs);
    return this.#shuttingDown;
  }

  async #shutDown(graceMs: number): Promise<void> {
    this.#stopping.abort(new Error("the service shut down before this product was processed; submit it again"));
    this.#queue.pause();
    this.#queue.clear();
    for (const task of this.registry.queued()) {
      this.registry.finish(task, "failed", "the service shut down before this task started; submit it again");
      this.#observer.taskFinished(task, 0);
    }
    const timer = setTimeout(() => this.#shutdown.abort(new Error("the service is shutting down")), graceMs);
    await this.#queue.onPendingZero();
    clearTimeout(timer);
  }

  async #run(task: Task, work: TaskWork, reservation: Reservation | undefined): Promise<void> {
    const { registry } = this;
    registry.markRunning(task);
    const startedAt = performance.now();
    this.#observer.taskStarted(task);
    const context: TaskContext = {
      task,
      stopping: this.#stopping.signal,
      signal: this.#shutdown.signal,
      addToTotal: (count) => {
        task.progress.total += count;
      },
      itemDone: () => {
        task.progress.done++;
        reservation?.release();
      },
      itemFailed: (productId, error) => {
        registry.recordFailure(task, { product_id: productId, ...describeError(error) });
        reservation?.release();
      },
    };
    try {
      const outcome = await work(context);
      // A task fails when nothing it was asked to do could be done; partial failures are listed on it.
      const nothingDone = task.progress.failed > 0 && task.progress.done === 0;
      registry.finish(task, nothingDone ? "failed" : "succeeded", outcome?.message);
    } catch (error) {
      registry.recordFailure(task, { product_id: task.product_id, ...describeError(error) });
      registry.finish(task, "failed");
    } finally {
      reservation?.releaseAll();
    }
    this.#observer.taskFinished(task, secondsSince(startedAt));
  }
}
