// Wires task status to the registry. Tasks live in memory: a restart forgets them, and with several replicas on one
// PostgreSQL index each replica knows only the tasks it made.
import { AppError } from "../../errors.ts";
import { createRouter } from "../../http/router.ts";
import type { ServiceSlot } from "../../services.ts";
import * as routes from "./tasks.routes.ts";

export function createTasksRouter(services: ServiceSlot) {
  return createRouter()
    .openapi(routes.getTask, (c) => {
      const { task_id } = c.req.valid("param");
      const { tasks, sharedIndex } = services.get();
      const task = tasks.get(task_id);
      if (!task) {
        const where = sharedIndex
          ? " on this replica: tasks live in the memory of the replica that made them (the index is shared, tasks are not); " +
            "ask the replica that accepted the request"
          : "";
        throw new AppError("TASK_NOT_FOUND", 404, `no task ${task_id}${where}`);
      }
      return c.json(task, 200);
    })
    .openapi(routes.listTasks, (c) => {
      const { limit, status, cursor } = c.req.valid("query");
      const page = services.get().tasks.list({ limit, status, cursor });
      const next_cursor = page.nextCursor === null ? null : String(page.nextCursor);
      return c.json({ tasks: page.tasks, total: page.total, limit, next_cursor }, 200);
    });
}
