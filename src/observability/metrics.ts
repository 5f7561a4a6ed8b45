// The service's Prometheus metrics, on a registry of its own (never prom-client's global one, so several apps in one
// process keep separate counts). Events come through the ServiceObserver hooks; queue depths, unfinished tasks and
// the index size are read from the live services when Prometheus scrapes, so the core never imports prom-client.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Services } from "../services.ts";
import type { VectorIndex } from "../store/vector-index.ts";
import { BoundedReading } from "./bounded-reading.ts";
import type { ServiceObserver } from "./observer.ts";

/**
 * prom-client's default collectors are written for Node's V8; under Bun these report zeros or made-up values (V8
 * heap spaces, libuv handles, V8 GC events, Bun's emulated Node version), and `process_heap_bytes` (VmData) counts
 * the gigabytes of address space JavaScriptCore reserves, so they are left out. Process CPU, resident and virtual
 * memory, the JS heap (nodejs_heap_size_*_bytes, from process.memoryUsage()), file descriptors and event loop lag are
 * real.
 */
const MISLEADING_UNDER_BUN = /^(nodejs_(heap_space_|active_|gc_|version_info)|process_heap_bytes$)/;

const HTTP_SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const INFERENCE_SECONDS_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const SEARCH_SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64];
const INDEX_SIZE_TIMEOUT_MS = 1_000;

export interface RequestMeasure {
  method: string;
  /** The route template (`/similar-products/{product_id}`) or `unmatched`: never the raw path. */
  route: string;
  status: number;
  seconds: number;
}

/** Where a request's measure goes: the metrics, or (on an extra HTTP loop) a message to them. */
export interface RequestRecorder {
  recordRequest(measure: RequestMeasure): void;
}

export class ServiceMetrics implements RequestRecorder {
  readonly registry = new Registry();
  readonly observer: ServiceObserver;
  readonly #requests: Counter<"method" | "route" | "status">;
  readonly #requestSeconds: Histogram<"method" | "route">;
  readonly #extraLoops: Counter<"outcome">;
  /** Measures taken on other threads, brought in before each rendering (extra-loop.ts). */
  readonly #gatherers = new Set<() => Promise<void>>();

  /** `readServices` gives the loaded services, or null while they load. */
  constructor(readServices: () => Services | null) {
    let indexSize: { store: VectorIndex; reading: BoundedReading } | null = null;
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    for (const metric of this.registry.getMetricsAsArray()) {
      if (MISLEADING_UNDER_BUN.test(metric.name)) this.registry.removeSingleMetric(metric.name);
    }

    this.#requests = new Counter({
      name: "fip_http_requests_total",
      help: "HTTP requests answered, by method, route template and status",
      labelNames: ["method", "route", "status"],
      registers,
    });
    this.#requestSeconds = new Histogram({
      name: "fip_http_request_duration_seconds",
      help: "Time from a request's arrival to its answer, by method and route template",
      labelNames: ["method", "route"],
      buckets: HTTP_SECONDS_BUCKETS,
      registers,
    });
    this.#extraLoops = new Counter({
      name: "fip_http_extra_loop_requests_total",
      help: "Requests that came in on the extra HTTP loops' connections: answered there, or relayed to the main thread",
      labelNames: ["outcome"],
      registers,
    });
    const tasksFinished = new Counter({
      name: "fip_tasks_finished_total",
      help: "Background tasks finished, by kind and final status",
      labelNames: ["kind", "status"],
      registers,
    });
    new Gauge({
      name: "fip_tasks_pending",
      help: "Background tasks queued or running, by kind and status",
      labelNames: ["kind", "status"],
      registers,
      collect() {
        this.reset();
        const services = readServices();
        if (!services) return;
        // Every kind the registry still remembers gets both series, so a drained queue reads 0, not "no data".
        for (const task of services.tasks.list({ limit: Number.MAX_SAFE_INTEGER }).tasks) {
          for (const status of ["queued", "running"] as const) {
            this.inc({ kind: task.kind, status }, task.status === status ? 1 : 0);
          }
        }
      },
    });
    new Gauge({
      name: "fip_queue_depth",
      help: "Work waiting for its turn at each ingestion stage: catalogue requests, photo decoding, the model",
      labelNames: ["queue"],
      registers,
      collect() {
        this.reset();
        const depths = readServices()?.queueDepths();
        if (!depths) return;
        this.set({ queue: "catalog_requests" }, depths.catalogRequests);
        this.set({ queue: "decode" }, depths.decode);
        this.set({ queue: "model" }, depths.model);
      },
    });
    const batchSize = new Histogram({
      name: "fip_model_batch_size",
      help: "Photos per model run",
      buckets: BATCH_SIZE_BUCKETS,
      registers,
    });
    const inferenceSeconds = new Histogram({
      name: "fip_model_inference_seconds",
      help: "Time of one model run (a whole batch)",
      buckets: INFERENCE_SECONDS_BUCKETS,
      registers,
    });
    new Gauge({
      name: "fip_index_embeddings",
      help: "Embeddings in the index (products searchable)",
      registers,
      // With PostgreSQL a count is a query: one at a time, and a scrape waits for it at most a second.
      async collect() {
        const services = readServices();
        if (!services) return;
        if (indexSize?.store !== services.store) {
          const store = services.store;
          indexSize = { store, reading: new BoundedReading(() => store.count(), INDEX_SIZE_TIMEOUT_MS) };
        }
        const count = await indexSize.reading.value();
        if (count !== null) this.set(count);
      },
    });
    const searchSeconds = new Histogram({
      name: "fip_search_duration_seconds",
      help: "Time of one nearest-neighbour search in the index",
      buckets: SEARCH_SECONDS_BUCKETS,
      registers,
    });
    const catalogErrors = new Counter({
      name: "fip_catalog_errors_total",
      help: "Catalogue requests that failed for good (after retries), by error code",
      labelNames: ["code"],
      registers,
    });

    this.observer = {
      modelBatch(size, seconds) {
        batchSize.observe(size);
        inferenceSeconds.observe(seconds);
      },
      search: (seconds) => searchSeconds.observe(seconds),
      catalogError: (code) => catalogErrors.inc({ code }),
      taskStarted() {},
      taskFinished: (task) => tasksFinished.inc({ kind: task.kind, status: task.status }),
    };
  }

  recordRequest({ method, route, status, seconds }: RequestMeasure): void {
    this.#requests.inc({ method, route, status });
    this.#requestSeconds.observe({ method, route }, seconds);
  }

  /** `text/plain; version=0.0.4; charset=utf-8`: the Prometheus text format. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Requests that came in on an extra HTTP loop's connections since it last reported. */
  recordExtraLoop(answered: number, relayed: number): void {
    this.#extraLoops.inc({ outcome: "answered" }, answered);
    this.#extraLoops.inc({ outcome: "relayed" }, relayed);
  }

  /** Has `gather` bring in another thread's measures before each rendering; the returned function stops that. */
  gatherFrom(gather: () => Promise<void>): () => void {
    this.#gatherers.add(gather);
    return () => this.#gatherers.delete(gather);
  }

  async render(): Promise<string> {
    await Promise.all([...this.#gatherers].map((gather) => gather()));
    return this.registry.metrics();
  }
}
