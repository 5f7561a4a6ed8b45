// One end-to-end run of the ingest benchmark: the real service in its own process walks a products API, then one
// client's searches (and a shopper's uploads) are timed idle and during a second full-speed ingest.
import { startService, type ServiceProcess, type TaskView } from "../../test/helpers/service-process.ts";
import { DECODER_THREAD_NAME } from "../../src/inference/decode-pool.ts";
import { BUN_POOL_THREAD_NAME, LIBVIPS_THREAD_NAME } from "../../src/inference/large-jpeg.ts";
import { MODEL_THREAD_NAME } from "../../src/inference/model-thread.ts";
import { cpuMs, cpuMsByThreadName, EVENT_LOOP_THREAD, percentile, sampleMemory } from "./process-stats.ts";

export interface Latency {
  p50: number;
  p99: number;
  count: number;
}

export interface IngestRun {
  /** Products per second of the first ingest, from the task's own timestamps. */
  rate: number;
  /** Photos per model run, and the share of the ingest the model was running, from /metrics. */
  meanBatch: number;
  modelBusy: number;
  /** CPU ms per product during the first ingest: the whole service, and its parts (which sum to it). */
  cpuPerPhoto: number;
  cpuPerPhotoBy: CpuParts;
  idle: { similar: Latency; upload: Latency };
  busy: { similar: Latency; upload: Latency };
  /** RSS in MB: at ready, as the first ingest ends, at the end of the idle phase (the model thread gives memory back
   * RELEASE_ARENA_AFTER_MS after bulk work stops), and the peak. */
  rss: { ready: number; afterIngest: number; afterIdle: number; peak: number };
}

/**
 * Where a service's CPU goes, by its threads' names: the model (its thread and onnxruntime's pool, which inherits the
 * name), decoding (the decoding threads, and libvips' threads for large JPEGs), Bun's thread pool (the rest of sharp's
 * work, and asynchronous file writes), the event loop, and the rest: the runtime's JIT, garbage collector and
 * allocator threads, and threads that ended.
 */
export interface CpuParts {
  model: number;
  decoding: number;
  bunPool: number;
  eventLoop: number;
  runtime: number;
}

const UPLOAD_EVERY_MS = 250;

function cpuParts(pid: number): CpuParts {
  const parts = { model: 0, decoding: 0, bunPool: 0, eventLoop: 0, runtime: 0 };
  for (const [name, ms] of cpuMsByThreadName(pid)) {
    if (name === EVENT_LOOP_THREAD) parts.eventLoop += ms;
    else if (name === MODEL_THREAD_NAME) parts.model += ms;
    else if (name === DECODER_THREAD_NAME || name === LIBVIPS_THREAD_NAME) parts.decoding += ms;
    else if (name === BUN_POOL_THREAD_NAME) parts.bunPool += ms;
  }
  parts.runtime = cpuMs(pid) - parts.model - parts.decoding - parts.bunPool - parts.eventLoop;
  return parts;
}

export async function runIngest(options: {
  catalogUrl: string;
  dataDir: string;
  env: Record<string, string>;
  ids: number[];
  uploadPhoto: Uint8Array;
  idleSeconds: number;
}): Promise<IngestRun> {
  await using service = await startService({ CATALOG_API_URL: options.catalogUrl, DATA_DIR: options.dataDir, ...options.env }, { readyTimeoutMs: 120_000 });
  const memory = sampleMemory(service.process.pid);
  try {
    const ready = memory.current().rss;
    const pid = service.process.pid;
    const before = await modelMetrics(service);
    const cpuBefore = cpuParts(pid);
    const first = await ingest(service);
    const cpuAfter = cpuParts(pid);
    const after = await modelMetrics(service);
    const seconds = taskSeconds(first);
    const cpuBy = perPhoto(cpuBefore, cpuAfter, first.progress.done);
    const afterIngest = memory.current().rss;

    const idleDeadline = performance.now() + options.idleSeconds * 1000;
    const idle = await timeClients(service, options, () => performance.now() > idleDeadline);
    const afterIdle = memory.current().rss;
    const second = startIngest(service);
    let finished = false;
    void second.then(() => (finished = true), () => (finished = true));
    const busy = await timeClients(service, options, () => finished);
    const secondTask = await second;
    if (secondTask.status !== "succeeded") throw new Error(`the second ingest ${secondTask.status}: ${secondTask.message}`);

    return {
      rate: first.progress.done / seconds,
      meanBatch: (after.batchSum - before.batchSum) / (after.batchCount - before.batchCount),
      modelBusy: (after.inferenceSeconds - before.inferenceSeconds) / seconds,
      cpuPerPhoto: Object.values(cpuBy).reduce((sum, ms) => sum + ms, 0),
      cpuPerPhotoBy: cpuBy,
      idle,
      busy,
      rss: { ready, afterIngest, afterIdle, peak: memory.peak().rss },
    };
  } finally {
    memory.stop();
  }
}

function perPhoto(before: CpuParts, after: CpuParts, photos: number): CpuParts {
  const of = (part: keyof CpuParts) => (after[part] - before[part]) / photos;
  return { model: of("model"), decoding: of("decoding"), bunPool: of("bunPool"), eventLoop: of("eventLoop"), runtime: of("runtime") };
}

async function startIngest(service: ServiceProcess): Promise<TaskView> {
  const { status, body } = await service.json<{ task_id: string }>("/embeddings/generate", { method: "POST" });
  if (status !== 202) throw new Error(`POST /embeddings/generate answered ${status}`);
  return service.waitForTask(body.task_id, 60 * 60_000);
}

async function ingest(service: ServiceProcess): Promise<TaskView> {
  const task = await startIngest(service);
  if (task.status !== "succeeded" || task.progress.failed > 0) {
    throw new Error(`the ingest ${task.status} with ${task.progress.failed} failures: ${JSON.stringify(task.errors.slice(0, 3))}`);
  }
  return task;
}

function taskSeconds(task: TaskView): number {
  return (Date.parse(task.finished_at!) - Date.parse(task.started_at!)) / 1000;
}

/** One client searching back to back, and one uploading every UPLOAD_EVERY_MS, until `done()`. */
async function timeClients(
  service: ServiceProcess,
  options: { ids: number[]; uploadPhoto: Uint8Array },
  done: () => boolean,
): Promise<{ similar: Latency; upload: Latency }> {
  const similar: number[] = [];
  const upload: number[] = [];
  const timed = async (into: number[], path: string, init?: RequestInit) => {
    const started = performance.now();
    const response = await fetch(`${service.url}${path}`, init);
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`${path} answered ${response.status}`);
    into.push(performance.now() - started);
  };
  const searching = (async () => {
    for (let i = 0; !done(); i++) await timed(similar, `/similar-products/${options.ids[(i * 7919) % options.ids.length]}?top_n=10`);
  })();
  const uploading = (async () => {
    while (!done()) {
      const form = new FormData();
      form.append("image", new Blob([options.uploadPhoto as Uint8Array<ArrayBuffer>], { type: "image/jpeg" }), "photo.jpg");
      await timed(upload, "/similar-products/upload?top_n=10", { method: "POST", body: form });
      await Bun.sleep(UPLOAD_EVERY_MS);
    }
  })();
  await Promise.all([searching, uploading]);
  return { similar: summary(similar), upload: summary(upload) };
}

function summary(values: number[]): Latency {
  const sorted = values.toSorted((a, b) => a - b);
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), count: sorted.length };
}

/** The model's counters from /metrics: runs, photos in them, seconds running. */
async function modelMetrics(service: ServiceProcess): Promise<{ batchCount: number; batchSum: number; inferenceSeconds: number }> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text)?.[1] ?? 0);
  return {
    batchCount: value("fip_model_batch_size_count"),
    batchSum: value("fip_model_batch_size_sum"),
    inferenceSeconds: value("fip_model_inference_seconds_sum"),
  };
}
