// A log line when each background task starts and when it ends, with its counts and duration.
import type { Logger } from "./log.ts";
import type { ServiceObserver } from "./observer.ts";

export function logTasks(logger: Logger): Pick<ServiceObserver, "taskStarted" | "taskFinished"> {
  return {
    taskStarted(task) {
      logger.info(`task ${task.kind} started`, {
        task_id: task.task_id,
        kind: task.kind,
        product_id: task.product_id ?? undefined,
        total: task.progress.total,
      });
    },
    taskFinished(task, seconds) {
      logger.info(`task ${task.kind} ${task.status}`, {
        task_id: task.task_id,
        kind: task.kind,
        status: task.status,
        product_id: task.product_id ?? undefined,
        total: task.progress.total,
        done: task.progress.done,
        failed: task.progress.failed,
        seconds: Math.round(seconds * 1000) / 1000,
        message: task.message ?? undefined,
      });
    },
  };
}
