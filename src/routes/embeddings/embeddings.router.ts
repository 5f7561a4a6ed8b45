// Wires the embeddings routes to the core: validate (done by the route schemas), call one service function, answer.
import type { Context } from "hono";
import { AppError } from "../../errors.ts";
import { describeIssues } from "../../http/error-handling.ts";
import { payloadLimit } from "../../http/payload-limit.ts";
import { createRouter } from "../../http/router.ts";
import type { ServiceSlot } from "../../services.ts";
import type { Task } from "../../tasks/task-registry.ts";
import * as routes from "./embeddings.routes.ts";

/** The old web app's body-less POST /embeddings/generate: the whole catalogue, the pipeline's width in flight. */
const DEFAULT_CATALOG_WALK = { startPage: 1 };
/** 10,000 ids take about 80 KB of JSON. */
const MAX_JSON_BODY_BYTES = 1024 * 1024;

export function createEmbeddingsRouter(services: ServiceSlot) {
  const router = createRouter();
  router.use("/embeddings/generate*", payloadLimit(MAX_JSON_BODY_BYTES));
  return router
    .openapi(routes.checkEmbedding, async (c) => {
      const { product_id } = c.req.valid("param");
      return c.json({ product_id, has_embedding: await services.get().store.has(product_id) }, 200);
    })
    .openapi(routes.listEmbeddedProducts, async (c) => {
      const { limit, offset } = c.req.valid("query");
      const { ids, total } = await services.get().store.listIds(offset, limit);
      return c.json({ products: ids, total, limit, offset }, 200);
    })
    .openapi(routes.countEmbeddings, async (c) => c.json({ count: await services.get().store.count() }, 200))
    .openapi(routes.createEmbedding, (c) => {
      const { product_id } = c.req.valid("param");
      const task = services.get().jobs.embedProduct(product_id, "embed_product");
      return acceptedTask(c, task, { kind: "embed_product" as const, product_id });
    })
    .openapi(routes.replaceEmbedding, (c) => {
      const { product_id } = c.req.valid("param");
      const task = services.get().jobs.embedProduct(product_id, "reembed_product");
      return acceptedTask(c, task, { kind: "reembed_product" as const, product_id });
    })
    .openapi(routes.deleteEmbedding, (c) => {
      const { product_id } = c.req.valid("param");
      const task = services.get().jobs.deleteProduct(product_id);
      return acceptedTask(c, task, { kind: "delete_product" as const, product_id });
    })
    .openapi(routes.generateBatch, (c) => {
      const { product_ids } = c.req.valid("json");
      const task = services.get().jobs.embedProducts(product_ids);
      return acceptedTask(c, task, { kind: "embed_products" as const, product_ids: task.product_ids! });
    })
    .openapi(routes.generate, async (c) => {
      const productIds = await readOptionalProductIds(c);
      const jobs = services.get().jobs;
      if (productIds === null) return acceptedTask(c, jobs.embedCatalog(DEFAULT_CATALOG_WALK), { kind: "embed_catalog" as const });
      const task = jobs.embedProducts(productIds);
      return acceptedTask(c, task, { kind: "embed_products" as const, product_ids: task.product_ids! });
    })
    .openapi(routes.generateAll, (c) => {
      const { start_page, batch_size } = c.req.valid("query");
      const task = services.get().jobs.embedCatalog({ startPage: start_page, batchSize: batch_size });
      return acceptedTask(c, task, { kind: "embed_catalog" as const });
    });
}

/** `kind` is the task's, spelled out by each handler so the answer's type is as narrow as its schema. */
function acceptedTask<Extra extends { kind: Task["kind"] }>(c: Context, task: Task, extra: Extra) {
  c.header("Location", `/tasks/${task.task_id}`);
  return c.json({ task_id: task.task_id, status: "queued" as const, ...extra }, 202);
}

/**
 * The old web app posts a bare array, an object, or nothing at all (meaning the whole catalogue), with or without a
 * JSON content type, so this body is read by hand rather than by the route's validator. Null means "no body".
 */
async function readOptionalProductIds(c: Context): Promise<number[] | null> {
  const text = (await c.req.text()).trim();
  if (text === "") return null;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new AppError("VALIDATION_FAILED", 400, "body: not valid JSON");
  }
  const list = Array.isArray(body) ? body : (body as { product_ids?: unknown } | null)?.product_ids;
  const parsed = routes.ProductIds.safeParse({ product_ids: list });
  if (!parsed.success) {
    const { message, details } = describeIssues(parsed.error);
    throw new AppError("VALIDATION_FAILED", 400, message, details);
  }
  return parsed.data.product_ids;
}
