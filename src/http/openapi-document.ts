// GET /openapi.json: the document generated from the route definitions, plus what belongs to the whole API rather
// than to one route: the relative server, the tags, and the 500 every operation can answer.
import type { OpenAPIHono } from "@hono/zod-openapi";

const DESCRIPTION =
  "Visual similarity for fashion catalogues: ResNet50 embeddings of product photos in a USearch index. " +
  "Writes run as background tasks (202 + Location: /tasks/{task_id}). Every error is " +
  '{"error": {"code", "message", "details"?}} with a 4xx/5xx status.';

const TAGS = [
  { name: "similar-products", description: "Search: products that look like a stored product or an uploaded photo" },
  { name: "embeddings", description: "What is in the index, and writes to it (background tasks)" },
  { name: "tasks", description: "Background tasks: status, progress and per-product errors" },
  { name: "products", description: "The catalogue's own photos, in folder mode" },
  { name: "health", description: "Probes and metrics" },
];

/** ErrorResponse is in the document's schemas already: the 401 of every read and write refers to it. */
const INTERNAL_ERROR = {
  description: "INTERNAL: a bug; logged with its stack and the request id, never shown to the client",
  content: { "application/json": { schema: { $ref: "#/components/schemas/ErrorResponse" } } },
};

export function mountOpenApiDocument(app: OpenAPIHono<any, any, any>, version: string): void {
  let document: unknown = null;
  app.get("/openapi.json", (c) => {
    document ??= buildDocument(app, version);
    return c.json(document);
  });
}

function buildDocument(app: OpenAPIHono<any, any, any>, version: string) {
  // A relative server: generated clients call the host they fetched the document from, whatever its name.
  const document = app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: { title: "fashion-image-processor", version, description: DESCRIPTION },
    servers: [{ url: "/", description: "This service, wherever it answers" }],
    tags: TAGS,
  });
  for (const item of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(item ?? {})) {
      if (operation && typeof operation === "object" && "responses" in operation) {
        (operation.responses as Record<string, unknown>)["500"] ??= INTERNAL_ERROR;
      }
    }
  }
  return document;
}
