// Route definition for the Prometheus scrape endpoint.
import { createRoute, z } from "@hono/zod-openapi";

export const metrics = createRoute({
  method: "get",
  path: "/metrics",
  operationId: "metrics",
  tags: ["health"],
  summary: "Prometheus metrics: requests, tasks, queues, model, index, catalogue errors, process memory",
  responses: {
    200: {
      content: { "text/plain; version=0.0.4; charset=utf-8": { schema: z.string() } },
      description: "The Prometheus text exposition format (answers while the model is still loading too)",
    },
  },
});
