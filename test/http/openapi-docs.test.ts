// /openapi.json and the /docs page: a complete OpenAPI 3.1 document a client can be generated from, and Swagger UI
// served by the service itself. Neither needs the model: both answer while the service is still loading.
import { describe, expect, test } from "bun:test";
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
      operations(doc).map(({ method, path, operation }) => [
        `${method.toUpperCase()} ${path}`,
        { operationId: operation.operationId, tags: operation.tags, statuses: Object.keys(operation.responses) },
      ]),
    );
    const notReady = "503";
    /** Refusals by who asks: a read needs a key only with AUTH_READS=true; a write always, or loopback. */
    const read = "401";
    const write = ["401", "403", "415"] as const;
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
        statuses: ["202", "400", "401", "403", "413", "415", notReady],
      },
      "POST /embeddings/generate": {
        operationId: "generate",
        tags: ["embeddings"],
        statuses: ["202", "400", "401", "403", "409", "413", "415", notReady],
      },
      "POST /embeddings/generate-all": {
        operationId: "generateAll",
        tags: ["embeddings"],
        statuses: ["202", "400", "401", "403", "409", "415", notReady],
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

  test("every error status is the error envelope, and every 202 has a Location header", async () => {
    const doc = await openapiDoc();
    const offending: string[] = [];
    for (const { method, path, operation } of operations(doc)) {
      for (const [status, response] of Object.entries(operation.responses)) {
        const name = `${method} ${path} ${status}`;
        if (Number(status) >= 400) {
          const content = response.content ?? {};
          if (JSON.stringify(content) !== JSON.stringify({ "application/json": { schema: { $ref: "#/components/schemas/Error" } } })) {
            offending.push(`${name}: not the Error envelope`);
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
    expect(doc.components.schemas.Error).toEqual({
      type: "object",
      properties: {
        error: {
          type: "object",
          properties: {
            code: { type: "string", example: "VALIDATION_FAILED" },
            message: { type: "string", example: "product_id: must be a positive integer" },
            details: {},
          },
          required: ["code", "message"],
        },
      },
      required: ["error"],
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
