// Route definitions for the embeddings endpoints: the old system's URLs and JSON shapes, now with real statuses.
import { createRoute, z } from "@hono/zod-openapi";
import {
  badRequestResponse,
  busyResponse,
  errorResponse,
  jsonResponse,
  notReadyResponse,
  ProductIdList,
  ProductIdParam,
  readAccess,
  PayloadTooLargeResponse,
  readRefusals,
  TaskId,
  WalkInProgressResponse,
  wholeNumber,
  writeAccess,
  writeRefusals,
} from "../../http/schemas.ts";

const tags = ["embeddings"];

const queued = { task_id: TaskId, status: z.literal("queued") };

const TaskAccepted = z
  .object({ ...queued, kind: z.enum(["embed_product", "reembed_product", "delete_product"]), product_id: z.number().int() })
  .openapi("ProductTaskAccepted");

const BatchTaskAccepted = z
  .object({ ...queued, kind: z.literal("embed_products"), product_ids: z.array(z.number().int()) })
  .openapi("BatchTaskAccepted");

const CatalogTaskAccepted = z.object({ ...queued, kind: z.literal("embed_catalog") }).openapi("CatalogTaskAccepted");

/** What /embeddings/generate started: a batch or a catalogue walk, told apart by `kind`. */
const GenerateAccepted = z
  .discriminatedUnion("kind", [BatchTaskAccepted, CatalogTaskAccepted])
  .openapi("GenerateAccepted");

export const ProductIds = z.object({ product_ids: ProductIdList.openapi({ example: [20, 29, 14] }) }).openapi("ProductIds");

const accepted = <T extends z.ZodType>(schema: T) => ({
  ...jsonResponse(schema, "Accepted: the work runs in the background. Follow it at the Location header, /tasks/{task_id}."),
  headers: z.object({ Location: z.string().openapi({ example: "/tasks/3f1c2a8e-6f7d-4a59-9a3e-0c1b7f4d2e11" }) }),
});

const badRequest = badRequestResponse("Invalid product id, parameter or body");
const badBatch = badRequestResponse(
  "Invalid body, or more products than MAX_QUEUED_PRODUCTS could ever admit (at most 10,000 per request)",
);
const payloadTooLarge = errorResponse("The body is larger than 1 MiB", PayloadTooLargeResponse);
const walkInProgress = errorResponse(
  "WALK_IN_PROGRESS: a catalogue walk is already queued or running (one at a time); details.task_id names it",
  WalkInProgressResponse,
);

export const checkEmbedding = createRoute({
  method: "get",
  path: "/embeddings/check/{product_id}",
  operationId: "checkEmbedding",
  tags,
  summary: "Whether a product has an embedding",
  ...readAccess,
  request: { params: ProductIdParam },
  responses: {
    200: jsonResponse(
      z.object({ product_id: z.number().int(), has_embedding: z.boolean() }).openapi("EmbeddingCheck"),
      "Whether the product is in the index",
    ),
    400: badRequest,
    ...readRefusals,
    503: notReadyResponse,
  },
});

export const listEmbeddedProducts = createRoute({
  method: "get",
  path: "/embeddings/products",
  operationId: "listEmbeddedProducts",
  tags,
  summary: "Ids of the products that have an embedding, ascending, a page at a time",
  ...readAccess,
  request: {
    query: z.object({
      limit: wholeNumber({ min: 1, max: 10_000 }).default(100).openapi({ default: 100, example: 100 }),
      offset: wholeNumber({ min: 0, max: Number.MAX_SAFE_INTEGER }).default(0).openapi({ default: 0, example: 0 }),
    }),
  },
  responses: {
    200: jsonResponse(
      z
        .object({
          products: z.array(z.number().int()),
          total: z.number().int(),
          limit: z.number().int(),
          offset: z.number().int(),
        })
        .openapi("EmbeddedProducts"),
      "One page of product ids",
    ),
    400: badRequest,
    ...readRefusals,
    503: notReadyResponse,
  },
});

export const countEmbeddings = createRoute({
  method: "get",
  path: "/embeddings/count",
  operationId: "countEmbeddings",
  tags,
  summary: "How many products have an embedding",
  ...readAccess,
  responses: {
    200: jsonResponse(z.object({ count: z.number().int() }).openapi("EmbeddingCount"), "The count"),
    ...readRefusals,
    503: notReadyResponse,
  },
});

const productWrite = (method: "post" | "put" | "delete", operationId: string, summary: string, description: string) =>
  createRoute({
    method,
    path: "/embeddings/product/{product_id}",
    operationId,
    tags,
    summary,
    description,
    ...writeAccess,
    request: { params: ProductIdParam },
    responses: { 202: accepted(TaskAccepted), 400: badRequest, ...writeRefusals, 503: busyResponse },
  });

export const createEmbedding = productWrite(
  "post",
  "createEmbedding",
  "Embed one product's photo",
  "Fetches the product's photo from the catalogue, embeds it and stores it. A product never has two vectors: if it " +
    "already has one, it is replaced.",
);

export const replaceEmbedding = productWrite(
  "put",
  "replaceEmbedding",
  "Re-fetch and replace one product's embedding",
  "Fetches the product's photo again and replaces its vector (never a second vector).",
);

export const deleteEmbedding = productWrite(
  "delete",
  "deleteEmbedding",
  "Remove one product's embedding",
  "Removes the product's vector. Not an error if it had none: the task's message says so.",
);

export const generateBatch = createRoute({
  method: "post",
  path: "/embeddings/generate-batch",
  operationId: "generateBatch",
  tags,
  summary: "Embed a list of products",
  ...writeAccess,
  description: "One task for the whole list; a product that fails is recorded on the task, the others go on.",
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: ProductIds,
        },
      },
    },
  },
  responses: {
    202: accepted(BatchTaskAccepted),
    400: badBatch,
    ...writeRefusals,
    413: payloadTooLarge,
    503: busyResponse,
  },
});

export const generate = createRoute({
  method: "post",
  path: "/embeddings/generate",
  operationId: "generate",
  tags,
  summary: "Embed a list of products, or the whole catalogue (the old system's spelling)",
  ...writeAccess,
  description:
    "With a body, like generate-batch: {\"product_ids\": [...]} (a bare JSON array of ids is accepted too, as the " +
    "old web app sends it). With no body, the whole catalogue, like generate-all with its defaults. The answer's " +
    "`kind` says which started: embed_products or embed_catalog.",
  request: {
    body: {
      required: false,
      content: {
        // A reference, not the zod schema: this body is read by the handler, which also accepts the bare array and an
        // empty body sent with a JSON content type, as the old web app does.
        "application/json": { schema: { $ref: "#/components/schemas/ProductIds" } },
      },
    },
  },
  responses: {
    202: accepted(GenerateAccepted),
    400: badBatch,
    ...writeRefusals,
    409: walkInProgress,
    413: payloadTooLarge,
    503: busyResponse,
  },
});

export const generateAll = createRoute({
  method: "post",
  path: "/embeddings/generate-all",
  operationId: "generateAll",
  tags,
  summary: "Embed every product in the catalogue",
  ...writeAccess,
  description:
    "One task walks the catalogue page by page from start_page and embeds every product, batch_size products " +
    "in flight at a time (the next pages are listed while products of earlier ones are in flight). Products that already have a vector get it replaced, never duplicated. One walk at a " +
    "time: while one is queued or running, another answers 409.",
  request: {
    query: z.object({
      start_page: wholeNumber({ min: 1, max: 1_000_000 }).default(1).openapi({ default: 1, example: 1 }),
      batch_size: wholeNumber({ min: 1, max: 256 })
        .optional()
        .openapi({
          example: 32,
          description:
            "Products in flight at a time; by default enough to keep the model's batches full (twice the larger of " +
            "INFERENCE_BATCH_SIZE and CATALOG_CONCURRENCY, 32 with their defaults)",
        }),
    }),
  },
  responses: { 202: accepted(CatalogTaskAccepted), 400: badRequest, ...writeRefusals, 409: walkInProgress, 503: busyResponse },
});

