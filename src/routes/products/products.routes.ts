// Route definition for serving the catalogue's own photos in folder mode, so image_url in answers resolves.
import { createRoute } from "@hono/zod-openapi";
import { badRequestResponse, errorResponse, notReadyResponse, ProductIdParam, readAccess, readRefusals } from "../../http/schemas.ts";

export const productImage = createRoute({
  method: "get",
  path: "/products/{product_id}/image",
  operationId: "productImage",
  tags: ["products"],
  summary: "A product's photo (only when the catalogue is a folder, CATALOG_DIR)",
  ...readAccess,
  request: { params: ProductIdParam },
  responses: {
    200: {
      content: {
        "image/jpeg": { schema: { type: "string", format: "binary" } },
        "image/png": { schema: { type: "string", format: "binary" } },
        "image/webp": { schema: { type: "string", format: "binary" } },
      },
      description: "The photo, as stored in the folder (JPEG, PNG or WebP)",
    },
    400: badRequestResponse("Invalid product id"),
    ...readRefusals,
    404: errorResponse("No photo for this product, or the catalogue is not a folder"),
    503: notReadyResponse,
  },
});
