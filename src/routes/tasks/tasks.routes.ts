// Route definitions for following background tasks.
import { createRoute, z } from "@hono/zod-openapi";
import {
  badRequestResponse,
  errorResponse,
  jsonResponse,
  notReadyResponse,
  readAccess,
  readRefusals,
  TaskSchema,
  wholeNumber,
} from "../../http/schemas.ts";

const tags = ["tasks"];

export const getTask = createRoute({
  method: "get",
  path: "/tasks/{task_id}",
  operationId: "getTask",
  tags,
  summary: "One background task: status, progress and per-product errors",
  ...readAccess,
  request: {
    params: z.object({
      // Declared a UUID, as every task id is; any other string is simply not found (404), as an unknown id is.
      task_id: z.string().min(1).openapi({ param: { name: "task_id", in: "path" }, format: "uuid" }),
    }),
  },
  responses: {
    200: jsonResponse(TaskSchema, "The task"),
    ...readRefusals,
    404: errorResponse("No such task (unknown, forgotten after a restart, or made by another replica: tasks are not shared)"),
    503: notReadyResponse,
  },
});

export const listTasks = createRoute({
  method: "get",
  path: "/tasks",
  operationId: "listTasks",
  tags,
  summary: "Recent background tasks, newest first, a page at a time",
  description:
    "Pages with a cursor: pass the answer's next_cursor as cursor for the next, older page. Tasks that arrive " +
    "meanwhile do not shift the pages, so no task is listed twice or skipped. A batch shows its first 100 ids here.",
  ...readAccess,
  request: {
    query: z.object({
      limit: wholeNumber({ min: 1, max: 100 }).default(20).openapi({ default: 20, example: 20, description: "Tasks per page" }),
      status: z.enum(["queued", "running", "succeeded", "failed"]).optional(),
      // Opaque to clients (a string, like next_cursor); today a task's creation number.
      cursor: z
        .string()
        .regex(/^[1-9]\d{0,15}$/, { error: "must be the next_cursor of an earlier page" })
        .transform(Number)
        .optional()
        .openapi({ description: "next_cursor from the previous page; absent for the newest tasks", example: "41" }),
    }),
  },
  responses: {
    200: jsonResponse(
      z
        .object({
          tasks: z.array(TaskSchema),
          total: z.number().int().openapi({ description: "Tasks kept that match the status filter" }),
          limit: z.number().int(),
          next_cursor: z.string().nullable().openapi({ description: "The cursor of the next page; null on the last" }),
        })
        .openapi("TaskList"),
      "One page of tasks",
    ),
    400: badRequestResponse("Invalid parameter"),
    ...readRefusals,
    503: notReadyResponse,
  },
});
