// The embeddings endpoints through app.request() against the real model, a temp index and a catalogue folder that
// holds good photos, a text file named like a photo and a truncated JPEG. Every write is a background task, followed
// through GET /tasks/{id} until it finishes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { App } from "../../src/app.ts";
import type { Task, TaskItemError } from "../../src/tasks/task-registry.ts";
import {
  type AppUnderTest,
  call,
  finishedTask,
  runTask,
  type SamplePhoto,
  samplePhotos,
  startAppUnderTest,
  waitForTask,
} from "../helpers/app-under-test.ts";
import { MODEL_PATH, requireModel } from "../helpers/environment.ts";

requireModel("HTTP tests of the embeddings endpoints (test/http/embeddings.test.ts)");

/** A text file named `123.jpg` in the folder. */
const TEXT_ID = 123;
/** The first half of a real JPEG, named `124.jpg`. */
const TRUNCATED_ID = 124;
/** Not in the catalogue at all. */
const MISSING_ID = 999_999;

const missingError = (id: number): TaskItemError => ({
  product_id: id,
  code: "PRODUCT_NOT_FOUND",
  message: `product ${id} not found in catalogue`,
});
const TEXT_ERROR: TaskItemError = {
  product_id: TEXT_ID,
  code: "UNSUPPORTED_MEDIA_TYPE",
  message: "unsupported image type: send a JPEG, PNG or WebP photo",
};
const TRUNCATED_ERROR: TaskItemError = {
  product_id: TRUNCATED_ID,
  code: "INVALID_IMAGE",
  message: "not a decodable image: the jpeg file is truncated",
};

/** Per-product errors arrive in the order products finish; compare them by product id. */
const byProduct = (task: Task): Task => ({
  ...task,
  errors: [...task.errors].sort((a, b) => (a.product_id ?? 0) - (b.product_id ?? 0)),
});

describe.skipIf(!MODEL_PATH)("embeddings endpoints", () => {
  let subject: AppUnderTest;
  let app: App;
  let photos: SamplePhoto[];
  let ids: number[];

  beforeAll(async () => {
    photos = await samplePhotos(6);
    ids = photos.map((photo) => photo.id).sort((a, b) => a - b);
    const firstPhoto = photos[0]!.bytes;
    subject = await startAppUnderTest({
      catalogFiles: {
        ...Object.fromEntries(photos.map((photo) => [`${photo.id}.jpg`, photo.bytes])),
        [`${TEXT_ID}.jpg`]: "this is not a photo\n",
        [`${TRUNCATED_ID}.jpg`]: firstPhoto.slice(0, Math.floor(firstPhoto.length / 2)),
      },
    });
    app = subject.app;
  });

  afterAll(() => subject?.close());

  async function get(path: string): Promise<{ status: number; body: unknown }> {
    const response = await call(app, path);
    return { status: response.status, body: await response.json() };
  }

  async function count(): Promise<number> {
    const { body } = await get("/embeddings/count");
    return (body as { count: number }).count;
  }

  const jsonPost = (body: string): RequestInit => ({
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body,
  });

  /** Sends the request, checks the 202 answer (body and Location) is exactly `expected` plus a task id. */
  async function accepted(path: string, init: RequestInit, expected: object): Promise<string> {
    const response = await call(app, path, init);
    const body = (await response.json()) as Record<string, unknown> & { task_id: string };
    expect({ status: response.status, location: response.headers.get("Location"), body }).toEqual({
      status: 202,
      location: `/tasks/${body.task_id}`,
      body: { task_id: expect.any(String), status: "queued", ...expected },
    });
    return body.task_id;
  }

  /** Makes sure every good photo is stored (a catalogue walk only when an earlier test left one out). */
  async function ensureAllEmbedded(): Promise<void> {
    const { body } = await get("/embeddings/products?limit=10000");
    if (JSON.stringify((body as { products: number[] }).products) === JSON.stringify(ids)) return;
    expect((await runTask(app, "/embeddings/generate-all")).status).toBe("succeeded");
  }

  /** The whole folder, walked once: the good photos stored, the two broken files recorded on the task. */
  const wholeCatalogueTask = (taskId: string) =>
    finishedTask({
      task_id: taskId,
      kind: "embed_catalog",
      status: "succeeded",
      progress: { total: photos.length + 2, done: photos.length, failed: 2 },
      errors: [TEXT_ERROR, TRUNCATED_ERROR].sort((a, b) => a.product_id! - b.product_id!),
      message: "walked the catalogue from page 1 to page 1",
    });

  describe("one product: POST, PUT, DELETE /embeddings/product/{id}", () => {
    test("GET /embeddings/check/{id} answers false for a product without an embedding", async () => {
      expect(await get(`/embeddings/check/${MISSING_ID}`)).toEqual({
        status: 200,
        body: { product_id: MISSING_ID, has_embedding: false },
      });
    });

    test("POST answers 202 with the task at its Location; the task stores the product's vector", async () => {
      const id = photos[0]!.id;
      await runTask(app, `/embeddings/product/${id}`, { method: "DELETE" });
      const before = await count();

      const taskId = await accepted(`/embeddings/product/${id}`, { method: "POST" }, { kind: "embed_product", product_id: id });
      expect(await waitForTask(app, taskId)).toEqual(
        finishedTask({
          task_id: taskId,
          kind: "embed_product",
          status: "succeeded",
          product_id: id,
          progress: { total: 1, done: 1, failed: 0 },
        }),
      );
      expect(await get(`/embeddings/check/${id}`)).toEqual({ status: 200, body: { product_id: id, has_embedding: true } });
      expect(await count()).toBe(before + 1);
    });

    test("PUT, or POST again, replaces the vector: the product still has exactly one", async () => {
      const id = photos[1]!.id;
      expect((await runTask(app, `/embeddings/product/${id}`)).status).toBe("succeeded");
      const before = await count();

      const taskId = await accepted(`/embeddings/product/${id}`, { method: "PUT" }, { kind: "reembed_product", product_id: id });
      expect(await waitForTask(app, taskId)).toEqual(
        finishedTask({
          task_id: taskId,
          kind: "reembed_product",
          status: "succeeded",
          product_id: id,
          progress: { total: 1, done: 1, failed: 0 },
        }),
      );
      expect((await runTask(app, `/embeddings/product/${id}`)).status).toBe("succeeded");

      expect(await count()).toBe(before);
      const { body } = await get("/embeddings/products?limit=10000");
      expect((body as { products: number[] }).products.filter((stored) => stored === id)).toEqual([id]);
      // A second vector would show up as a second hit for the same id.
      const similar = await get(`/similar-products/${id}?top_n=1000`);
      const hits = (similar.body as { similar_products: { id: number }[] }).similar_products.filter((p) => p.id === id);
      expect(hits).toHaveLength(1);
    });

    test("DELETE answers 202 and removes the vector; deleting again succeeds and says there was none", async () => {
      const id = photos[2]!.id;
      expect((await runTask(app, `/embeddings/product/${id}`)).status).toBe("succeeded");
      const before = await count();

      const taskId = await accepted(`/embeddings/product/${id}`, { method: "DELETE" }, { kind: "delete_product", product_id: id });
      expect(await waitForTask(app, taskId)).toEqual(
        finishedTask({
          task_id: taskId,
          kind: "delete_product",
          status: "succeeded",
          product_id: id,
          progress: { total: 1, done: 1, failed: 0 },
          message: "embedding deleted",
        }),
      );
      expect(await get(`/embeddings/check/${id}`)).toEqual({ status: 200, body: { product_id: id, has_embedding: false } });
      expect(await count()).toBe(before - 1);

      const again = await runTask(app, `/embeddings/product/${id}`, { method: "DELETE" });
      expect(again).toEqual(
        finishedTask({
          kind: "delete_product",
          status: "succeeded",
          product_id: id,
          progress: { total: 1, done: 1, failed: 0 },
          message: "the product had no embedding; nothing to delete",
        }),
      );
      expect(await count()).toBe(before - 1);
    });

    test("a product missing from the catalogue fails its task with PRODUCT_NOT_FOUND", async () => {
      const task = await runTask(app, `/embeddings/product/${MISSING_ID}`);
      expect(task).toEqual(
        finishedTask({
          kind: "embed_product",
          status: "failed",
          product_id: MISSING_ID,
          progress: { total: 1, done: 0, failed: 1 },
          errors: [missingError(MISSING_ID)],
        }),
      );
      expect(await get(`/embeddings/check/${MISSING_ID}`)).toEqual({
        status: 200,
        body: { product_id: MISSING_ID, has_embedding: false },
      });
    });

    test.each([
      [TEXT_ID, TEXT_ERROR],
      [TRUNCATED_ID, TRUNCATED_ERROR],
    ])("a broken photo (product %d) fails its task with the reason", async (id, error) => {
      expect(await runTask(app, `/embeddings/product/${id}`, { method: "PUT" })).toEqual(
        finishedTask({
          kind: "reembed_product",
          status: "failed",
          product_id: id,
          progress: { total: 1, done: 0, failed: 1 },
          errors: [error],
        }),
      );
    });
  });

  describe("POST /embeddings/generate-batch", () => {
    test("embeds the list once each; a missing product and broken photos fail alone, recorded on the task", async () => {
      const [a, b] = [photos[3]!.id, photos[4]!.id];
      await runTask(app, `/embeddings/product/${a}`, { method: "DELETE" });
      await runTask(app, `/embeddings/product/${b}`, { method: "DELETE" });
      const list = [a, MISSING_ID, TEXT_ID, b, TRUNCATED_ID];

      const taskId = await accepted(
        "/embeddings/generate-batch",
        jsonPost(JSON.stringify({ product_ids: [...list, a] })),
        { kind: "embed_products", product_ids: list },
      );
      expect(byProduct(await waitForTask(app, taskId))).toEqual(
        finishedTask({
          task_id: taskId,
          kind: "embed_products",
          status: "succeeded",
          product_ids: list,
          progress: { total: 5, done: 2, failed: 3 },
          errors: [TEXT_ERROR, TRUNCATED_ERROR, missingError(MISSING_ID)],
        }),
      );
      const checks = await Promise.all(list.map((id) => get(`/embeddings/check/${id}`)));
      expect(checks.map(({ body }) => body)).toEqual(
        list.map((id) => ({ product_id: id, has_embedding: id === a || id === b })),
      );
    });

    test("a task where every product fails is failed", async () => {
      const taskId = await accepted(
        "/embeddings/generate-batch",
        jsonPost(JSON.stringify({ product_ids: [TEXT_ID, MISSING_ID] })),
        { kind: "embed_products", product_ids: [TEXT_ID, MISSING_ID] },
      );
      expect(byProduct(await waitForTask(app, taskId))).toEqual(
        finishedTask({
          task_id: taskId,
          kind: "embed_products",
          status: "failed",
          product_ids: [TEXT_ID, MISSING_ID],
          progress: { total: 2, done: 0, failed: 2 },
          errors: [TEXT_ERROR, missingError(MISSING_ID)],
        }),
      );
    });

    test("a JSON content type with a charset is accepted", async () => {
      const id = photos[5]!.id;
      const taskId = await accepted(
        "/embeddings/generate-batch",
        { method: "POST", headers: { "Content-Type": "application/json; charset=utf-8" }, body: `{"product_ids":[${id}]}` },
        { kind: "embed_products", product_ids: [id] },
      );
      expect((await waitForTask(app, taskId)).status).toBe("succeeded");
    });
  });

  describe("POST /embeddings/generate (the old system's spelling)", () => {
    test.each([
      ["a bare array", (ids: number[]) => JSON.stringify(ids), "application/json"],
      ["an object", (ids: number[]) => JSON.stringify({ product_ids: ids }), "application/json"],
      ["an object as JSON with a charset", (ids: number[]) => JSON.stringify({ product_ids: ids }), "application/json; charset=utf-8"],
    ])("with %s embeds those products", async (_name, body, contentType) => {
      const list = [photos[4]!.id, photos[5]!.id];
      const taskId = await accepted(
        "/embeddings/generate",
        { method: "POST", body: body(list), headers: contentType ? { "Content-Type": contentType } : {} },
        { kind: "embed_products", product_ids: list },
      );
      expect(await waitForTask(app, taskId)).toEqual(
        finishedTask({
          task_id: taskId,
          kind: "embed_products",
          status: "succeeded",
          product_ids: list,
          progress: { total: 2, done: 2, failed: 0 },
        }),
      );
    });

    test.each([
      ["no body at all", {}],
      ["an empty body with Content-Type: application/json", { headers: { "Content-Type": "application/json" }, body: "" }],
      ["a blank body", { headers: { "Content-Type": "application/json" }, body: " \n" }],
    ])("with %s embeds the whole catalogue", async (_name, init) => {
      const taskId = await accepted("/embeddings/generate", { method: "POST", ...init }, { kind: "embed_catalog" });
      expect(byProduct(await waitForTask(app, taskId))).toEqual(wholeCatalogueTask(taskId));
    });
  });

  describe("POST /embeddings/generate-all", () => {
    test("answers 202 {task_id, status}; the task embeds every photo in the folder once", async () => {
      const taskId = await accepted("/embeddings/generate-all?start_page=1&batch_size=10", { method: "POST" }, { kind: "embed_catalog" });
      expect(byProduct(await waitForTask(app, taskId))).toEqual(wholeCatalogueTask(taskId));
      expect(await get("/embeddings/count")).toEqual({ status: 200, body: { count: photos.length } });
      expect(await get("/embeddings/products")).toEqual({
        status: 200,
        body: { products: ids, total: ids.length, limit: 100, offset: 0 },
      });
    });

    test("the defaults walk the whole catalogue; a start page past the end has nothing to do", async () => {
      expect(byProduct(await runTask(app, "/embeddings/generate-all"))).toEqual(wholeCatalogueTask(expect.any(String)));
      expect(await runTask(app, "/embeddings/generate-all?start_page=2&batch_size=1")).toEqual(
        finishedTask({
          kind: "embed_catalog",
          status: "succeeded",
          message: "walked the catalogue from page 2 to page 2",
        }),
      );
      expect(await count()).toBe(photos.length);
    });
  });

  describe("reading the index", () => {
    test("GET /embeddings/products pages through the ids in ascending order", async () => {
      await ensureAllEmbedded();
      expect(await get("/embeddings/products?limit=2&offset=1")).toEqual({
        status: 200,
        body: { products: ids.slice(1, 3), total: ids.length, limit: 2, offset: 1 },
      });
      expect(await get(`/embeddings/products?limit=4&offset=${ids.length - 1}`)).toEqual({
        status: 200,
        body: { products: ids.slice(-1), total: ids.length, limit: 4, offset: ids.length - 1 },
      });
      expect(await get("/embeddings/products?offset=1000")).toEqual({
        status: 200,
        body: { products: [], total: ids.length, limit: 100, offset: 1000 },
      });
    });

    test("GET /embeddings/count and /embeddings/check follow deletes", async () => {
      await ensureAllEmbedded();
      expect(await get("/embeddings/count")).toEqual({ status: 200, body: { count: ids.length } });
      await runTask(app, `/embeddings/product/${ids[0]}`, { method: "DELETE" });
      expect(await get("/embeddings/count")).toEqual({ status: 200, body: { count: ids.length - 1 } });
      expect(await get("/embeddings/products?limit=1")).toEqual({
        status: 200,
        body: { products: [ids[1]], total: ids.length - 1, limit: 1, offset: 0 },
      });
    });
  });
});
