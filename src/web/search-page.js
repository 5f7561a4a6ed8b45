// The search page at /: search by photo or by product id, browse from result to result, follow the catalogue's tasks.
// It calls the service's public API like any other client and shows the API's own error messages. Plain ES2022,
// no framework and no build step; the service serves this file as it is.

const KEY_STORAGE = "fip-api-key";
const DEFAULT_TOP_N = 12;
const POLL_ACTIVE_MS = 1000;
const POLL_IDLE_MS = 10000;
const TASKS_SHOWN = 5;
const ERRORS_SHOWN = 3;

const $ = (id) => document.getElementById(id);

/** A failed call, with the API's code and message (or a readable one when the answer was not the API's envelope). */
class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

// ---- Talking to the API -------------------------------------------------------------------------------------------

async function readError(response) {
  const retryAfter = response.headers.get("Retry-After");
  try {
    const body = await response.json();
    if (body && body.error && typeof body.error.message === "string") {
      return new ApiError(response.status, body.error.code, body.error.message, retryAfter);
    }
  } catch {
    // Not the API's JSON: a proxy's page, for instance.
  }
  const reason = response.statusText ? ` (${response.statusText})` : "";
  return new ApiError(response.status, "HTTP_ERROR", `The service answered ${response.status}${reason}.`, retryAfter);
}

/** Sends the session's API key, if any; on 401 asks for one (once for all calls waiting) and tries again. */
async function api(path, init = {}) {
  for (let attempt = 0; ; attempt++) {
    const headers = new Headers(init.headers);
    const key = sessionStorage.getItem(KEY_STORAGE);
    if (key) headers.set("Authorization", `Bearer ${key}`);
    let response;
    try {
      response = await fetch(path, { ...init, headers });
    } catch {
      throw new ApiError(0, "UNREACHABLE", "The service cannot be reached. Is it running? Retrying…");
    }
    if (response.ok) return response;
    const error = await readError(response);
    if (error.status === 401 && attempt < 3 && (await askForKey(key ? "That key was not accepted." : error.message))) continue;
    throw error;
  }
}

async function apiJson(path, init) {
  return (await api(path, init)).json();
}

// ---- The API key, kept for this tab only ------------------------------------------------------------------------

let keyQuestion = null;

function askForKey(reason) {
  keyQuestion ??= new Promise((resolve) => {
    const dialog = $("key-dialog");
    const input = $("key-input");
    $("key-reason").textContent = `${reason} It is kept in this browser tab only, until you close it.`;
    input.value = "";
    const finish = (key) => {
      dialog.removeEventListener("close", onClose);
      $("key-cancel").removeEventListener("click", onCancel);
      if (dialog.open) dialog.close();
      if (key) sessionStorage.setItem(KEY_STORAGE, key);
      showForgetKey();
      keyQuestion = null;
      resolve(Boolean(key));
    };
    const onClose = () => finish(dialog.returnValue === "save" ? input.value.trim() : "");
    const onCancel = () => finish("");
    dialog.addEventListener("close", onClose);
    $("key-cancel").addEventListener("click", onCancel);
    dialog.showModal();
    input.focus();
  });
  return keyQuestion;
}

function showForgetKey() {
  $("forget-key").hidden = sessionStorage.getItem(KEY_STORAGE) === null;
}

// ---- Messages -----------------------------------------------------------------------------------------------------

function showMessage(text) {
  const box = $("message");
  box.textContent = text;
  box.hidden = !text;
}

/** Not ready, shutting down or unreachable: a banner, and the page carries on by itself once the service is back. */
let waitingForService = null;

function showServiceProblem(error) {
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
    showView(currentView());
  })();
}

function isServiceProblem(error) {
  return error instanceof ApiError && (error.status === 0 || error.code === "NOT_READY" || error.code === "SHUTTING_DOWN");
}

/** Shows what went wrong with an action: the API's message, or the banner when the service itself is not there. */
function report(error) {
  if (isServiceProblem(error)) showServiceProblem(error);
  else showMessage(error instanceof ApiError ? error.message : `Something went wrong in this page: ${error}`);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- Search options and views (one URL per view) --------------------------------------------------------------------

function options() {
  const topN = Math.min(100, Math.max(1, Number.parseInt($("top-n-input").value, 10) || DEFAULT_TOP_N));
  const threshold = Math.min(1, Math.max(0, Number($("threshold-input").value) || 0));
  return { topN, threshold };
}

function searchQuery() {
  const { topN, threshold } = options();
  return `top_n=${topN}&score_threshold=${threshold}`;
}

/** `/?product=20&top_n=12&min=0.5`: the view's URL, with the options only when they differ from the defaults. */
function urlFor(view) {
  const params = new URLSearchParams();
  if (view.kind === "product") params.set("product", String(view.productId));
  const { topN, threshold } = options();
  if (topN !== DEFAULT_TOP_N) params.set("top_n", String(topN));
  if (threshold > 0) params.set("min", String(threshold));
  const query = params.toString();
  return query ? `/?${query}` : "/";
}

/** The options a URL names (a shared link, or back and forward), into the inputs. */
function optionsFromLocation() {
  const params = new URLSearchParams(location.search);
  $("top-n-input").value = params.get("top_n") ?? String(DEFAULT_TOP_N);
  $("threshold-input").value = params.get("min") ?? "0";
  showThreshold();
}

function currentView() {
  const params = new URLSearchParams(location.search);
  const product = params.get("product");
  if (product !== null && /^\d+$/.test(product)) return { kind: "product", productId: Number(product) };
  if (history.state && history.state.upload) return { kind: "upload", ...history.state.upload };
  return { kind: "home" };
}

function go(view) {
  history.pushState(view.kind === "upload" ? { upload: { name: view.name, preview: view.preview } } : null, "", urlFor(view));
  showView(view);
}

let lastPhoto = null;
let shownRequest = 0;

async function showView(view) {
  const request = ++shownRequest;
  showMessage("");
  const preview = $("query-preview");
  preview.hidden = view.kind !== "upload" || !view.preview;
  if (!preview.hidden) {
    preview.src = view.preview;
    preview.alt = `Your photo${view.name ? `, ${view.name}` : ""}`;
  }
  if (view.kind === "home") {
    setResults("Find products that look alike", "Start with a photo of a garment, or the id of a product in the catalogue.", []);
    return;
  }
  $("product-input").value = view.kind === "product" ? String(view.productId) : "";
  const heading = view.kind === "product" ? `Looks like product ${view.productId}` : "Looks like your photo";
  setResults(heading, "Searching…", null);
  try {
    let answer;
    if (view.kind === "product") {
      answer = await apiJson(`/similar-products/${view.productId}?${searchQuery()}`);
    } else {
      if (!lastPhoto || lastPhoto.name !== view.name) {
        setResults(heading, "Choose the photo again to search with it.", []);
        return;
      }
      const form = new FormData();
      form.append("image", lastPhoto.file, lastPhoto.file.name || "photo");
      answer = await apiJson(`/similar-products/upload?${searchQuery()}`, { method: "POST", body: form });
    }
    if (request !== shownRequest) return;
    const products = answer.similar_products;
    setResults(heading, describeResults(products), products);
  } catch (error) {
    if (request !== shownRequest) return;
    setResults(heading, "", []);
    report(error);
  }
}

function describeResults(products) {
  const { threshold } = options();
  if (products.length > 0) return `${products.length} best ${products.length === 1 ? "match" : "matches"}, best first.`;
  if (threshold > 0) return `Nothing scores ${threshold.toFixed(2)} or more: lower the minimum score.`;
  return "Nothing found: the index is empty. Embed the catalogue below.";
}

function setResults(heading, note, products) {
  $("results-heading").textContent = heading;
  $("results-note").textContent = note;
  const list = $("results");
  if (products === null) return;
  list.replaceChildren(...products.map(resultCard));
}

function resultCard(product) {
  const item = document.createElement("li");
  const link = document.createElement("a");
  link.href = `/?product=${product.id}`;
  link.dataset.productId = String(product.id);
  link.className = "card";
  const image = document.createElement("img");
  image.src = product.image_url;
  image.alt = `Product ${product.id}`;
  image.loading = "lazy";
  image.decoding = "async";
  // image_url names the address the service was told (PUBLIC_URL); in folder mode the photo is also here.
  image.addEventListener("error", () => {
    const local = `/products/${product.id}/image`;
    if (!image.src.endsWith(local)) image.src = local;
  }, { once: true });
  const caption = document.createElement("span");
  caption.className = "caption";
  const id = document.createElement("span");
  id.className = "id";
  id.textContent = `#${product.id}`;
  const score = document.createElement("span");
  score.className = "score";
  score.textContent = product.similarity_score.toFixed(3);
  score.title = "Similarity score: 1.000 is the same photo";
  caption.append(id, score);
  link.append(image, caption);
  item.append(link);
  return item;
}

// ---- Photos in: picker, camera, drop, paste -------------------------------------------------------------------------

function searchWithPhoto(file) {
  if (!file) return;
  lastPhoto = { file, name: file.name || "pasted photo" };
  // The preview is an object URL: the page's policy allows blob: images for it.
  const preview = file.type.startsWith("image/") ? URL.createObjectURL(file) : "";
  go({ kind: "upload", name: lastPhoto.name, preview });
}

function photoFrom(list) {
  for (const file of list ?? []) return file;
  return null;
}

function wirePhotoInputs() {
  for (const input of [$("photo-input"), $("camera-input")]) {
    input.addEventListener("change", () => {
      searchWithPhoto(photoFrom(input.files));
      input.value = "";
    });
  }
  const zone = $("drop-zone");
  document.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  document.addEventListener("dragleave", (event) => {
    if (event.relatedTarget === null) zone.classList.remove("dragging");
  });
  document.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    searchWithPhoto(photoFrom(event.dataTransfer && event.dataTransfer.files));
  });
  document.addEventListener("paste", (event) => {
    const file = photoFrom(event.clipboardData && event.clipboardData.files);
    if (!file) return;
    event.preventDefault();
    searchWithPhoto(file);
  });
}

// ---- Browsing -------------------------------------------------------------------------------------------------------

function wireBrowsing() {
  $("browse-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("product-input").value.trim();
    if (!/^[1-9]\d*$/.test(value)) {
      showMessage("A product id is a whole number from 1 up, e.g. 20.");
      return;
    }
    go({ kind: "product", productId: Number(value) });
  });
  document.addEventListener("click", (event) => {
    const link = event.target instanceof Element ? event.target.closest("a[data-product-id], #home-link") : null;
    if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    go(link.dataset.productId ? { kind: "product", productId: Number(link.dataset.productId) } : { kind: "home" });
    window.scrollTo({ top: 0 });
  });
  window.addEventListener("popstate", () => {
    optionsFromLocation();
    showView(currentView());
  });

  const rerun = () => {
    const view = currentView();
    history.replaceState(history.state, "", urlFor(view));
    showView(view);
  };
  $("top-n-input").addEventListener("change", rerun);
  $("threshold-input").addEventListener("input", showThreshold);
  $("threshold-input").addEventListener("change", rerun);
}

function showThreshold() {
  $("threshold-output").textContent = Number($("threshold-input").value).toFixed(2);
}

// ---- The catalogue: count and tasks ---------------------------------------------------------------------------------

const KIND_NAMES = {
  embed_product: "Embed a product",
  reembed_product: "Re-embed a product",
  delete_product: "Remove a product",
  embed_products: "Embed a list of products",
  embed_catalog: "Embed the whole catalogue",
  migrate_index: "Re-embed the index for a new pipeline",
};

async function refreshCount() {
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

async function refreshTasks() {
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

function wireTasks() {
  $("embed-all").addEventListener("click", async () => {
    showMessage("");
    try {
      await api("/embeddings/generate-all", { method: "POST" });
    } catch (error) {
      report(error);
    }
    refreshTasks();
  });
  $("forget-key").addEventListener("click", () => {
    sessionStorage.removeItem(KEY_STORAGE);
    showForgetKey();
  });
}

// ---- Start ----------------------------------------------------------------------------------------------------------

async function start() {
  wirePhotoInputs();
  wireBrowsing();
  wireTasks();
  showForgetKey();
  optionsFromLocation();
  const ready = await fetch("/ready").catch(() => null);
  if (!ready || !ready.ok) {
    showServiceProblem(ready ? await readError(ready) : new ApiError(0, "UNREACHABLE", "The service cannot be reached."));
    showView({ kind: "home" });
    return;
  }
  refreshCount();
  refreshTasks();
  showView(currentView());
}

start();
