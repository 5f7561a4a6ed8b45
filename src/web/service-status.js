// What the page says about the service: messages for a failed action, a banner while the service is not there (it
// carries on when /ready answers again), the catalogue's count and its latest tasks with their progress and errors.
import { $, ApiError, api, apiJson, forgetKey } from "./api-client.js";

const POLL_ACTIVE_MS = 1000;
const POLL_IDLE_MS = 10000;
const TASKS_SHOWN = 5;
const ERRORS_SHOWN = 3;

/** Called when the service is back after the banner: the page shows its current view again. */
let onServiceBack = () => {};

export function showMessage(text) {
  const box = $("message");
  box.textContent = text;
  box.hidden = !text;
}

/** Not ready, shutting down or unreachable: a banner, and the page carries on by itself once the service is back. */
let waitingForService = null;

export function showServiceProblem(error) {
  const banner = $("service-banner");
  banner.textContent =
    error.code === "NOT_READY"
      ? "The service is starting: it is loading the model and the index. This page carries on by itself when it is ready."
      : error.code === "SHUTTING_DOWN"
        ? "The service is shutting down. This page carries on by itself if it comes back."
        : error.message;
  banner.hidden = false;
  waitingForService ??= (async () => {
    for (;;) {
      await sleep(1000);
      const answer = await fetch("/ready").catch(() => null);
      if (answer && answer.ok) break;
    }
    banner.hidden = true;
    waitingForService = null;
    refreshCount();
    refreshTasks();
    onServiceBack();
  })();
}

export function isServiceProblem(error) {
  return error instanceof ApiError && (error.status === 0 || error.code === "NOT_READY" || error.code === "SHUTTING_DOWN");
}

/** Shows what went wrong with an action: the API's message, or the banner when the service itself is not there. */
export function report(error) {
  if (isServiceProblem(error)) showServiceProblem(error);
  else showMessage(error instanceof ApiError ? error.message : `Something went wrong in this page: ${error}`);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const KIND_NAMES = {
  embed_product: "Embed a product",
  reembed_product: "Re-embed a product",
  delete_product: "Remove a product",
  embed_products: "Embed a list of products",
  embed_catalog: "Embed the whole catalogue",
  migrate_index: "Re-embed the index for a new pipeline",
  find_duplicates: "Find near-duplicates",
};

export async function refreshCount() {
  try {
    const { count } = await apiJson("/embeddings/count");
    $("catalogue-count").textContent = `${count.toLocaleString("en")} ${count === 1 ? "product" : "products"} indexed`;
  } catch (error) {
    $("catalogue-count").textContent = "";
    if (isServiceProblem(error)) showServiceProblem(error);
  }
}

let tasksTimer = null;
let tasksWereActive = false;

export async function refreshTasks() {
  clearTimeout(tasksTimer);
  let active = false;
  try {
    const { tasks, total } = await apiJson(`/tasks?limit=${TASKS_SHOWN}`);
    $("task-list").replaceChildren(...tasks.map(taskItem));
    $("tasks-note").textContent =
      total === 0 ? "No tasks since the service started." : total > tasks.length ? `The latest ${tasks.length} of ${total} tasks.` : "";
    active = tasks.some((task) => task.status === "queued" || task.status === "running");
    // The count moves while tasks run, and once more when the last one ends.
    if (active || tasksWereActive) refreshCount();
    tasksWereActive = active;
  } catch (error) {
    if (isServiceProblem(error)) showServiceProblem(error);
    else $("tasks-note").textContent = error.message;
  }
  tasksTimer = setTimeout(refreshTasks, active ? POLL_ACTIVE_MS : POLL_IDLE_MS);
}

function taskItem(task) {
  const item = document.createElement("li");
  item.className = `task ${task.status}`;
  item.dataset.taskId = task.task_id;
  const title = document.createElement("p");
  title.className = "task-title";
  const what = task.product_id !== null ? ` ${task.product_id}` : "";
  title.textContent = `${KIND_NAMES[task.kind] ?? task.kind}${what}: ${task.status}`;

  const { total, done, failed } = task.progress;
  const finished = task.status === "succeeded" || task.status === "failed";
  const handled = done + failed;
  const percent = total > 0 ? Math.floor((100 * handled) / total) : finished ? 100 : 0;
  const bar = document.createElement("progress");
  bar.max = 100;
  bar.value = percent;
  bar.id = `progress-${task.task_id}`;
  const label = document.createElement("label");
  label.htmlFor = bar.id;
  label.className = "task-progress";
  label.textContent = `${percent}% · ${done} done, ${failed} failed of ${total}`;

  item.append(title, bar, label);
  if (task.message) {
    const message = document.createElement("p");
    message.className = "task-message";
    message.textContent = task.message;
    item.append(message);
  }
  if (task.errors.length > 0) {
    const errors = document.createElement("ul");
    errors.className = "task-errors";
    for (const error of task.errors.slice(0, ERRORS_SHOWN)) {
      const line = document.createElement("li");
      line.textContent = `${error.product_id === null ? "Catalogue" : `Product ${error.product_id}`}: ${error.message} (${error.code})`;
      errors.append(line);
    }
    const more = task.errors.length - ERRORS_SHOWN + task.errors_omitted;
    if (more > 0) {
      const line = document.createElement("li");
      line.textContent = `… and ${more} more (GET /tasks/${task.task_id} lists them)`;
      errors.append(line);
    }
    item.append(errors);
  }
  return item;
}

/** Wires the catalogue panel's buttons; `whenBack` runs when the service answers again after the banner. */
export function wireCatalogPanel(whenBack) {
  onServiceBack = whenBack;
  $("embed-all").addEventListener("click", async () => {
    showMessage("");
    try {
      await api("/embeddings/generate-all", { method: "POST" });
    } catch (error) {
      report(error);
    }
    refreshTasks();
  });
  $("forget-key").addEventListener("click", forgetKey);
}
