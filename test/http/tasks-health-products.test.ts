// Readiness, task status, and the product photos the service serves in folder mode, through app.request() with the
// real model; also the catalogue-API mode against a real products API on 127.0.0.1, and every bad request of
// bad-requests.ts against a ready app.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createCanvas } from "@napi-rs/canvas";
import type { App } from "../../src/app.ts";
import { pipelineName } from "../../src/services.ts";
import type { Task } from "../../src/tasks/task-registry.ts";
import {
  type AppUnderTest,
  call,
  expectErrorEnvelope,
  finishedTask,
  runTask,
  type SamplePhoto,
  samplePhotos,
  startAppUnderTest,
  waitForTask,
} from "../helpers/app-under-test.ts";
import { startCatalogServer } from "../helpers/catalog-server.ts";
import { MODEL_PATH, requireModel } from "../helpers/environment.ts";
import { BAD_REQUESTS, describeRequest } from "./bad-requests.ts";

requireModel("HTTP tests of readiness, tasks and product photos (test/http/tasks-health-products.test.ts)");

interface TaskPage {
  tasks: Task[];
  total: number;
  limit: number;
  next_cursor: string | null;
}

const PNG_ID = 501;
const WEBP_ID = 502;
const MISSING_ID = 999_999;

describe.skipIf(!MODEL_PATH)("a ready app over a catalogue folder", () => {
  let subject: AppUnderTest;
  let app: App;
  let photos: SamplePhoto[];
  let png: Uint8Array<ArrayBuffer>;
  let webp: Uint8Array<ArrayBuffer>;

  beforeAll(async () => {
    photos = await samplePhotos(3);
    const canvas = createCanvas(40, 60);
    canvas.getContext("2d").fillRect(5, 5, 20, 30);
    png = new Uint8Array(canvas.toBuffer("image/png"));
    webp = new Uint8Array(canvas.toBuffer("image/webp"));
    subject = await startAppUnderTest({
      catalogFiles: {
        ...Object.fromEntries(photos.map((photo) => [`${photo.id}.jpg`, photo.bytes])),
        [`${PNG_ID}.png`]: png,
        [`${WEBP_ID}.webp`]: webp,
      },
    });
    app = subject.app;
  });

  afterAll(() => subject?.close());

  async function get(path: string): Promise<{ status: number; body: unknown }> {
    const response = await call(app, path);
    return { status: response.status, body: await response.json() };
  }

  describe("GET /health and GET /ready", () => {
    test("GET /health answers 200 {status: ok}", async () => {
      expect(await get("/health")).toEqual({ status: 200, body: { status: "ok" } });
    });

    test("GET /ready answers 200 with the index size, the backend, the pipeline and the mode", async () => {
      const id = photos[0]!.id;
      await runTask(app, `/embeddings/product/${id}`, { method: "DELETE" });
      const { body } = await get("/embeddings/count");
      const count = (body as { count: number }).count;
      // The tests run the fp32 model under its own pipeline name (TEST_MODEL).
      const ready = (embeddings: number) => ({
        status: 200,
        body: { status: "ready", embeddings, inference_backend: "native", pipeline: pipelineName("fp32"), read_only: false },
      });
      expect(await get("/ready")).toEqual(ready(count));
      expect((await runTask(app, `/embeddings/product/${id}`)).status).toBe("succeeded");
      expect(await get("/ready")).toEqual(ready(count + 1));
    });
  });

  describe("GET /tasks and GET /tasks/{id}", () => {
    test("GET /tasks/{id} answers 404 TASK_NOT_FOUND for an unknown task", async () => {
      const response = await call(app, "/tasks/3f1c2a8e-0000-4a59-9a3e-0c1b7f4d2e11");
      expect(await expectErrorEnvelope(response, 404, "TASK_NOT_FOUND")).toEqual({
        code: "TASK_NOT_FOUND",
        message: "no task 3f1c2a8e-0000-4a59-9a3e-0c1b7f4d2e11",
      });
    });

    test("GET /tasks lists the newest first; ?status filters, ?limit caps", async () => {
      const embedded = await runTask(app, `/embeddings/product/${photos[1]!.id}`);
      const nothingToDelete = await runTask(app, `/embeddings/product/${MISSING_ID}`, { method: "DELETE" });
      const missing = await runTask(app, `/embeddings/product/${MISSING_ID}`);
      expect([embedded.status, nothingToDelete.status, missing.status]).toEqual(["succeeded", "succeeded", "failed"]);
      const mine = [missing, nothingToDelete, embedded]; // newest first

      const all = (await get("/tasks?limit=100")).body as TaskPage;
      expect(all.tasks.slice(0, 3)).toEqual(mine);
      const createdAt = all.tasks.map((task) => task.created_at);
      expect(createdAt).toEqual([...createdAt].sort().reverse());

      const first = await get("/tasks?limit=1");
      expect(first).toEqual({
        status: 200,
        body: { tasks: [missing], total: all.total, limit: 1, next_cursor: expect.any(String) },
      });

      const succeeded = (await get("/tasks?status=succeeded&limit=100")).body as TaskPage;
      expect(succeeded.tasks.slice(0, 2)).toEqual([nothingToDelete, embedded]);
      expect(succeeded.tasks.filter((task) => task.status !== "succeeded")).toEqual([]);

      const failed = (await get("/tasks?status=failed")).body as TaskPage;
      expect(failed.tasks[0]).toEqual(missing);
      expect(failed.tasks.filter((task) => task.status !== "failed")).toEqual([]);

      const none = { status: 200, body: { tasks: [], total: 0, limit: 20, next_cursor: null } };
      expect(await get("/tasks?status=queued")).toEqual(none);
      expect(await get("/tasks?status=running")).toEqual(none);
    });

    test("GET /tasks answers 20 tasks by default and pages on with next_cursor, unshifted by new tasks", async () => {
      for (let i = 0; i < 25; i++) await runTask(app, `/embeddings/product/${MISSING_ID}`, { method: "DELETE" });
      const everything = ((await get("/tasks?limit=100")).body as TaskPage).tasks.map((task) => task.task_id);

      const first = (await get("/tasks")).body as TaskPage;
      expect([first.tasks.length, first.limit, first.total]).toEqual([20, 20, everything.length]);
      const arrived = await runTask(app, `/embeddings/product/${MISSING_ID}`, { method: "DELETE" });
      const second = (await get(`/tasks?limit=3&cursor=${first.next_cursor}`)).body as TaskPage;
      expect([...first.tasks, ...second.tasks].map((task) => task.task_id)).toEqual(everything.slice(0, 23));
      expect([second.total, second.tasks.some((task) => task.task_id === arrived.task_id)]).toEqual([
        everything.length + 1,
        false,
      ]);

      let cursor: string | null = first.next_cursor;
      const paged = first.tasks.map((task) => task.task_id);
      while (cursor !== null) {
        const page = (await get(`/tasks?limit=7&cursor=${cursor}`)).body as TaskPage;
        paged.push(...page.tasks.map((task) => task.task_id));
        cursor = page.next_cursor;
      }
      expect([paged.length, paged.slice(0, everything.length)]).toEqual([first.total, everything]);
    });

    test("a task lists its first 100 errors and counts the rest; the list shows its first 100 ids", async () => {
      const unknown = Array.from({ length: 150 }, (_, i) => 900_001 + i);
      const task = await runTask(app, "/embeddings/generate-batch", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ product_ids: unknown }),
      });
      expect([task.status, task.progress, task.errors.length, task.errors_omitted, task.product_ids]).toEqual([
        "failed",
        { total: 150, done: 0, failed: 150 },
        100,
        50,
        unknown,
      ]);
      const listed = ((await get("/tasks?limit=1")).body as TaskPage).tasks[0]!;
      expect(listed).toEqual({ ...task, product_ids: unknown.slice(0, 100) });
    });

    test("GET /tasks/{id} shows the same task as the list", async () => {
      const task = await runTask(app, `/embeddings/product/${photos[2]!.id}`, { method: "PUT" });
      expect(await get(`/tasks/${task.task_id}`)).toEqual({ status: 200, body: task });
      expect(task).toEqual(
        finishedTask({
          kind: "reembed_product",
          status: "succeeded",
          product_id: photos[2]!.id,
          progress: { total: 1, done: 1, failed: 0 },
        }),
      );
      // ISO timestamps, in order.
      expect(new Date(task.created_at).toISOString()).toBe(task.created_at);
      expect([task.created_at <= task.started_at!, task.started_at! <= task.finished_at!]).toEqual([true, true]);
    });
  });

  describe("GET /products/{id}/image (folder mode)", () => {
    test.each([
      ["a JPEG", () => photos[0]!, "image/jpeg"],
      ["a PNG", () => ({ id: PNG_ID, bytes: png }), "image/png"],
      ["a WebP", () => ({ id: WEBP_ID, bytes: webp }), "image/webp"],
    ])("serves %s with its bytes and content type", async (_name, photo, contentType) => {
      const { id, bytes } = photo();
      const response = await call(app, `/products/${id}/image`);
      expect({
        status: response.status,
        contentType: response.headers.get("Content-Type"),
        bytes: new Uint8Array(await response.arrayBuffer()),
      }).toEqual({ status: 200, contentType, bytes });
    });

    test("answers 404 PRODUCT_NOT_FOUND for a product without a photo", async () => {
      const response = await call(app, `/products/${MISSING_ID}/image`);
      expect(await expectErrorEnvelope(response, 404, "PRODUCT_NOT_FOUND")).toEqual({
        code: "PRODUCT_NOT_FOUND",
        message: `product ${MISSING_ID} not found in catalogue`,
      });
    });

    test("the image_url of a search answer resolves to the photo", async () => {
      const photo = photos[0]!;
      expect((await runTask(app, `/embeddings/product/${photo.id}`)).status).toBe("succeeded");
      const { body } = await get(`/similar-products/${photo.id}?top_n=1`);
      const imageUrl = (body as { similar_products: { image_url: string }[] }).similar_products[0]!.image_url;
      const response = await call(app, new URL(imageUrl).pathname);
      expect({ status: response.status, bytes: new Uint8Array(await response.arrayBuffer()) }).toEqual({
        status: 200,
        bytes: photo.bytes,
      });
    });
  });

  describe("bad requests against the ready app", () => {
    test.each(BAD_REQUESTS.map((request) => [describeRequest(request), request] as const))(
      "%s",
      async (_name, request) => {
        const response = await call(app, request.path, request.init?.());
        expect(await expectErrorEnvelope(response, request.status, request.error.code)).toEqual(request.error);
      },
    );

    test("none of them started a task", async () => {
      const before = ((await get("/tasks")).body as TaskPage).total;
      for (const request of BAD_REQUESTS) await call(app, request.path, request.init?.());
      const after = ((await get("/tasks")).body as TaskPage).total;
      expect(after).toBe(before);
    });
  });
});

describe.skipIf(!MODEL_PATH)("a ready app over a products API (CATALOG_API_URL)", () => {
  test("photos come from the API: /products/{id}/image is 404, image_url points at the API", async () => {
    const photos = await samplePhotos(3);
    await using server = startCatalogServer({ products: photos.map(({ id, bytes }) => ({ id, image: bytes })) });
    await using subject = await startAppUnderTest({ env: { CATALOG_API_URL: server.url, CATALOG_RETRIES: "0" } });
    const { app } = subject;

    const response = await call(app, `/products/${photos[0]!.id}/image`);
    expect(await expectErrorEnvelope(response, 404, "NOT_FOUND")).toEqual({
      code: "NOT_FOUND",
      message: "photos are served by the catalogue API, not by this service",
    });

    const walk = await runTask(app, "/embeddings/generate-all?batch_size=2");
    expect(walk).toEqual(
      finishedTask({
        kind: "embed_catalog",
        status: "succeeded",
        progress: { total: 3, done: 3, failed: 0 },
        message: "walked the catalogue from page 1 to page 1",
      }),
    );
    const similar = await call(app, `/similar-products/${photos[0]!.id}?top_n=3`);
    const { similar_products } = (await similar.json()) as { similar_products: { id: number; image_url: string }[] };
    expect(similar_products.map((result) => result.image_url).sort()).toEqual(
      photos.map(({ id }) => `${server.url}/products/${id}/image`).sort(),
    );
  });

  test("a product the API does not know, or whose photo arrives cut off (with or without an end marker), fails on the task, not over HTTP", async () => {
    const photos = await samplePhotos(3);
    const [good, broken, cut] = [photos[0]!.id, photos[1]!.id, photos[2]!.id];
    await using server = startCatalogServer({
      products: photos.map(({ id, bytes }) => ({ id, image: bytes })),
      faults: { brokenBytes: new Set([broken]), cutWithEndMarker: new Set([cut]) },
    });
    await using subject = await startAppUnderTest({ env: { CATALOG_API_URL: server.url, CATALOG_RETRIES: "0" } });

    const response = await call(subject.app, "/embeddings/generate-batch", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ product_ids: [good, MISSING_ID, broken, cut] }),
    });
    expect(response.status).toBe(202);
    const { task_id } = (await response.json()) as { task_id: string };
    const task = await waitForTask(subject.app, task_id);
    expect({ ...task, errors: [...task.errors].sort((a, b) => a.product_id! - b.product_id!) }).toEqual(
      finishedTask({
        task_id,
        kind: "embed_products",
        status: "succeeded",
        product_ids: [good, MISSING_ID, broken, cut],
        progress: { total: 4, done: 1, failed: 3 },
        errors: [
          { product_id: broken, code: "INVALID_IMAGE" as const, message: "not a decodable image: the jpeg file is truncated" },
          // Cut off, then given an end marker: refused all the same, not stored as a half-blank photo.
          { product_id: cut, code: "INVALID_IMAGE" as const, message: "not a decodable image: the jpeg file is truncated" },
          {
            product_id: MISSING_ID,
            code: "PRODUCT_NOT_FOUND" as const,
            message: `product ${MISSING_ID} not found in catalogue`,
          },
        ].sort((a, b) => a.product_id - b.product_id),
      }),
    );
  });
});
