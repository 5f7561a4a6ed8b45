// GET /metrics: what Prometheus scrapes.
import { createRouter } from "../../http/router.ts";
import type { ServiceMetrics } from "../../observability/metrics.ts";
import * as routes from "./metrics.routes.ts";

export function createMetricsRouter(metrics: ServiceMetrics) {
  return createRouter().openapi(routes.metrics, async (c) =>
    c.text(await metrics.render(), 200, { "Content-Type": metrics.contentType }),
  );
}
