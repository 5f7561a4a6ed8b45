// Builds the core of the service from its configuration (model, index, catalogue, task runner) with no HTTP in
// sight, so the server, the tests and later the command line all assemble it the same way.
import { readFileSync } from "node:fs";
import { Admission } from "./admission.ts";
import { createCatalog } from "./catalog/create-catalog.ts";
import { FolderCatalog } from "./catalog/folder-catalog.ts";
import { HttpCatalog } from "./catalog/http-catalog.ts";
import { reportingFailures } from "./catalog/reporting-catalog.ts";
import { type Config, DEFAULT_PRECISION, type InferencePrecision } from "./config.ts";
import { AppError } from "./errors.ts";
import { DecodePool } from "./inference/decode-pool.ts";
import { Embedder } from "./inference/embedder.ts";
import { checkModelPrecision } from "./inference/model-precision.ts";
import { openModelThread } from "./inference/model-thread.ts";
import type { DecodeOptions, LargeJpegDecoding, ResizeFilter } from "./inference/image-decoder.ts";
import type { FitMode, VectorNormalisation } from "./inference/preprocess.ts";
import type { Projection } from "./inference/projection.ts";
import { loadShippedProjection, SHIPPED_PROJECTION_PATH } from "./inference/shipped-projection.ts";
import { type ServiceObserver, silentObserver } from "./observability/observer.ts";
import { DuplicateFinder } from "./similarity/duplicate-finder.ts";
import { SimilarityService } from "./similarity/similarity.ts";
import { openIndex, openIndexReadOnly } from "./store/open-index.ts";
import type { VectorIndex } from "./store/vector-index.ts";
import { EmbeddingJobs } from "./tasks/embedding-jobs.ts";
import { TaskRegistry } from "./tasks/task-registry.ts";
import { TaskRunner } from "./tasks/task-runner.ts";

/**
 * The model each precision runs: the int8 one carries the sha256 of models/resnet50-int8.onnx, so a new calibration
 * (new vectors) is a new pipeline (test/unit/int8-model.test.ts holds the two together).
 */
export const MODEL_STEP: Readonly<Record<InferencePrecision, string>> = {
  fp32: "resnet50-imagenet",
  int8: "resnet50-imagenet-int8-5beb362ee263",
};

/** The name stored with the index: the fp32 name is the one indexes were made with before int8 existed. */
export function pipelineName(precision: InferencePrecision): string {
  return `${MODEL_STEP[precision]}/squash-224-cubic+jpeg-dct-lanczos3/sqrt-l2/lda64-type-colour+pca256+lab144-0b753b0f2281/v3`;
}

/**
 * How photos become vectors, chosen by measurement (docs/quality.md). Its name is stored with the index: vectors made
 * by another pipeline are never mixed in, and an index made by an earlier one is migrated at start. The last step is
 * the learned projection (models/fashion-projection.bin, `npm run fit`); its checksum is part of the name, so a refit
 * that changes the file changes the pipeline (test/unit/pipeline-pin.test.ts holds the two together).
 */
export const PIPELINE: {
  /** The default precision's pipeline name (pipelineName gives each precision's). */
  name: string;
  fitMode: FitMode;
  smoothing: ResizeFilter;
  largeJpegs: LargeJpegDecoding;
  normalisation: VectorNormalisation;
  projectionSha256: string;
} = {
  name: pipelineName(DEFAULT_PRECISION),
  fitMode: "squash",
  smoothing: "high",
  largeJpegs: "shrink-on-load",
  normalisation: "sqrt-l2",
  projectionSha256: "0b753b0f228117f9782e5643e9c89baf178316279830ddac7163bc023a3f7937",
};

/** How the pipeline turns a photo of up to `maxPixels` pixels into the model's input. */
export function pipelineDecoding(maxPixels: number): DecodeOptions {
  return { fitMode: PIPELINE.fitMode, smoothing: PIPELINE.smoothing, largeJpegs: PIPELINE.largeJpegs, maxPixels };
}

/** The shipped projection, refused if it is not the file the pipeline name was given for. */
export function loadPipelineProjection(): Projection {
  const projection = loadShippedProjection();
  const sha256 = new Bun.CryptoHasher("sha256").update(readFileSync(SHIPPED_PROJECTION_PATH)).digest("hex");
  if (sha256 !== PIPELINE.projectionSha256) {
    throw new Error(`${SHIPPED_PROJECTION_PATH} has sha256 ${sha256}, but the pipeline ${PIPELINE.name} was named for ${PIPELINE.projectionSha256}: rename the pipeline after a refit`);
  }
  return projection;
}

export interface Services {
  /** The embedded store in DATA_DIR, or PostgreSQL shared with other replicas (VECTOR_STORE_URL). */
  store: VectorIndex;
  /** The index is shared with other replicas (VECTOR_STORE_URL); tasks are not: each lives on the replica that made it. */
  sharedIndex: boolean;
  embedder: Embedder;
  jobs: EmbeddingJobs;
  similarity: SimilarityService;
  /** Near-duplicate groups of the index (GET /embeddings/duplicates, the duplicates command). */
  duplicates: DuplicateFinder;
  tasks: TaskRegistry;
  /** Uploads being received, decoded or searched: each holds its body, so only so many at once. */
  uploads: Admission;
  /** Present in folder mode, where the service serves the catalogue's photos itself. */
  photoFolder: FolderCatalog | null;
  /** Work waiting at each ingestion stage, read when metrics are scraped. */
  queueDepths(): QueueDepths;
  /** Stops taking work, lets running tasks finish (up to `graceMs`), saves and releases everything. */
  /** Stops taking work and lets running tasks finish what is in flight (up to `graceMs`); settles when they have. */
  finishTasks(graceMs: number): Promise<void>;
  /** The same, then saves and releases everything. */
  close(graceMs: number): Promise<void>;
}

export interface QueueDepths {
  /** Catalogue requests waiting for one of the CATALOG_CONCURRENCY slots. */
  catalogRequests: number;
  decode: number;
  model: number;
}

export interface ServicesOptions {
  /** Told about model runs, searches, catalogue failures and tasks (metrics, logs); silent by default. */
  observer?: ServiceObserver;
  /** Told why the index cannot be opened yet (a search-only replica waiting for the primary's schema). */
  waiting?: (reason: string) => void;
}

export async function createServices(config: Config, options: ServicesOptions = {}): Promise<Services> {
  checkModelPrecision(config.modelPath, config.inference.precision);
  const observer = options.observer ?? silentObserver;
  const projection = loadPipelineProjection();
  // Started beside the model and the index rather than after them: /ready waited ~0.1-0.3 s more for the decoder.
  const decodePool = new DecodePool({
    workers: config.inference.decodeWorkers,
    decode: pipelineDecoding(config.maxImagePixels),
    withColour: projection.usesColour,
  });
  const [session, { index: store, migration }] = await Promise.all([
    openModelThread(
      { modelPath: config.modelPath, backend: config.inference.backend, threads: config.inference.threads },
      { normalisation: PIPELINE.normalisation, projection },
    ),
    openIndex(
      { dataDir: config.dataDir, ...config.vectorStore },
      { dimensions: projection.outputDims, pipeline: pipelineName(config.inference.precision) },
      options.waiting,
    ),
  ]);
  const catalog = createCatalog(config.catalog, config.catalogHttp);
  const embedder = new Embedder(session, { maxBatchSize: config.inference.batchSize, observer, decodePool });
  await embedder.started();
  const tasks = new TaskRegistry();
  const runner = new TaskRunner(tasks, { concurrency: 4, observer });
  const jobs = new EmbeddingJobs({
    catalog: reportingFailures(catalog, observer),
    embedder,
    store,
    runner,
    admission: new Admission({
      capacity: config.maxQueuedProducts,
      name: "queued products",
      setting: "MAX_QUEUED_PRODUCTS",
    }),
    pipelineWidth: Math.max(config.inference.batchSize, config.catalogHttp.concurrency) * 2,
    maxCatalogPages: config.catalogMaxPages,
  });
  if (migration) await jobs.migrateProducts(migration);
  return {
    store,
    sharedIndex: config.vectorStore.url !== null,
    embedder,
    jobs,
    similarity: new SimilarityService({ store, embedder, imageUrlTemplate: config.imageUrlTemplate, observer }),
    duplicates: new DuplicateFinder({ store, runner, registry: tasks }),
    tasks,
    uploads: new Admission({ capacity: config.maxPendingUploads, name: "upload slots", setting: "MAX_PENDING_UPLOADS" }),
    photoFolder: catalog instanceof FolderCatalog ? catalog : null,
    queueDepths: () => ({
      catalogRequests: catalog instanceof HttpCatalog ? catalog.requestsWaiting : 0,
      ...embedder.queueDepths,
    }),
    finishTasks: (graceMs) => runner.shutdown(graceMs),
    async close(graceMs) {
      await runner.shutdown(graceMs);
      await store.close();
      await embedder.close();
      await session.close();
    },
  };
}

/**
 * What the `search` command needs: the model and a read-only view of the index, which takes no lock and writes
 * nothing, so it is safe beside a service using the same index. Null when there is no index.
 */
export async function openSearchOnly(config: Config): Promise<{ similarity: SimilarityService; close(): Promise<void> } | null> {
  checkModelPrecision(config.modelPath, config.inference.precision);
  const projection = loadPipelineProjection();
  const store = await openIndexReadOnly({ dataDir: config.dataDir, ...config.vectorStore }, { dimensions: projection.outputDims, pipeline: pipelineName(config.inference.precision) });
  if (!store) return null;
  const session = await openModelThread(
    { modelPath: config.modelPath, backend: config.inference.backend, threads: config.inference.threads },
    { normalisation: PIPELINE.normalisation, projection },
  );
  const embedder = new Embedder(session, {
    maxBatchSize: 1,
    decode: pipelineDecoding(config.maxImagePixels),
    observer: silentObserver,
    decodeWorkers: 1,
  });
  await embedder.started();
  return {
    similarity: new SimilarityService({ store, embedder, imageUrlTemplate: config.imageUrlTemplate }),
    async close() {
      await store.close();
      await embedder.close();
      await session.close();
    },
  };
}

/** Holds the services once loaded; until then, requests that need them are answered 503. */
export class ServiceSlot {
  #services: Services | null = null;
  #waitingFor: string | null = null;

  get ready(): boolean {
    return this.#services !== null;
  }

  /** The services, or null while they load: for readers that must not throw, such as the metrics. */
  get current(): Services | null {
    return this.#services;
  }

  fill(services: Services): void {
    this.#services = services;
  }

  /** Why the services cannot load yet, when it is more than the time they take: said in every 503 until they do. */
  waiting(reason: string): void {
    this.#waitingFor = reason;
  }

  get(): Services {
    if (this.#services) return this.#services;
    if (this.#waitingFor) throw new AppError("NOT_READY", 503, this.#waitingFor, undefined, { "Retry-After": "5" });
    throw new AppError("NOT_READY", 503, "the service is starting: model or index not loaded yet");
  }
}
