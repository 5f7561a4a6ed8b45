// Route definitions for similar-product search, by stored product or by an uploaded photo.
import { createRoute, z } from "@hono/zod-openapi";
import {
  BOOLEAN_SPELLINGS,
  badRequestResponse,
  booleanFlag,
  busyResponse,
  decimalNumber,
  errorResponse,
  ImageRefusedResponse,
  jsonResponse,
  notReadyResponse,
  PayloadTooLargeResponse,
  ProductIdParam,
  readAccess,
  readRefusals,
  wholeNumber,
} from "../../http/schemas.ts";

const tags = ["similar-products"];

const SCORE_DESCRIPTION =
  "similarity_score = 1 - d²/2, where d² is the squared L2 distance in the index between the two unit-length " +
  "vectors (ResNet50 embeddings, square-rooted per component, then L2-normalised): their cosine similarity. " +
  "In [0, 1]: 1.0 for an identical photo, higher is more similar; it ranks, it is not a probability.";

const SimilarProducts = z
  .object({
    similar_products: z.array(
      z.object({
        id: z.number().int(),
        similarity_score: z.number().openapi({ description: SCORE_DESCRIPTION, example: 0.93 }),
        image_url: z.string().openapi({ example: "https://shop.example/api/products/29/image" }),
      }),
    ),
  })
  .openapi("SimilarProducts", { description: `Best first. ${SCORE_DESCRIPTION}` });

const searchOptions = {
  top_n: wholeNumber({ min: 1, max: 1000 })
    .default(5)
    .openapi({ default: 5, example: 5, description: "At most this many results" }),
  score_threshold: decimalNumber({ min: 0, max: 1 })
    .default(0)
    .openapi({ default: 0, example: 0, description: "Leave out results scoring below this (0 keeps all). " + SCORE_DESCRIPTION }),
};


export const similarToProduct = createRoute({
  method: "get",
  path: "/similar-products/{product_id}",
  operationId: "similarToProduct",
  tags,
  summary: "Products that look like a stored product",
  ...readAccess,
  request: {
    params: ProductIdParam,
    query: z.object({
      ...searchOptions,
      exclude_self: booleanFlag().openapi({ description: "Leave the product itself out of the answer. " + BOOLEAN_SPELLINGS }),
    }),
  },
  responses: {
    200: jsonResponse(SimilarProducts, "Similar products, best first"),
    400: badRequestResponse("Invalid product id or parameter"),
    ...readRefusals,
    404: errorResponse("The product has no embedding"),
    503: notReadyResponse,
  },
});

export const similarToUpload = createRoute({
  method: "post",
  path: "/similar-products/upload",
  operationId: "similarToUpload",
  tags,
  summary: "Products that look like an uploaded photo",
  description: "A search: it changes nothing, so it needs a key only with AUTH_READS=true, like the other reads.",
  ...readAccess,
  request: {
    query: z.object(searchOptions),
    body: {
      required: true,
      content: {
        "multipart/form-data": {
          schema: z.object({
            image: z
              .instanceof(File, { error: "attach the photo as the multipart field `image`" })
              .refine((file) => file.size > 0, "the photo is empty")
              // format: binary is what generators read as a file: Blob | File (hey-api, orval), or Blob with
              // openapi-typescript's documented transform (README).
              .openapi({ type: "string", format: "binary", description: "A JPEG, PNG or WebP photo" }),
          }),
          encoding: { image: { contentType: "image/jpeg, image/png, image/webp" } },
        },
      },
    },
  },
  responses: {
    200: jsonResponse(SimilarProducts, "Similar products, best first"),
    ...readRefusals,
    400: badRequestResponse("Missing or empty `image` field, or an invalid parameter"),
    413: errorResponse("The upload is larger than the limit (MAX_UPLOAD_BYTES)", PayloadTooLargeResponse),
    415: errorResponse("Not a multipart form, or not a JPEG, PNG or WebP photo"),
    422: errorResponse(
      "INVALID_IMAGE: a broken or truncated photo; IMAGE_TOO_LARGE: more pixels than the limit (MAX_IMAGE_PIXELS)",
      ImageRefusedResponse,
    ),
    503: busyResponse,
  },
});
