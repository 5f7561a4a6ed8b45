// The app before its model and index are loaded (an empty ServiceSlot) and while shutting down: liveness answers,
// everything else is 503 NOT_READY in the error envelope, and validation still answers 400 first. Needs no model.
import { describe, expect, test } from "bun:test";
import {
  call,
  createUnreadyApp,
  expectErrorEnvelope,
  imageForm,
} from "../helpers/app-under-test.ts";
import { BAD_REQUESTS, describeRequest } from "./bad-requests.ts";

const NOT_READY = { code: "NOT_READY", message: "the service is starting: model or index not loaded yet" };

/** One well-formed request per operation (health and metrics are the ones that answer while loading). */
const VALID_REQUESTS: Record<string, { path: string; init?: () => RequestInit }> = {
  ready: { path: "/ready" },
  checkEmbedding: { path: "/embeddings/check/1" },
  listEmbeddedProducts: { path: "/embeddings/products?limit=10&offset=0" },
  countEmbeddings: { path: "/embeddings/count" },
  listDuplicates: { path: "/embeddings/duplicates?min_score=0.98&limit=10&offset=0" },
  createEmbedding: { path: "/embeddings/product/1", init: () => ({ method: "POST" }) },
  replaceEmbedding: { path: "/embeddings/product/1", init: () => ({ method: "PUT" }) },
  deleteEmbedding: { path: "/embeddings/product/1", init: () => ({ method: "DELETE" }) },
  generateBatch: {
    path: "/embeddings/generate-batch",
    init: () => ({ method: "POST", headers: { "Content-Type": "application/json" }, body: '{"product_ids": [1, 2]}' }),
  },
  generate: { path: "/embeddings/generate", init: () => ({ method: "POST" }) },
  generateAll: { path: "/embeddings/generate-all?start_page=1&batch_size=10", init: () => ({ method: "POST" }) },
  similarToProduct: { path: "/similar-products/1?top_n=3" },
  similarToUpload: {
    path: "/similar-products/upload",
    init: () => ({ method: "POST", body: imageForm(new Uint8Array([0xff, 0xd8, 0xff, 0xd9])) }),
  },
  getTask: { path: "/tasks/3f1c2a8e-6f7d-4a59-9a3e-0c1b7f4d2e11" },
  listTasks: { path: "/tasks?limit=5&status=queued" },
  productImage: { path: "/products/1/image" },
};

describe("an app whose services are not loaded yet", () => {
  const app = createUnreadyApp();

  test("GET /health answers 200 {status: ok}", async () => {
    const response = await call(app, "/health");
    expect({ status: response.status, body: await response.json() }).toEqual({ status: 200, body: { status: "ok" } });
  });

  test("GET /metrics answers 200 in the Prometheus format while loading", async () => {
    const response = await call(app, "/metrics");
    const text = await response.text();
    expect({ status: response.status, contentType: response.headers.get("Content-Type") }).toEqual({
      status: 200,
      contentType: "text/plain; version=0.0.4; charset=utf-8",
    });
    expect(text).toContain("\nprocess_resident_memory_bytes ");
  });

  test("GET /ready answers 503 NOT_READY", async () => {
    expect(await expectErrorEnvelope(await call(app, "/ready"), 503, "NOT_READY")).toEqual(NOT_READY);
  });

  test("the table of valid requests names every operation in /openapi.json except health and metrics", async () => {
    const doc = (await (await call(app, "/openapi.json")).json()) as {
      paths: Record<string, Record<string, { operationId: string }>>;
    };
    const operationIds = Object.values(doc.paths).flatMap((item) => Object.values(item).map((op) => op.operationId));
    const answerWhileLoading = ["health", "metrics"];
    expect(operationIds.filter((id) => !answerWhileLoading.includes(id)).sort()).toEqual(
      Object.keys(VALID_REQUESTS).sort(),
    );
  });

  test.each(Object.entries(VALID_REQUESTS))("%s answers 503 NOT_READY", async (_operationId, request) => {
    const response = await call(app, request.path, request.init?.());
    expect(await expectErrorEnvelope(response, 503, "NOT_READY")).toEqual(NOT_READY);
  });

  test.each(BAD_REQUESTS.map((request) => [describeRequest(request), request] as const))(
    "validation comes first: %s",
    async (_name, request) => {
      const response = await call(app, request.path, request.init?.());
      expect(await expectErrorEnvelope(response, request.status, request.error.code)).toEqual(request.error);
    },
  );

  test("an upload over the size limit is 413 before anything else looks at it", async () => {
    const small = createUnreadyApp({ maxUploadBytes: 1000 });
    const response = await call(small, "/similar-products/upload", {
      method: "POST",
      body: imageForm(new Uint8Array(5000)),
    });
    expect(await expectErrorEnvelope(response, 413, "PAYLOAD_TOO_LARGE")).toEqual({
      code: "PAYLOAD_TOO_LARGE",
      message: "the upload is larger than the 1000-byte limit",
      details: { maxBytes: 1000 },
    });
  });

  test.each(["/embeddings/generate-batch", "/embeddings/generate"])(
    "a JSON body over 1 MiB to %s is 413 before it is parsed",
    async (path) => {
      const ids = Array.from({ length: 200_000 }, (_, i) => i + 1);
      const response = await call(app, path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ product_ids: ids }),
      });
      expect(await expectErrorEnvelope(response, 413, "PAYLOAD_TOO_LARGE")).toEqual({
        code: "PAYLOAD_TOO_LARGE",
        message: "the body is larger than the 1048576-byte limit",
        details: { maxBytes: 1048576 },
      });
    },
  );
});

describe("unknown routes", () => {
  const app = createUnreadyApp();

  test.each([
    ["GET", "/nope"],
    ["GET", "/embeddings"],
    ["GET", "/embeddings/check"],
    ["GET", "/similar-products"],
    ["POST", "/nope"],
    ["OPTIONS", "/nope"],
  ])("%s %s answers 404 NOT_FOUND in the envelope", async (method, path) => {
    const response = await call(app, path, { method });
    expect(await expectErrorEnvelope(response, 404, "NOT_FOUND")).toEqual({
      code: "NOT_FOUND",
      message: `no route for ${method} ${path}`,
    });
  });
});

describe("a known path with the wrong method", () => {
  const app = createUnreadyApp();

  test.each([
    ["POST", "/health", "GET, HEAD, OPTIONS"],
    ["PATCH", "/embeddings/product/1", "POST, PUT, DELETE, OPTIONS"],
    ["GET", "/embeddings/generate", "POST, OPTIONS"],
    ["DELETE", "/embeddings/generate", "POST, OPTIONS"],
    ["DELETE", "/tasks", "GET, HEAD, OPTIONS"],
    // A fixed path wins over a parameter: "upload" is not a product id to GET /similar-products/{product_id}.
    ["GET", "/similar-products/upload", "POST, OPTIONS"],
    ["POST", "/similar-products/20", "GET, HEAD, OPTIONS"],
    ["PUT", "/openapi.json", "GET, HEAD, OPTIONS"],
  ])("%s %s answers 405 METHOD_NOT_ALLOWED with Allow: %s", async (method, path, allow) => {
    const response = await call(app, path, { method });
    expect(response.headers.get("Allow")).toBe(allow);
    expect(await expectErrorEnvelope(response, 405, "METHOD_NOT_ALLOWED")).toEqual({
      code: "METHOD_NOT_ALLOWED",
      message: `${method} is not allowed on ${path}; use ${allow}`,
    });
  });

  test("HEAD is answered wherever GET is", async () => {
    const response = await call(app, "/health", { method: "HEAD" });
    expect([response.status, await response.text()]).toEqual([200, ""]);
  });

  test("OPTIONS on a known path answers 204 with Allow", async () => {
    const response = await call(app, "/embeddings/product/1", { method: "OPTIONS" });
    expect([response.status, response.headers.get("Allow")]).toEqual([204, "POST, PUT, DELETE, OPTIONS"]);
  });
});

describe("an app that is shutting down", () => {
  const app = createUnreadyApp({ isShuttingDown: () => true });

  test("GET /health still answers 200: the process is alive while in-flight work finishes", async () => {
    const response = await call(app, "/health");
    expect([response.status, response.headers.get("Connection"), await response.json()]).toEqual([
      200,
      "close",
      { status: "ok" },
    ]);
  });

  test.each(["/ready", "/openapi.json", "/embeddings/count"])(
    "GET %s answers 503 SHUTTING_DOWN and closes the connection",
    async (path) => {
      const response = await call(app, path);
      expect(response.headers.get("Connection")).toBe("close");
      expect(await expectErrorEnvelope(response, 503, "SHUTTING_DOWN")).toEqual({
        code: "SHUTTING_DOWN",
        message: "the service is shutting down",
      });
    },
  );
});
