// The same measurement against a running service, through its public API only: index the catalogue with
// POST /embeddings/generate-all (or generate-batch for a --limit run), follow the task, then ask
// GET /similar-products/{id} for every labelled photo and POST /similar-products/upload for every shopper photo. These
// numbers include everything as deployed: the service's pipeline, its HNSW index, its score formula.
import type { Dataset } from "./dataset.ts";
import { startProgress } from "./progress.ts";
import { type Neighbours, UNLABELLED } from "./retrieval.ts";

export interface HttpIndexing {
  mode: "generate-all" | "generate-batch" | "skipped";
  photos: number;
  failed: number;
  seconds: number;
  photosPerSecond: number;
}

export interface ServiceInfo {
  pipeline: string;
  backend: string;
  embeddingsBefore: number;
  embeddingsAfter: number;
}

interface SimilarAnswer {
  similar_products: { id: number; similarity_score: number }[];
}

interface TaskAnswer {
  task_id: string;
  status: "queued" | "running" | "succeeded" | "failed";
  progress: { total: number; done: number; failed: number };
  errors: { product_id: number | null; code: string; message: string }[];
  message: string | null;
  started_at: string | null;
  finished_at: string | null;
}

export class ServiceClient {
  readonly base: string;

  constructor(base: string) {
    this.base = base.replace(/\/+$/, "");
  }

  async json<T>(path: string, init?: RequestInit): Promise<T> {
    const response = await fetch(`${this.base}${path}`, init);
    const text = await response.text();
    if (!response.ok) throw new Error(`${init?.method ?? "GET"} ${path}: HTTP ${response.status} ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  }

  /** Waits (up to `timeoutMs`) for /ready. */
  async ready(timeoutMs = 180_000): Promise<{ pipeline: string; inference_backend: string; embeddings: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await this.json("/ready");
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`${this.base} is not ready: ${(error as Error).message}`);
        await Bun.sleep(1000);
      }
    }
  }

  async followTask(taskId: string, label: string): Promise<TaskAnswer> {
    let progress: ReturnType<typeof startProgress> | null = null;
    for (;;) {
      const task = await this.json<TaskAnswer>(`/tasks/${taskId}`);
      if (task.progress.total > 0) {
        progress ??= startProgress(label, task.progress.total);
        // A catalogue walk learns its total page by page.
        progress.update(task.progress.done + task.progress.failed, task.progress.total);
      }
      if (task.status === "succeeded" || task.status === "failed") {
        progress?.finish(`${task.status}, ${task.progress.failed} failed`);
        return task;
      }
      await Bun.sleep(1000);
    }
  }
}

/** Indexes the labelled photos through the API: the whole catalogue folder, or only the given ids. */
export async function indexThroughApi(client: ServiceClient, dataset: Dataset, wholeCatalogue: boolean): Promise<HttpIndexing> {
  const tasks: TaskAnswer[] = [];
  if (wholeCatalogue) {
    const { task_id } = await client.json<{ task_id: string }>("/embeddings/generate-all?batch_size=32", { method: "POST" });
    tasks.push(await client.followTask(task_id, "service: generate-all"));
  } else {
    const ids = dataset.photos.map((photo) => photo.id);
    for (let start = 0; start < ids.length; start += 10_000) {
      const { task_id } = await client.json<{ task_id: string }>("/embeddings/generate-batch", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ product_ids: ids.slice(start, start + 10_000) }),
      });
      tasks.push(await client.followTask(task_id, "service: generate-batch"));
    }
  }
  let photos = 0;
  let failed = 0;
  let seconds = 0;
  for (const task of tasks) {
    if (task.status !== "succeeded") throw new Error(`indexing task ${task.task_id} ${task.status}: ${task.message ?? ""}`);
    photos += task.progress.done;
    failed += task.progress.failed;
    seconds += (Date.parse(task.finished_at!) - Date.parse(task.started_at!)) / 1000;
  }
  return { mode: wholeCatalogue ? "generate-all" : "generate-batch", photos, failed, seconds, photosPerSecond: photos / seconds };
}

/** Runs `work` over the items with at most `concurrency` at a time. */
async function pool<T>(items: T[], concurrency: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        await work(items[index]!, index);
      }
    }),
  );
}

function record(answer: SimilarAnswer, dataset: Dataset, neighbours: Neighbours, row: number): void {
  answer.similar_products.slice(0, neighbours.k).forEach((product, j) => {
    neighbours.index[row * neighbours.k + j] = dataset.indexOfId.get(product.id) ?? UNLABELLED;
    neighbours.score[row * neighbours.k + j] = product.similarity_score;
  });
}

export interface TimedNeighbours {
  neighbours: Neighbours;
  latencyMs: Float32Array;
}

/** GET /similar-products/{id} for each photo, enough results to still have 10 after leaving out its own copies. */
export async function similarToStored(client: ServiceClient, dataset: Dataset, concurrency: number): Promise<TimedNeighbours> {
  const k = 10 + dataset.largestGroup;
  const count = dataset.photos.length;
  const neighbours: Neighbours = { k, index: new Int32Array(count * k).fill(-1), score: new Float32Array(count * k) };
  const latencyMs = new Float32Array(count);
  const progress = startProgress("service: similar-products", count);
  let done = 0;
  await pool(dataset.photos, concurrency, async (photo, row) => {
    const started = performance.now();
    const answer = await client.json<SimilarAnswer>(`/similar-products/${photo.id}?top_n=${k}&score_threshold=0`);
    latencyMs[row] = performance.now() - started;
    record(answer, dataset, neighbours, row);
    progress.update(++done);
  });
  progress.finish();
  return { neighbours, latencyMs };
}

/** POST /similar-products/upload for each photo, the first `k` results. */
export async function similarToUploads(
  client: ServiceClient,
  dataset: Dataset,
  uploads: Uint8Array[],
  options: { k: number; concurrency: number; label: string },
): Promise<TimedNeighbours> {
  const { k } = options;
  const neighbours: Neighbours = {
    k,
    index: new Int32Array(uploads.length * k).fill(-1),
    score: new Float32Array(uploads.length * k),
  };
  const latencyMs = new Float32Array(uploads.length);
  const progress = startProgress(options.label, uploads.length);
  let done = 0;
  await pool(uploads, options.concurrency, async (bytes, row) => {
    const form = new FormData();
    form.append("image", new File([bytes], "upload.jpg", { type: "image/jpeg" }));
    const started = performance.now();
    const answer = await client.json<SimilarAnswer>(`/similar-products/upload?top_n=${k}&score_threshold=0`, {
      method: "POST",
      body: form,
    });
    latencyMs[row] = performance.now() - started;
    record(answer, dataset, neighbours, row);
    progress.update(++done);
  });
  progress.finish();
  return { neighbours, latencyMs };
}
