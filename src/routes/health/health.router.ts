// Liveness and readiness for load balancers and orchestrators.
import { createRouter } from "../../http/router.ts";
import type { ServiceSlot } from "../../services.ts";
import * as routes from "./health.routes.ts";

/** `readOnly`: a search-only replica (VECTOR_STORE_READ_ONLY), said in /ready so an operator sees the mode. */
export function createHealthRouter(services: ServiceSlot, options: { readOnly: boolean }) {
  return createRouter()
    .openapi(routes.health, (c) => c.json({ status: "ok" as const }, 200))
    .openapi(routes.ready, async (c) => {
      const { store, embedder } = services.get();
      // Counting reaches the index: a database that cannot be reached makes this 503 STORE_UNAVAILABLE.
      const embeddings = await store.count();
      return c.json(
        {
          status: "ready" as const,
          embeddings,
          inference_backend: embedder.backend,
          pipeline: store.pipeline,
          read_only: options.readOnly,
        },
        200,
      );
    });
}
