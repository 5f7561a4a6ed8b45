import { describe, expect, test } from "bun:test";
import { Admission } from "../../src/admission.ts";
import { AppError } from "../../src/errors.ts";
import { MAX_ERRORS_PER_TASK, MAX_LISTED_PRODUCT_IDS, TaskRegistry } from "../../src/tasks/task-registry.ts";
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
      errors_omitted: 0,
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

  test("a task keeps its first 100 errors and counts the rest", async () => {
    const registry = new TaskRegistry();
    const runner = new TaskRunner(registry, { concurrency: 1 });
    const ids = Array.from({ length: 250 }, (_, i) => i + 1);
    const task = runner.submit(registry.create("embed_products", { productIds: ids }), async (context) => {
      for (const id of ids) context.itemFailed(id, new AppError("PRODUCT_NOT_FOUND", 404, `product ${id} not found`));
    });
    const done = await finished(registry, task.task_id);
    expect(MAX_ERRORS_PER_TASK).toBe(100);
    expect([done.progress, done.errors.length, done.errors_omitted, done.errors.at(-1)]).toEqual([
      { total: 250, done: 0, failed: 250 },
      100,
      150,
      { product_id: 100, code: "PRODUCT_NOT_FOUND", message: "product 100 not found" },
    ]);
  });

  test("a task's admission is given back as its products finish, and in full when it ends", async () => {
    const admission = new Admission({ capacity: 3, name: "queued products", setting: "MAX_QUEUED_PRODUCTS" });
    const registry = new TaskRegistry();
    const runner = new TaskRunner(registry, { concurrency: 1 });
    const seen: number[] = [];
    const task = runner.submit(
      registry.create("embed_products", { productIds: [1, 2, 3] }),
      async (context) => {
        seen.push(admission.inUse);
        context.itemDone();
        seen.push(admission.inUse);
        context.itemFailed(2, new Error("broken"));
        seen.push(admission.inUse);
        // the third product is never reported: the end of the task gives it back
      },
      { reservation: admission.reserve(3) },
    );
    await finished(registry, task.task_id);
    expect([...seen, admission.inUse]).toEqual([3, 2, 1, 0]);
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
  const productIds = (page: { tasks: { product_id: number | null }[] }) => page.tasks.map((task) => task.product_id);

  test("lists newest first, filters by status, and forgets the oldest finished tasks past its limit", () => {
    const registry = new TaskRegistry(2);
    const tasks = [1, 2, 3, 4].map((id) => registry.create("embed_product", { productId: id }));
    expect(productIds(registry.list({ limit: 10 }))).toEqual([4, 3, 2, 1]);
    for (const task of tasks.slice(0, 3)) registry.finish(task, "succeeded");
    expect(registry.get(tasks[0]!.task_id)).toBeUndefined();
    expect(productIds(registry.list({ limit: 10, status: "succeeded" }))).toEqual([3, 2]);
    expect(productIds(registry.list({ limit: 1 }))).toEqual([4]);
  });

  test("pages with a cursor that new tasks do not shift: no task is listed twice or skipped", () => {
    const registry = new TaskRegistry();
    for (const id of [1, 2, 3, 4, 5]) registry.create("embed_product", { productId: id });
    const first = registry.list({ limit: 2 });
    expect([productIds(first), first.total]).toEqual([[5, 4], 5]);
    registry.create("embed_product", { productId: 6 }); // arrives between two pages
    const second = registry.list({ limit: 2, cursor: first.nextCursor! });
    expect([productIds(second), second.total]).toEqual([[3, 2], 6]);
    const last = registry.list({ limit: 2, cursor: second.nextCursor! });
    expect([productIds(last), last.nextCursor]).toEqual([[1], null]);
    expect(registry.list({ limit: 6 }).nextCursor).toBe(null); // a last page that is exactly full
  });

  test("the list shows the first 100 ids of a long batch; the task itself keeps them all", () => {
    const registry = new TaskRegistry();
    const ids = Array.from({ length: 250 }, (_, i) => i + 1);
    const task = registry.create("embed_products", { productIds: ids });
    expect(MAX_LISTED_PRODUCT_IDS).toBe(100);
    expect(registry.list({ limit: 1 }).tasks[0]!.product_ids).toEqual(ids.slice(0, 100));
    expect(registry.get(task.task_id)!.product_ids).toEqual(ids);
  });
});
