// Wires similar-product search to the core.
import { payloadLimit } from "../../http/payload-limit.ts";
import { createRouter } from "../../http/router.ts";
import type { ServiceSlot } from "../../services.ts";
import * as routes from "./similar.routes.ts";

export function createSimilarRouter(services: ServiceSlot, options: { maxUploadBytes: number }) {
  const router = createRouter();
  router.use(routes.similarToUpload.getRoutingPath(), payloadLimit(options.maxUploadBytes, "the upload"));
  return router
    .openapi(routes.similarToProduct, (c) => {
      const { product_id } = c.req.valid("param");
      const { top_n, score_threshold, exclude_self } = c.req.valid("query");
      const similar_products = services.get().similarity.similarToProduct(product_id, {
        topN: top_n,
        scoreThreshold: score_threshold,
        excludeId: exclude_self ? product_id : undefined,
      });
      return c.json({ similar_products }, 200);
    })
    .openapi(routes.similarToUpload, async (c) => {
      const { top_n, score_threshold } = c.req.valid("query");
      const { image } = c.req.valid("form");
      const photo = new Uint8Array(await image.arrayBuffer());
      const similar_products = await services.get().similarity.similarToPhoto(photo, {
        topN: top_n,
        scoreThreshold: score_threshold,
      });
      return c.json({ similar_products }, 200);
    });
}
