// Route definition for the Prometheus scrape endpoint.
import { createRoute, z } from "@hono/zod-openapi";
import { readAccess, readRefusals } from "../../http/schemas.ts";

export const metrics = createRoute({
  method: "get",
  path: "/metrics",
  operationId: "metrics",
  tags: ["health"],
  summary: "Prometheus metrics: requests, tasks, queues, model, index, catalogue errors, process memory",
  description: "Open unless METRICS_REQUIRE_KEY=true; then it takes an API key like a read.",
  ...readAccess,
  responses: {
    200: {
      content: { "text/plain; version=0.0.4; charset=utf-8": { schema: z.string() } },
      description: "The Prometheus text exposition format (answers while the model is still loading too)",
    },
    ...readRefusals,
  },
});
