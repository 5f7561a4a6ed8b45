// Wires similar-product search to the core.
import type { MiddlewareHandler } from "hono";
import { AppError } from "../../errors.ts";
import { payloadLimit } from "../../http/payload-limit.ts";
import { createRouter } from "../../http/router.ts";
import type { ServiceSlot } from "../../services.ts";
import type { SimilarityService } from "../../similarity/similarity.ts";
import * as routes from "./similar.routes.ts";

export function createSimilarRouter(services: ServiceSlot, options: { maxUploadBytes: number }) {
  const router = createRouter();
  const uploadPath = routes.similarToUpload.getRoutingPath();
  router.use(uploadPath, holdUploadSlot(services), payloadLimit(options.maxUploadBytes, "the upload"), requireMultipartForm);
  return createSimilarToProductRouter(() => services.get().similarity, router)
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

/** GET /similar-products/{product_id} alone: the service's, and the whole of an extra HTTP loop's routes. */
export function createSimilarToProductRouter(similarity: () => SimilarityService, router = createRouter()) {
  return router.openapi(routes.similarToProduct, async (c) => {
    const { product_id } = c.req.valid("param");
    const { top_n, score_threshold, exclude_self } = c.req.valid("query");
    const similar_products = await similarity().similarToProduct(product_id, {
      topN: top_n,
      scoreThreshold: score_threshold,
      excludeId: exclude_self ? product_id : undefined,
    });
    return c.json({ similar_products }, 200);
  });
}

/**
 * Takes one of the MAX_PENDING_UPLOADS slots before the body is read and keeps it until the answer, so a flood of
 * large uploads holds a bounded number of bodies; past the limit, 503 QUEUE_FULL with Retry-After. Before the
 * services are loaded there is nothing to hold: the handler answers NOT_READY.
 */
function holdUploadSlot(services: ServiceSlot): MiddlewareHandler {
  return async function uploadSlot(_c, next) {
    if (!services.ready) return next();
    const slot = services.get().uploads.reserve(1);
    try {
      await next();
    } finally {
      slot.releaseAll();
    }
  };
}

/** A photo sent as the raw body (or JSON) is refused with a message that says what to send instead. */
const requireMultipartForm: MiddlewareHandler = async function requireMultipartForm(c, next) {
  const type = c.req.header("Content-Type");
  if (type !== undefined && !type.toLowerCase().startsWith("multipart/form-data")) {
    throw new AppError(
      "UNSUPPORTED_MEDIA_TYPE",
      415,
      "send a multipart/form-data body with the photo in the field `image`",
    );
  }
  await next();
};
