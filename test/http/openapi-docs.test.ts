// /openapi.json and the /docs page: a complete OpenAPI 3.1 document a client can be generated from, and Swagger UI
// served by the service itself. Neither needs the model: both answer while the service is still loading.
import { describe, expect, test } from "bun:test";
import { ERROR_CODES } from "../../src/errors.ts";
import { call, createUnreadyApp } from "../helpers/app-under-test.ts";

interface Operation {
  operationId?: string;
  summary?: string;
  tags?: string[];
  parameters?: { name: string; in: string; required?: boolean }[];
  responses: Record<string, { description?: string; content?: Record<string, { schema: unknown }>; headers?: object }>;
}

interface OpenApiDoc {
  openapi: string;
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, any> };
}

const app = createUnreadyApp();

async function openapiDoc(): Promise<OpenApiDoc> {
  const response = await call(app, "/openapi.json");
  expect({ status: response.status, contentType: response.headers.get("Content-Type") }).toEqual({
    status: 200,
    contentType: "application/json",
  });
  return (await response.json()) as OpenApiDoc;
}

function operations(doc: OpenApiDoc): { method: string; path: string; operation: Operation }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => ({ method, path, operation })),
  );
}

/** Every `$ref` anywhere in the document. */
function refs(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(refs);
  if (value && typeof value === "object") {
    return Object.entries(value).flatMap(([key, inner]) => (key === "$ref" ? [inner as string] : refs(inner)));
  }
  return [];
}

describe("GET /openapi.json", () => {
  test("is an OpenAPI 3.1 document for this service and version", async () => {
    const doc = await openapiDoc();
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info).toEqual({ title: "fashion-image-processor", version: "test", description: expect.any(String) });
    expect(doc.info.description).toContain('{"error": {"code", "message", "details"?}}');
  });

  test("lists every route with its operationId, tag and every status it can answer", async () => {
    const doc = await openapiDoc();
    const described = Object.fromEntries(
      operations(doc).map(({ method, path, operation }) => {
        const statuses = Object.keys(operation.responses);
        // Every operation may answer 500 INTERNAL; checked here once rather than in every row below.
        expect({ path, internal: statuses.includes("500") }).toEqual({ path, internal: true });
        return [
          `${method.toUpperCase()} ${path}`,
          { operationId: operation.operationId, tags: operation.tags, statuses: statuses.filter((s) => s !== "500") },
        ];
      }),
    );
    const notReady = "503";
    /**
     * Refusals by who asks: a read needs a key only with AUTH_READS=true; a write always, or loopback; a search-only
     * replica refuses writes (405).
     */
    const read = "401";
    const write = ["401", "403", "405", "415"] as const;
    expect(described).toEqual({
      "GET /health": { operationId: "health", tags: ["health"], statuses: ["200"] },
      "GET /ready": { operationId: "ready", tags: ["health"], statuses: ["200", notReady] },
      "GET /embeddings/check/{product_id}": {
        operationId: "checkEmbedding",
        tags: ["embeddings"],
        statuses: ["200", "400", read, notReady],
      },
      "GET /embeddings/products": {
        operationId: "listEmbeddedProducts",
        tags: ["embeddings"],
        statuses: ["200", "400", read, notReady],
      },
      "GET /embeddings/count": { operationId: "countEmbeddings", tags: ["embeddings"], statuses: ["200", read, notReady] },
      "GET /embeddings/duplicates": {
        operationId: "listDuplicates",
        tags: ["embeddings"],
        statuses: ["200", "202", "400", read, notReady],
      },
      "POST /embeddings/product/{product_id}": {
        operationId: "createEmbedding",
        tags: ["embeddings"],
        statuses: ["202", "400", ...write, notReady],
      },
      "PUT /embeddings/product/{product_id}": {
        operationId: "replaceEmbedding",
        tags: ["embeddings"],
        statuses: ["202", "400", ...write, notReady],
      },
      "DELETE /embeddings/product/{product_id}": {
        operationId: "deleteEmbedding",
        tags: ["embeddings"],
        statuses: ["202", "400", ...write, notReady],
      },
      "POST /embeddings/generate-batch": {
        operationId: "generateBatch",
        tags: ["embeddings"],
        statuses: ["202", "400", "401", "403", "405", "413", "415", notReady],
      },
      "POST /embeddings/generate": {
        operationId: "generate",
        tags: ["embeddings"],
        statuses: ["202", "400", "401", "403", "405", "409", "413", "415", notReady],
      },
      "POST /embeddings/generate-all": {
        operationId: "generateAll",
        tags: ["embeddings"],
        statuses: ["202", "400", "401", "403", "405", "409", "415", notReady],
      },
      "GET /similar-products/{product_id}": {
        operationId: "similarToProduct",
        tags: ["similar-products"],
        statuses: ["200", "400", read, "404", notReady],
      },
      "POST /similar-products/upload": {
        operationId: "similarToUpload",
        tags: ["similar-products"],
        statuses: ["200", "400", read, "413", "415", "422", notReady],
      },
      "GET /tasks/{task_id}": { operationId: "getTask", tags: ["tasks"], statuses: ["200", read, "404", notReady] },
      "GET /tasks": { operationId: "listTasks", tags: ["tasks"], statuses: ["200", "400", read, notReady] },
      "GET /products/{product_id}/image": {
        operationId: "productImage",
        tags: ["products"],
        statuses: ["200", "400", read, "404", notReady],
      },
      "GET /metrics": { operationId: "metrics", tags: ["health"], statuses: ["200", read] },
    });
  });

  test("every operation has a unique operationId, a summary, and a description for every response", async () => {
    const doc = await openapiDoc();
    const ops = operations(doc);
    const ids = ops.map(({ operation }) => operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    const incomplete = ops.filter(
      ({ operation }) =>
        !operation.operationId ||
        !operation.summary?.trim() ||
        !operation.tags?.length ||
        Object.values(operation.responses).some((response) => !response.description?.trim()),
    );
    expect(incomplete).toEqual([]);
  });

  test("every error status is an error envelope whose details are declared for that status; every 202 has a Location", async () => {
    const doc = await openapiDoc();
    /** The envelope each status answers with: details are a field list on 400, {maxBytes} on 413, and so on. */
    const envelopeFor = (method: string, status: string) =>
      ({
        "400": "ValidationErrorResponse",
        "409": "WalkInProgressResponse",
        "413": "PayloadTooLargeResponse",
        "422": "ImageRefusedResponse",
        // Writes and uploads can be refused for a full queue, with its numbers; reads only while loading.
        "503": method === "get" ? "ErrorResponse" : "BusyErrorResponse",
      })[status] ?? "ErrorResponse";
    const offending: string[] = [];
    for (const { method, path, operation } of operations(doc)) {
      for (const [status, response] of Object.entries(operation.responses)) {
        const name = `${method} ${path} ${status}`;
        if (Number(status) >= 400) {
          const expected = { "application/json": { schema: { $ref: `#/components/schemas/${envelopeFor(method, status)}` } } };
          if (JSON.stringify(response.content ?? {}) !== JSON.stringify(expected)) {
            offending.push(`${name}: not the ${envelopeFor(method, status)} envelope`);
          }
        } else if (!response.content) {
          offending.push(`${name}: no content`);
        }
        if (status === "202" && !(response.headers && "Location" in response.headers)) {
          offending.push(`${name}: no Location header`);
        }
      }
    }
    expect(offending).toEqual([]);
    // Not `Error`: generated code would shadow the global Error type.
    expect(doc.components.schemas.Error).toBeUndefined();
    const envelope = (details?: unknown) => ({
      type: "object",
      properties: {
        error: {
          type: "object",
          properties: {
            code: { $ref: "#/components/schemas/ErrorCode" },
            message: { type: "string", example: "product_id: must be a positive integer" },
            ...(details ? { details } : {}),
          },
          required: ["code", "message"],
        },
      },
      required: ["error"],
    });
    expect(doc.components.schemas.ErrorResponse).toEqual(envelope());
    expect(doc.components.schemas.ErrorCode).toEqual({ type: "string", enum: [...ERROR_CODES], description: expect.any(String) });
    expect(doc.components.schemas.ValidationErrorResponse).toEqual(
      envelope({
        type: "array",
        items: {
          type: "object",
          properties: { field: { type: "string", description: expect.any(String) }, message: { type: "string" } },
          required: ["field", "message"],
        },
      }),
    );
    expect(doc.components.schemas.PayloadTooLargeResponse).toEqual(
      envelope({
        type: "object",
        properties: { maxBytes: { type: "integer", description: "The limit, in bytes", example: 10485760 } },
        required: ["maxBytes"],
      }),
    );
    expect(doc.components.schemas.WalkInProgressResponse.properties.error.properties.details).toMatchObject({
      required: ["task_id"],
      properties: { task_id: { type: "string", format: "uuid" } },
    });
    expect(doc.components.schemas.BusyErrorResponse.properties.error.properties.details.required).toEqual([
      "limit",
      "in_use",
      "retry_after_seconds",
    ]);
    // A task's errors carry the same codes.
    expect(doc.components.schemas.Task.properties.errors.items.properties.code).toEqual({ $ref: "#/components/schemas/ErrorCode" });
  });

  test("declares a relative server, so generated clients call the host the document came from", async () => {
    const doc = (await openapiDoc()) as OpenApiDoc & { servers: unknown };
    expect(doc.servers).toEqual([{ url: "/", description: expect.any(String) }]);
  });

  test("declares the defaults the service applies, and the formats of task ids and timestamps", async () => {
    const doc = await openapiDoc();
    const parameter = (path: string, method: string, name: string) =>
      doc.paths[path]![method]!.parameters!.find((p) => p.name === name) as unknown as { schema: Record<string, unknown> };
    const defaults = {
      "/similar-products/{product_id} get top_n": 5,
      "/similar-products/{product_id} get score_threshold": 0,
      "/similar-products/{product_id} get exclude_self": false,
      "/similar-products/upload post top_n": 5,
      "/similar-products/upload post score_threshold": 0,
      "/embeddings/products get limit": 100,
      "/embeddings/products get offset": 0,
      "/embeddings/generate-all post start_page": 1,
      "/tasks get limit": 20,
    };
    const declared = Object.fromEntries(
      Object.keys(defaults).map((key) => {
        const [path, method, name] = key.split(" ") as [string, string, string];
        return [key, parameter(path, method, name).schema.default];
      }),
    );
    expect(declared).toEqual(defaults);
    expect(parameter("/tasks/{task_id}", "get", "task_id").schema).toMatchObject({ type: "string", format: "uuid" });
    const task = doc.components.schemas.Task.properties;
    expect([task.task_id.format, task.created_at.format, task.started_at, task.finished_at]).toEqual([
      "uuid",
      "date-time",
      { type: ["string", "null"], format: "date-time", example: expect.any(String) },
      { type: ["string", "null"], format: "date-time", example: expect.any(String) },
    ]);
    for (const name of ["ProductTaskAccepted", "BatchTaskAccepted", "CatalogTaskAccepted"]) {
      expect(doc.components.schemas[name].properties.task_id.format).toBe("uuid");
    }
  });

  test("exclude_self is a boolean, so a generated client takes `true`", async () => {
    const doc = await openapiDoc();
    const excludeSelf = doc.paths["/similar-products/{product_id}"]!.get!.parameters!.find((p) => p.name === "exclude_self");
    expect(excludeSelf).toMatchObject({ in: "query", required: false, schema: { type: "boolean", default: false } });
  });

  test("/embeddings/generate takes ProductIds (with its limits) or nothing, and answers one shape told apart by kind", async () => {
    const doc = await openapiDoc();
    const generate = doc.paths["/embeddings/generate"]!.post! as Operation & { requestBody: unknown };
    expect(generate.requestBody).toEqual({
      required: false,
      content: { "application/json": { schema: { $ref: "#/components/schemas/ProductIds" } } },
    });
    expect(doc.components.schemas.ProductIds.properties.product_ids).toMatchObject({ minItems: 1, maxItems: 10000 });
    expect(generate.responses["202"]!.content).toEqual({
      "application/json": { schema: { $ref: "#/components/schemas/GenerateAccepted" } },
    });
    expect(doc.components.schemas.GenerateAccepted).toEqual({
      oneOf: [{ $ref: "#/components/schemas/BatchTaskAccepted" }, { $ref: "#/components/schemas/CatalogTaskAccepted" }],
      discriminator: {
        propertyName: "kind",
        mapping: {
          embed_products: "#/components/schemas/BatchTaskAccepted",
          embed_catalog: "#/components/schemas/CatalogTaskAccepted",
        },
      },
    });
    expect(generate.responses["415"]).toBeDefined();
  });

  test("the upload's image field is a binary file, of the types the service decodes", async () => {
    const doc = await openapiDoc();
    const upload = doc.paths["/similar-products/upload"]!.post! as Operation & { requestBody: unknown };
    expect(upload.requestBody).toEqual({
      required: true,
      content: {
        "multipart/form-data": {
          schema: {
            type: "object",
            properties: { image: { type: "string", format: "binary", description: expect.any(String) } },
            required: ["image"],
          },
          encoding: { image: { contentType: "image/jpeg, image/png, image/webp" } },
        },
      },
    });
  });

  test("every write and every upload says it may answer 503 with Retry-After when too much work is queued", async () => {
    const doc = await openapiDoc();
    const silent = operations(doc)
      .filter(({ method }) => method !== "get")
      .filter(({ operation }) => {
        const busy = operation.responses["503"];
        return !(busy?.headers && "Retry-After" in busy.headers && busy.description?.includes("QUEUE_FULL"));
      })
      .map(({ method, path }) => `${method} ${path}`);
    expect(silent).toEqual([]);
  });

  test("GET /tasks says its page size: 20 by default, at most 100", async () => {
    const doc = (await openapiDoc()) as unknown as {
      paths: Record<string, { get: { parameters: { name: string; schema: Record<string, unknown> }[] } }>;
    };
    const limit = doc.paths["/tasks"]!.get.parameters.find((parameter) => parameter.name === "limit")!;
    expect(limit.schema).toMatchObject({ type: "integer", minimum: 1, maximum: 100, default: 20 });
  });

  test("every $ref resolves and every path parameter is declared as a required path parameter", async () => {
    const doc = await openapiDoc();
    const dangling = refs(doc).filter((ref) => {
      const match = /^#\/components\/schemas\/(.+)$/.exec(ref);
      return !match || !(match[1]! in doc.components.schemas);
    });
    expect(dangling).toEqual([]);

    const undeclared = operations(doc).flatMap(({ method, path, operation }) =>
      [...path.matchAll(/\{([^}]+)\}/g)]
        .map((match) => match[1]!)
        .filter(
          (name) => !operation.parameters?.some((p) => p.name === name && p.in === "path" && p.required === true),
        )
        .map((name) => `${method} ${path}: ${name}`),
    );
    expect(undeclared).toEqual([]);
  });

  test("documents the similarity score formula, 1 - d²/2, on the score and on score_threshold", async () => {
    const doc = await openapiDoc();
    const similar = doc.components.schemas.SimilarProducts;
    expect(similar.properties.similar_products.items.properties.similarity_score.description).toContain("1 - d²/2");
    expect(similar.description).toContain("1 - d²/2");
    for (const path of ["/similar-products/{product_id}", "/similar-products/upload"]) {
      const method = path.endsWith("upload") ? "post" : "get";
      const threshold = doc.paths[path]![method]!.parameters!.find((p) => p.name === "score_threshold") as unknown as {
        schema: { description?: string };
        description?: string;
      };
      expect(threshold.schema.description ?? threshold.description).toContain("1 - d²/2");
    }
  });
});

describe("GET /docs", () => {
  test("is a Swagger UI page that loads its assets from this service and reads /openapi.json", async () => {
    const response = await call(app, "/docs");
    const html = await response.text();
    expect({ status: response.status, contentType: response.headers.get("Content-Type") }).toEqual({
      status: 200,
      contentType: "text/html; charset=UTF-8",
    });
    expect(html).toContain('<link rel="stylesheet" href="/docs/swagger-ui.css">');
    expect(html).toContain('<script src="/docs/swagger-ui-bundle.js"></script>');
    expect(html).toContain('<script src="/docs/swagger-init.js"></script>');
    // No CDN: everything the page loads comes from this service.
    expect(html).not.toMatch(/(src|href)="https?:/);
  });

  test.each([
    ["/docs/swagger-ui.css", "text/css; charset=utf-8", ".swagger-ui"],
    ["/docs/swagger-ui-bundle.js", "text/javascript; charset=utf-8", "SwaggerUIBundle"],
  ])("serves %s as %s", async (path, contentType, marker) => {
    const response = await call(app, path);
    const text = await response.text();
    expect({ status: response.status, contentType: response.headers.get("Content-Type") }).toEqual({
      status: 200,
      contentType,
    });
    expect(text.length).toBeGreaterThan(10_000);
    expect(text).toContain(marker);
  });
});
