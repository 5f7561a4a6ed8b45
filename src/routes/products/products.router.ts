// Serves product photos from CATALOG_DIR; with a products API the shop serves its own photos.
import { AppError, productNotFoundInCatalog } from "../../errors.ts";
import { createRouter } from "../../http/router.ts";
import type { ServiceSlot } from "../../services.ts";
import * as routes from "./products.routes.ts";

export function createProductsRouter(services: ServiceSlot) {
  return createRouter().openapi(routes.productImage, async (c) => {
    const { product_id } = c.req.valid("param");
    const folder = services.get().photoFolder;
    if (!folder) throw new AppError("NOT_FOUND", 404, "photos are served by the catalogue API, not by this service");
    const photo = await folder.imagePath(product_id);
    if (!photo) throw productNotFoundInCatalog(product_id);
    return new Response(Bun.file(photo.path), {
      headers: { "Content-Type": photo.contentType, "Cache-Control": "public, max-age=300" },
    }) as never;
  });
}
