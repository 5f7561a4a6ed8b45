// Wires task status to the registry. Tasks live in memory: a restart forgets them.
import { AppError } from "../../errors.ts";
import { createRouter } from "../../http/router.ts";
import type { ServiceSlot } from "../../services.ts";
import * as routes from "./tasks.routes.ts";

export function createTasksRouter(services: ServiceSlot) {
  return createRouter()
    .openapi(routes.getTask, (c) => {
      const { task_id } = c.req.valid("param");
      const task = services.get().tasks.get(task_id);
      if (!task) throw new AppError("TASK_NOT_FOUND", 404, `no task ${task_id}`);
      return c.json(task, 200);
    })
    .openapi(routes.listTasks, (c) => {
      const { limit, status, cursor } = c.req.valid("query");
      const page = services.get().tasks.list({ limit, status, cursor });
      const next_cursor = page.nextCursor === null ? null : String(page.nextCursor);
      return c.json({ tasks: page.tasks, total: page.total, limit, next_cursor }, 200);
    });
}
