// Wires GET /embeddings/duplicates to the duplicate finder: a page of groups, or the task computing them.
import { createRouter } from "../../http/router.ts";
import type { ServiceSlot } from "../../services.ts";
import * as routes from "./duplicates.routes.ts";

export function createDuplicatesRouter(services: ServiceSlot) {
  return createRouter().openapi(routes.listDuplicates, async (c) => {
    const { min_score, limit, offset } = c.req.valid("query");
    const answer = await services.get().duplicates.find(min_score);
    if (answer.state === "pending") {
      const { task_id, status } = answer.task;
      c.header("Location", `/tasks/${task_id}`);
      return c.json({ task_id, status: status === "running" ? ("running" as const) : ("queued" as const) }, 202);
    }
    const { report } = answer;
    return c.json(
      {
        groups: report.groups.slice(offset, offset + limit).map((group) => ({ ...group, size: group.product_ids.length })),
        total: report.groups.length,
        products_in_groups: report.groups.reduce((sum, group) => sum + group.product_ids.length, 0),
        min_score: report.minScore,
        limit,
        offset,
        products_scanned: report.productsScanned,
        computed_at: report.computedAt,
      },
      200,
    );
  });
}
