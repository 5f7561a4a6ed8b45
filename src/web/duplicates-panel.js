// The catalogue's near-duplicates (GET /embeddings/duplicates): groups of products whose photos score at least the
// default min_score with each other, largest first, each product a link to its own similar products. A large index
// answers with a task first (202): the panel follows it, then asks again for the groups.
import { $, api, apiJson } from "./api-client.js";
import { report } from "./service-status.js";

const GROUPS_SHOWN = 20;
const POLL_MS = 1000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function groupsOnceComputed() {
  for (;;) {
    const response = await api(`/embeddings/duplicates?limit=${GROUPS_SHOWN}`);
    if (response.status !== 202) return response.json();
    const { task_id } = await response.json();
    for (;;) {
      const task = await apiJson(`/tasks/${task_id}`);
      $("duplicates-note").textContent = `Comparing every product with its neighbours: ${task.progress.done} of ${task.progress.total}…`;
      if (task.status === "failed") throw new Error(task.message ?? "the search for near-duplicates failed");
      if (task.status === "succeeded") break;
      await sleep(POLL_MS);
    }
  }
}

function groupItem(group) {
  const item = document.createElement("li");
  item.className = "task";
  const title = document.createElement("p");
  title.className = "task-title";
  title.textContent = `${group.size} products, lowest score ${group.lowest_score.toFixed(3)}`;
  const links = document.createElement("p");
  links.className = "duplicate-ids";
  for (const id of group.product_ids) {
    const link = document.createElement("a");
    link.href = `/?product=${id}`;
    link.textContent = `#${id}`;
    links.append(link, " ");
  }
  item.append(title, links);
  return item;
}

export function wireDuplicatesPanel() {
  const button = $("find-duplicates");
  button.addEventListener("click", async () => {
    button.disabled = true;
    $("duplicates-note").textContent = "Looking for near-duplicates…";
    $("duplicate-groups").replaceChildren();
    try {
      const page = await groupsOnceComputed();
      $("duplicates-note").textContent =
        page.total === 0
          ? `No products whose photos score ${page.min_score} or more with each other.`
          : `${page.total} ${page.total === 1 ? "group" : "groups"} scoring ${page.min_score} or more (${page.products_in_groups} products); the largest first.`;
      $("duplicate-groups").replaceChildren(...page.groups.map(groupItem));
    } catch (error) {
      $("duplicates-note").textContent = "";
      report(error);
    } finally {
      button.disabled = false;
    }
  });
}
