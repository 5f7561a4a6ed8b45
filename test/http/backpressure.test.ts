// Bounded work: writes past MAX_QUEUED_PRODUCTS, a second catalogue walk and uploads past MAX_PENDING_UPLOADS are
// refused with the error envelope (and Retry-After where waiting helps) and create no task; once work drains, the
// same requests are accepted again. A products API on 127.0.0.1 holds its answers so that work stays queued.
import { describe, expect, test } from "bun:test";
import type { App } from "../../src/app.ts";
import {
  call,
  expectErrorEnvelope,
  imageForm,
  samplePhotos,
  startAppUnderTest,
  waitForTask,
} from "../helpers/app-under-test.ts";
import { startCatalogServer } from "../helpers/catalog-server.ts";
import { MODEL_PATH, requireModel, waitFor } from "../helpers/environment.ts";

requireModel("HTTP tests of bounded work (test/http/backpressure.test.ts)");

function heldCatalog(products: { id: number; bytes: Uint8Array }[]) {
  let release!: () => void;
  const hold = new Promise<void>((resolve) => (release = resolve));
  const server = startCatalogServer({ products: products.map(({ id, bytes }) => ({ id, image: bytes })), faults: { hold } });
  return { server, release };
}

const postJson = (body: unknown): RequestInit => ({
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify(body),
});

async function taskTotal(app: App): Promise<number> {
  return ((await (await call(app, "/tasks")).json()) as { total: number }).total;
}

/** The 503 QUEUE_FULL envelope with a Retry-After of whole seconds; returns the seconds. */
async function expectQueueFull(response: Response): Promise<number> {
  const retryAfter = response.headers.get("Retry-After");
  await expectErrorEnvelope(response, 503, "QUEUE_FULL");
  expect(retryAfter).toMatch(/^[1-9]\d*$/);
  return Number(retryAfter);
}

describe.skipIf(!MODEL_PATH)("bounded work", () => {
  test("a flood of single-product writes past MAX_QUEUED_PRODUCTS: 503 QUEUE_FULL with Retry-After, no task made", async () => {
    const photos = await samplePhotos(2);
    const { server, release } = heldCatalog(photos);
    await using _server = server;
    await using subject = await startAppUnderTest({
      env: { CATALOG_API_URL: server.url, CATALOG_RETRIES: "0", MAX_QUEUED_PRODUCTS: "5" },
    });
    const { app } = subject;
    const accepted: string[] = [];
    try {
      const statuses: number[] = [];
      let refusal: Response | undefined;
      for (let i = 0; i < 50; i++) {
        const method = ["POST", "PUT"][i % 2]!;
        const response = await call(app, `/embeddings/product/${photos[i % 2]!.id}`, { method });
        statuses.push(response.status);
        if (response.status === 202) accepted.push(((await response.json()) as { task_id: string }).task_id);
        else refusal ??= response;
      }
      expect(statuses).toEqual([...Array(5).fill(202), ...Array(45).fill(503)]);
      await expectQueueFull(refusal!);
      expect(await taskTotal(app)).toBe(5);

      // Every other kind of write is refused the same way while the queue is full.
      await expectQueueFull(await call(app, `/embeddings/product/${photos[0]!.id}`, { method: "DELETE" }));
      await expectQueueFull(await call(app, "/embeddings/generate-batch", postJson({ product_ids: [photos[0]!.id] })));
      await expectQueueFull(await call(app, "/embeddings/generate", postJson([photos[0]!.id])));
      expect(await taskTotal(app)).toBe(5);
    } finally {
      release();
    }

    // Once the queued work is done, writes are accepted again.
    for (const taskId of accepted) await waitForTask(app, taskId);
    const again = await call(app, "/embeddings/generate-batch", postJson({ product_ids: photos.map(({ id }) => id) }));
    expect(again.status).toBe(202);
  });

  test("a batch counts all its products: one that does not fit now is 503, one larger than the limit is 400", async () => {
    const photos = await samplePhotos(3);
    const { server, release } = heldCatalog(photos);
    await using _server = server;
    await using subject = await startAppUnderTest({
      env: { CATALOG_API_URL: server.url, CATALOG_RETRIES: "0", MAX_QUEUED_PRODUCTS: "5" },
    });
    const { app } = subject;
    const ids = photos.map(({ id }) => id);
    try {
      expect((await call(app, "/embeddings/generate-batch", postJson({ product_ids: ids }))).status).toBe(202);
      await expectQueueFull(await call(app, "/embeddings/generate-batch", postJson({ product_ids: ids })));
      await expectQueueFull(await call(app, "/embeddings/generate", postJson({ product_ids: ids })));
      // Two more still fit.
      expect((await call(app, "/embeddings/generate", postJson(ids.slice(0, 2)))).status).toBe(202);

      const tooMany = [1, 2, 3, 4, 5, 6];
      const message = "at most 5 products per request (MAX_QUEUED_PRODUCTS)";
      expect(
        await expectErrorEnvelope(await call(app, "/embeddings/generate-batch", postJson({ product_ids: tooMany })), 400, "VALIDATION_FAILED"),
      ).toEqual({
        code: "VALIDATION_FAILED",
        message: `product_ids: ${message}`,
        details: [{ field: "product_ids", message }],
      });
      expect(await taskTotal(app)).toBe(2);
    } finally {
      release();
    }
  });

  test("one catalogue walk at a time: a second answers 409 WALK_IN_PROGRESS naming the running one", async () => {
    const photos = await samplePhotos(2);
    const { server, release } = heldCatalog(photos);
    await using _server = server;
    await using subject = await startAppUnderTest({ env: { CATALOG_API_URL: server.url, CATALOG_RETRIES: "0" } });
    const { app } = subject;
    let walkId: string;
    try {
      const walk = await call(app, "/embeddings/generate-all", { method: "POST" });
      expect(walk.status).toBe(202);
      walkId = ((await walk.json()) as { task_id: string }).task_id;
      for (const second of [
        () => call(app, "/embeddings/generate-all?start_page=2", { method: "POST" }),
        () => call(app, "/embeddings/generate", { method: "POST" }),
      ]) {
        expect(await expectErrorEnvelope(await second(), 409, "WALK_IN_PROGRESS")).toEqual({
          code: "WALK_IN_PROGRESS",
          message: `a catalogue walk is already queued or running: follow it at /tasks/${walkId}`,
          details: { task_id: walkId },
        });
      }
      expect(await taskTotal(app)).toBe(1);
    } finally {
      release();
    }
    expect((await waitForTask(app, walkId)).status).toBe("succeeded");
    expect((await call(app, "/embeddings/generate", { method: "POST" })).status).toBe(202);
  });

  test("uploads past MAX_PENDING_UPLOADS are refused before their body is read: 503 QUEUE_FULL with Retry-After", async () => {
    const [photo] = await samplePhotos(1);
    await using subject = await startAppUnderTest({ env: { MAX_PENDING_UPLOADS: "1" } });
    const { app, services } = subject;

    // An upload whose body arrives slowly holds the only slot.
    const multipart = new Response(imageForm(photo!.bytes));
    const contentType = multipart.headers.get("Content-Type")!;
    const bytes = new Uint8Array(await multipart.arrayBuffer());
    let finishBody!: () => void;
    const bodyDone = new Promise<void>((resolve) => (finishBody = resolve));
    const slowBody = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(bytes.subarray(0, 100));
        await bodyDone;
        controller.enqueue(bytes.subarray(100));
        controller.close();
      },
    });
    const slow = call(app, "/similar-products/upload", {
      method: "POST",
      headers: { "Content-Type": contentType },
      body: slowBody,
    });
    await waitFor(() => (services.uploads.inUse === 1 ? true : undefined), { timeoutMs: 10_000, what: "the slow upload" });

    await expectQueueFull(await call(app, "/similar-products/upload", { method: "POST", body: imageForm(photo!.bytes) }));

    finishBody();
    expect((await slow).status).toBe(200);
    expect(services.uploads.inUse).toBe(0);
    const after = await call(app, "/similar-products/upload", { method: "POST", body: imageForm(photo!.bytes) });
    expect(after.status).toBe(200);
  });
});
