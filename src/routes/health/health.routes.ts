// Route definitions for liveness and readiness probes.
import { createRoute, z } from "@hono/zod-openapi";
import { errorResponse, jsonResponse, openAccess } from "../../http/schemas.ts";

const tags = ["health"];

export const health = createRoute({
  method: "get",
  path: "/health",
  operationId: "health",
  tags,
  summary: "Liveness: the process answers",
  ...openAccess,
  responses: { 200: jsonResponse(z.object({ status: z.literal("ok") }).openapi("Health"), "Alive") },
});

export const ready = createRoute({
  method: "get",
  path: "/ready",
  operationId: "ready",
  tags,
  summary: "Readiness: the model is loaded and the index is open",
  ...openAccess,
  responses: {
    200: jsonResponse(
      z
        .object({
          status: z.literal("ready"),
          embeddings: z.number().int(),
          inference_backend: z.enum(["native", "wasm"]),
          pipeline: z.string(),
          read_only: z.boolean().openapi({
            description: "A search-only replica (VECTOR_STORE_READ_ONLY): it searches, and refuses writes with 405 READ_ONLY_REPLICA",
          }),
        })
        .openapi("Ready"),
      "Ready to embed and search",
    ),
    503: errorResponse(
      "Still loading the model or the index, shutting down, or the index's database cannot be reached; on a search-only " +
        "replica, also while the database does not hold this build's schema yet (the message says so)",
    ),
  },
});
