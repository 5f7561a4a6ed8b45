import { describe, expect, test } from "bun:test";
import { AppError } from "../../src/errors.ts";
import { TaskRegistry } from "../../src/tasks/task-registry.ts";
import { TaskRunner } from "../../src/tasks/task-runner.ts";
import { waitFor } from "../helpers/environment.ts";

const finished = (registry: TaskRegistry, taskId: string) =>
  waitFor(() => {
    const task = registry.get(taskId)!;
    return task.finished_at ? task : undefined;
  }, { timeoutMs: 5000, what: `task ${taskId}` });

describe("TaskRunner", () => {
  test("a task runs, reports progress and succeeds", async () => {
    const registry = new TaskRegistry();
    const runner = new TaskRunner(registry, { concurrency: 2 });
    const task = runner.submit(registry.create("embed_products", { productIds: [1, 2] }), async (context) => {
      expect(context.task.status).toBe("running");
      context.itemDone();
      context.itemDone();
      return { message: "all done" };
    });
    const done = await finished(registry, task.task_id);
    expect({ ...done, task_id: "", created_at: "", started_at: "", finished_at: "" }).toEqual({
      task_id: "",
      kind: "embed_products",
      status: "succeeded",
      product_id: null,
      product_ids: [1, 2],
      progress: { total: 2, done: 2, failed: 0 },
      errors: [],
      message: "all done",
      created_at: "",
      started_at: "",
      finished_at: "",
    });
  });

  test("one failed item is recorded; the task still succeeds if anything was done", async () => {
    const registry = new TaskRegistry();
    const runner = new TaskRunner(registry, { concurrency: 1 });
    const task = runner.submit(registry.create("embed_products", { productIds: [1, 2] }), async (context) => {
      context.itemDone();
      context.itemFailed(2, new AppError("PRODUCT_NOT_FOUND", 404, "product 2 not found in catalogue"));
    });
    const done = await finished(registry, task.task_id);
    expect([done.status, done.progress, done.errors]).toEqual([
      "succeeded",
      { total: 2, done: 1, failed: 1 },
      [{ product_id: 2, code: "PRODUCT_NOT_FOUND", message: "product 2 not found in catalogue" }],
    ]);
  });

  test("a task fails when nothing could be done, or when its work throws", async () => {
    const registry = new TaskRegistry();
    const runner = new TaskRunner(registry, { concurrency: 1 });
    const single = runner.submit(registry.create("embed_product", { productId: 9 }), async (context) => {
      context.itemFailed(9, new Error("boom"));
    });
    const thrown = runner.submit(registry.create("embed_catalog", {}), async () => {
      throw new AppError("CATALOG_UNAVAILABLE", 502, "catalogue answered 500");
    });
    expect((await finished(registry, single.task_id)).status).toBe("failed");
    const catalogTask = await finished(registry, thrown.task_id);
    expect([catalogTask.status, catalogTask.errors]).toEqual([
      "failed",
      [{ product_id: null, code: "CATALOG_UNAVAILABLE", message: "catalogue answered 500" }],
    ]);
  });

  test("shutdown fails queued tasks, lets running ones finish, and aborts them after the grace period", async () => {
    const registry = new TaskRegistry();
    const runner = new TaskRunner(registry, { concurrency: 1 });
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const longTask = runner.submit(registry.create("embed_catalog", {}), async (context) => {
      started();
      await new Promise((resolve) => context.signal.addEventListener("abort", resolve));
      context.itemDone();
      return { message: "stopped at shutdown" };
    });
    const queued = runner.submit(registry.create("embed_product", { productId: 1 }), async (context) => context.itemDone());
    await running;
    await runner.shutdown(50);
    expect(registry.get(longTask.task_id)!.status).toBe("succeeded");
    expect(registry.get(queued.task_id)!.status).toBe("failed");
    expect(registry.get(queued.task_id)!.message).toMatch(/shut down before this task started/);
  });
});

test("shutdown says at once to take no new work (stopping), and aborts in-flight work only after the grace period", async () => {
  const runner = new TaskRunner(new TaskRegistry(), { concurrency: 1 });
  const seen: string[] = [];
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  runner.submit(new TaskRegistry().create("embed_catalog", {}), async (context) => {
    started();
    await new Promise((resolve) => context.stopping.addEventListener("abort", resolve));
    seen.push(`stopping, signal aborted: ${context.signal.aborted}`);
    await new Promise((resolve) => context.signal.addEventListener("abort", resolve));
    seen.push("grace over");
  });
  await running;
  await runner.shutdown(50);
  expect(seen).toEqual(["stopping, signal aborted: false", "grace over"]);
});

describe("TaskRegistry", () => {
  test("lists newest first, filters by status, and forgets the oldest finished tasks past its limit", () => {
    const registry = new TaskRegistry(2);
    const tasks = [1, 2, 3, 4].map((id) => registry.create("embed_product", { productId: id }));
    expect(registry.list({ limit: 10 }).map((task) => task.product_id)).toEqual([4, 3, 2, 1]);
    for (const task of tasks.slice(0, 3)) registry.finish(task, "succeeded");
    expect(registry.get(tasks[0]!.task_id)).toBeUndefined();
    expect(registry.list({ limit: 10, status: "succeeded" }).map((task) => task.product_id)).toEqual([3, 2]);
    expect(registry.list({ limit: 1 }).map((task) => task.product_id)).toEqual([4]);
  });
});
