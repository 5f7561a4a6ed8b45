// The search page at /: search by photo or by product id, browse from result to result, follow the catalogue's tasks.
// It calls the service's public API like any other client and shows the API's own error messages. Plain ES2022
// modules, no framework and no build step; the service serves these files as they are.
import { $, ApiError, apiJson, readError, showForgetKey } from "./api-client.js";
import { wireDuplicatesPanel } from "./duplicates-panel.js";
import { refreshCount, refreshTasks, report, showMessage, showServiceProblem, wireCatalogPanel } from "./service-status.js";

const DEFAULT_TOP_N = 12;

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

// ---- Start ----------------------------------------------------------------------------------------------------------

async function start() {
  wirePhotoInputs();
  wireBrowsing();
  wireCatalogPanel(() => showView(currentView()));
  wireDuplicatesPanel();
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
