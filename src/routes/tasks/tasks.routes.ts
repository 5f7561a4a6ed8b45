// Route definitions for following background tasks.
import { createRoute, z } from "@hono/zod-openapi";
import {
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
  request: { params: z.object({ task_id: z.string().min(1).openapi({ param: { name: "task_id", in: "path" } }) }) },
  responses: {
    200: jsonResponse(TaskSchema, "The task"),
    ...readRefusals,
    404: errorResponse("No such task (unknown, or forgotten after a restart)"),
    503: notReadyResponse,
  },
});

export const listTasks = createRoute({
  method: "get",
  path: "/tasks",
  operationId: "listTasks",
  tags,
  summary: "Recent background tasks, newest first",
  ...readAccess,
  request: {
    query: z.object({
      limit: wholeNumber({ min: 1, max: 1000 }).default(50),
      status: z.enum(["queued", "running", "succeeded", "failed"]).optional(),
    }),
  },
  responses: {
    200: jsonResponse(z.object({ tasks: z.array(TaskSchema) }).openapi("TaskList"), "Recent tasks"),
    400: errorResponse("Invalid parameter"),
    ...readRefusals,
    503: notReadyResponse,
  },
});
