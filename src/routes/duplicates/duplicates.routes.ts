// Route definition for the near-duplicate groups of the index (a catalogue tool: the same photo under several products).
import { createRoute, z } from "@hono/zod-openapi";
import { DEFAULT_MIN_SCORE, LOWEST_MIN_SCORE } from "../../similarity/duplicate-thresholds.ts";
import {
  badRequestResponse,
  decimalNumber,
  jsonResponse,
  notReadyResponse,
  readAccess,
  readRefusals,
  TaskId,
  wholeNumber,
} from "../../http/schemas.ts";

const DuplicateGroupSchema = z
  .object({
    product_ids: z.array(z.number().int()).openapi({ description: "Ascending" }),
    size: z.number().int(),
    lowest_score: z.number().openapi({
      description:
        "The lowest score between two products of the group. Groups are connected components (A~B and B~C join A and C), so it can be below min_score.",
    }),
  })
  .openapi("DuplicateGroup");

const DuplicatesPage = z
  .object({
    groups: z.array(DuplicateGroupSchema),
    total: z.number().int().openapi({ description: "Groups in all (this page holds limit of them from offset)" }),
    products_in_groups: z.number().int(),
    min_score: z.number(),
    limit: z.number().int(),
    offset: z.number().int(),
    products_scanned: z.number().int(),
    computed_at: z.string().openapi({ description: "When the search ran; the result is reused while the index is unchanged" }),
  })
  .openapi("DuplicatesPage");

const DuplicatesTaskAccepted = z
  .object({ task_id: TaskId, status: z.enum(["queued", "running"]) })
  .openapi("DuplicatesTaskAccepted");

export const listDuplicates = createRoute({
  method: "get",
  path: "/embeddings/duplicates",
  operationId: "listDuplicates",
  tags: ["embeddings"],
  summary: "Groups of products whose photos score at least min_score with each other, largest first",
  description:
    "Computed from the index (nothing is fetched or embedded again): each product's nearest neighbours, pairs at or " +
    "above min_score joined into connected components. A small index is answered at once; a large one starts a " +
    "find_duplicates task (202): follow it at /tasks/{task_id}, then ask again for the result.",
  ...readAccess,
  request: {
    query: z.object({
      min_score: decimalNumber({ min: LOWEST_MIN_SCORE, max: 1 })
        .default(DEFAULT_MIN_SCORE)
        .openapi({ example: DEFAULT_MIN_SCORE }),
      limit: wholeNumber({ min: 1, max: 1_000 }).default(100).openapi({ example: 100 }),
      offset: wholeNumber({ min: 0, max: Number.MAX_SAFE_INTEGER }).default(0).openapi({ example: 0 }),
    }),
  },
  responses: {
    200: jsonResponse(DuplicatesPage, "The groups, a page at a time"),
    202: {
      ...jsonResponse(DuplicatesTaskAccepted, "The index is large: the search runs as a task; ask again once it has succeeded"),
      headers: z.object({ Location: z.string().openapi({ example: "/tasks/3f1c2a8e-6f7d-4a59-9a3e-0c1b7f4d2e11" }) }),
    },
    400: badRequestResponse("A bad min_score, limit or offset"),
    ...readRefusals,
    503: notReadyResponse,
  },
});
