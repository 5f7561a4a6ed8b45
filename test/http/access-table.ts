// Who may call each operation of the OpenAPI document, with one sample request for it: writes need a key (or, with no
// keys, a loopback client), reads need one only with AUTH_READS=true, probes are always open. A test checks every
// operation of the live document is listed here, so a new route cannot be added without saying which it is.
import { imageForm } from "../helpers/app-under-test.ts";

/** "metrics": open unless METRICS_REQUIRE_KEY=true, then like a read; declared like a read. */
export type Access = "write" | "read" | "open" | "metrics";

export interface AccessCase {
  access: Access;
  path: string;
  /** A function: a body can be read once. */
  init?: () => RequestInit;
}

const json = (body: unknown) => (): RequestInit => ({
  method: "POST",
  body: JSON.stringify(body),
  headers: { "Content-Type": "application/json" },
});

/** Keyed by "METHOD /path" as the OpenAPI document spells them. */
export const ACCESS_TABLE: Record<string, AccessCase> = {
  "GET /health": { access: "open", path: "/health" },
  "GET /ready": { access: "open", path: "/ready" },
  "GET /embeddings/check/{product_id}": { access: "read", path: "/embeddings/check/1" },
  "GET /embeddings/products": { access: "read", path: "/embeddings/products" },
  "GET /embeddings/count": { access: "read", path: "/embeddings/count" },
  "GET /embeddings/duplicates": { access: "read", path: "/embeddings/duplicates" },
  "POST /embeddings/product/{product_id}": { access: "write", path: "/embeddings/product/1", init: () => ({ method: "POST" }) },
  "PUT /embeddings/product/{product_id}": { access: "write", path: "/embeddings/product/1", init: () => ({ method: "PUT" }) },
  "DELETE /embeddings/product/{product_id}": {
    access: "write",
    path: "/embeddings/product/1",
    init: () => ({ method: "DELETE" }),
  },
  "POST /embeddings/generate-batch": { access: "write", path: "/embeddings/generate-batch", init: json({ product_ids: [1] }) },
  "POST /embeddings/generate": { access: "write", path: "/embeddings/generate", init: json([1]) },
  "POST /embeddings/generate-all": { access: "write", path: "/embeddings/generate-all", init: () => ({ method: "POST" }) },
  "GET /similar-products/{product_id}": { access: "read", path: "/similar-products/1" },
  // A search that happens to take its photo in a POST: it changes nothing, so it is a read.
  "POST /similar-products/upload": {
    access: "read",
    path: "/similar-products/upload",
    init: () => ({ method: "POST", body: imageForm(new Uint8Array([0xff, 0xd8, 0xff, 0xd9])) }),
  },
  "GET /tasks/{task_id}": { access: "read", path: "/tasks/no-such-task" },
  "GET /tasks": { access: "read", path: "/tasks" },
  "GET /products/{product_id}/image": { access: "read", path: "/products/1/image" },
  "GET /metrics": { access: "metrics", path: "/metrics" },
};

/** Served outside the OpenAPI document, and open whatever the settings (the document and its page). */
export const UNDOCUMENTED_OPEN_PATHS = ["/openapi.json", "/docs", "/docs/swagger-ui.css", "/docs/swagger-init.js"];

export const casesFor = (access: Access) =>
  Object.entries(ACCESS_TABLE)
    .filter(([, entry]) => entry.access === access)
    .map(([name, entry]) => [name, entry] as const);
