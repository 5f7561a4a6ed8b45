// Liveness and readiness for load balancers and orchestrators.
import { createRouter } from "../../http/router.ts";
import type { ServiceSlot } from "../../services.ts";
import * as routes from "./health.routes.ts";

export function createHealthRouter(services: ServiceSlot) {
  return createRouter()
    .openapi(routes.health, (c) => c.json({ status: "ok" as const }, 200))
    .openapi(routes.ready, (c) => {
      const { store, embedder } = services.get();
      return c.json(
        { status: "ready" as const, embeddings: store.count, inference_backend: embedder.backend, pipeline: store.pipeline },
        200,
      );
    });
}
