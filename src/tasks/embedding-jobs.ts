// The work behind the embedding endpoints: each request becomes a task that runs products through the ingestion
// pipeline (fetch from the catalogue -> decode -> embed in batches -> store), a bounded number at a time. Requests
// are admitted only while the products they add fit under the limit, and one catalogue walk runs at a time.
import PQueue from "p-queue";
import type { Admission } from "../admission.ts";
import type { Catalog } from "../catalog/catalog.ts";
import { AppError } from "../errors.ts";
import type { Embedder } from "../inference/embedder.ts";
import type { PendingMigration } from "../store/pipeline-migration.ts";
import type { VectorIndex } from "../store/vector-index.ts";
import type { Task, TaskRegistry } from "./task-registry.ts";
import type { TaskContext, TaskRunner } from "./task-runner.ts";

export interface EmbeddingJobsOptions {
  catalog: Catalog;
  embedder: Embedder;
  store: VectorIndex;
  runner: TaskRunner;
  /** Products queued or in flight across the write tasks; a catalogue walk and a migration take none. */
  admission: Admission;
  /** Products of one explicit list in flight at once; enough to fill the model's batches. */
  pipelineWidth: number;
  /** Most pages one catalogue walk reads (CATALOG_MAX_PAGES). */
  maxCatalogPages: number;
}

const SINGLE_PRODUCT_PRIORITY = 1;

export class EmbeddingJobs {
  readonly #catalog: Catalog;
  readonly #embedder: Embedder;
  readonly #store: VectorIndex;
  readonly #runner: TaskRunner;
  readonly #registry: TaskRegistry;
  readonly #pipelineWidth: number;
  readonly #admission: Admission;
  /** The latest catalogue walk: a second one is refused while it is queued or running. */
  #walk: Task | null = null;
  readonly #maxCatalogPages: number;

  constructor(options: EmbeddingJobsOptions) {
    this.#catalog = options.catalog;
    this.#embedder = options.embedder;
    this.#store = options.store;
    this.#runner = options.runner;
    this.#registry = options.runner.registry;
    this.#pipelineWidth = options.pipelineWidth;
    this.#admission = options.admission;
    this.#maxCatalogPages = options.maxCatalogPages;
  }

  /** Fetches, embeds and stores one product's photo, replacing any vector it had. */
  embedProduct(productId: number, kind: "embed_product" | "reembed_product"): Task {
    const reservation = this.#admission.reserve(1);
    const sequence = this.#store.takeSequence();
    const task = this.#registry.create(kind, { productId });
    return this.#runner.submit(task, (context) => this.#ingest([productId], sequence, 1, context), {
      priority: SINGLE_PRODUCT_PRIORITY,
      reservation,
    });
  }

  deleteProduct(productId: number): Task {
    const reservation = this.#admission.reserve(1);
    const sequence = this.#store.takeSequence();
    const task = this.#registry.create("delete_product", { productId });
    return this.#runner.submit(
      task,
      async (context) => {
        const { existed } = await this.#store.delete(productId, sequence);
        context.itemDone();
        return { message: existed ? "embedding deleted" : "the product had no embedding; nothing to delete" };
      },
      { priority: SINGLE_PRODUCT_PRIORITY, reservation },
    );
  }

  embedProducts(productIds: number[]): Task {
    const unique = [...new Set(productIds)];
    if (unique.length > this.#admission.capacity) {
      // It would never fit, however long the client waited.
      const message = `at most ${this.#admission.capacity} products per request (${this.#admission.setting})`;
      throw new AppError("VALIDATION_FAILED", 400, `product_ids: ${message}`, [{ field: "product_ids", message }]);
    }
    const reservation = this.#admission.reserve(unique.length);
    const sequence = this.#store.takeSequence();
    const task = this.#registry.create("embed_products", { productIds: unique });
    return this.#runner.submit(task, (context) => this.#ingest(unique, sequence, this.#pipelineWidth, context), {
      reservation,
    });
  }

  /**
   * Embeds again, with this build's pipeline, every product of an index that another pipeline made; the migration
   * is finished (the old index removed) only if the task ran to its end, not if a shutdown cut it short.
   */
  async migrateProducts(migration: PendingMigration): Promise<Task> {
    const sequence = this.#store.takeSequence();
    // One listing rather than a question per product: the index may be a database away.
    const stored = new Set((await this.#store.listIds(0, Number.MAX_SAFE_INTEGER)).ids);
    const pending = migration.productIds.filter((id) => !stored.has(id));
    const task = this.#registry.create("migrate_index", { productIds: pending });
    return this.#runner.submit(task, async (context) => {
      await this.#ingest(pending, sequence, this.#pipelineWidth, context);
      if (context.stopping.aborted) return { message: "interrupted by a shutdown; resumes at the next start" };
      await migration.finish();
      return { message: `re-embedded the products of the index made by ${migration.from}` };
    });
  }

  /**
   * Walks the catalogue from `startPage`, `batchSize` products in flight at a time (by default the pipeline's width,
   * enough to keep the model's batches full). It counts pages itself and stops past the catalogue's last page, at an
   * empty page, at a page that repeats an earlier one (a catalogue that ignores `?page`), or after `maxCatalogPages`
   * pages, whichever comes first.
   * Its size is unknown, so it takes no admission slots; instead there is one walk at a time.
   */
  embedCatalog(options: { startPage: number; batchSize?: number }): Task {
    const running = this.#walk;
    if (running && running.finished_at === null) {
      throw new AppError(
        "WALK_IN_PROGRESS",
        409,
        `a catalogue walk is already queued or running: follow it at /tasks/${running.task_id}`,
        { task_id: running.task_id },
      );
    }
    const sequence = this.#store.takeSequence();
    const task = this.#registry.create("embed_catalog", {});
    this.#walk = task;
    const width = options.batchSize ?? this.#pipelineWidth;
    return this.#runner.submit(task, async (context) => {
      const progress = { listed: 0 };
      // One pipeline across pages, so that the products of the next page start as slots free up, not once a page is done.
      const pipeline = new PQueue({ concurrency: width });
      try {
        return await this.#walkPages(options.startPage, pipeline, sequence, context, progress);
      } finally {
        await pipeline.onIdle();
        // However the walk ends (the last page, a stop, a failure), its total is what it listed.
        context.addToTotal(progress.listed - context.task.progress.total);
      }
    });
  }

  /**
   * Lists page after page into the pipeline. A page's products are queued once every product queued before them has
   * started, and the page after it is listed meanwhile: the model never waits for a listing, and memory holds at most
   * the products in flight, one page waiting for slots and one page being listed.
   */
  async #walkPages(
    startPage: number,
    pipeline: PQueue,
    sequence: number,
    context: TaskContext,
    progress: { listed: number },
  ): Promise<{ message: string }> {
    const lastAllowed = startPage + this.#maxCatalogPages - 1;
    const seenPages = new Set<ReturnType<typeof pageFingerprint>>();
    let page = startPage;
    let listing = this.#catalog.listPage(page, context.signal);
    for (;;) {
      const current = await listing;
      if (current.productIds.length === 0) break;
      const fingerprint = pageFingerprint(current.productIds);
      if (seenPages.has(fingerprint)) {
        return {
          message:
            `walked the catalogue from page ${startPage} to page ${page - 1}; page ${page} lists the same products ` +
            "as an earlier page (does the catalogue ignore ?page=?), so the walk stopped there",
        };
      }
      seenPages.add(fingerprint);
      progress.listed += current.productIds.length;
      // The catalogue says its size (a folder's count, an API's meta.total): from page 1 that is the total from the
      // start, so progress never goes backwards; it grows only if the catalogue grew meanwhile. From a later page,
      // the products before it are not part of the walk, so the total is what was listed so far.
      const expected = startPage === 1 ? current.total : 0;
      context.addToTotal(Math.max(expected, progress.listed) - context.task.progress.total);
      for (const productId of current.productIds) {
        void pipeline.add(() => this.#ingestOne(productId, current.imageUrls?.get(productId), sequence, context));
      }
      const hasNext = page < current.lastPage && page < lastAllowed;
      if (context.stopping.aborted) break;
      if (!hasNext) {
        if (page < current.lastPage) {
          return {
            message:
              `walked the catalogue from page ${startPage} to page ${page} and stopped at CATALOG_MAX_PAGES ` +
              `(${this.#maxCatalogPages}) of the ${current.lastPage} pages the catalogue reports; ` +
              `start_page=${page + 1} continues`,
          };
        }
        break;
      }
      // List the next page while this one waits for slots; its products are queued once this page's have started.
      listing = this.#catalog.listPage(page + 1, context.signal);
      listing.catch(() => {}); // handled when awaited; not an unhandled rejection meanwhile
      await pipeline.onSizeLessThan(1);
      if (context.stopping.aborted) break;
      page++;
    }
    return { message: `walked the catalogue from page ${startPage} to page ${page}` };
  }

  async #ingest(productIds: number[], sequence: number, width: number, context: TaskContext): Promise<void> {
    const pipeline = new PQueue({ concurrency: width });
    for (const productId of productIds) void pipeline.add(() => this.#ingestOne(productId, undefined, sequence, context));
    await pipeline.onIdle();
  }

  /** Fetches, embeds and stores one product; its failure is the task's record of it, not the task's end. */
  async #ingestOne(productId: number, listedImageUrl: string | undefined, sequence: number, context: TaskContext): Promise<void> {
    if (context.stopping.aborted) {
      context.itemFailed(productId, context.stopping.reason);
      return;
    }
    try {
      const photo = await this.#catalog.fetchImage(productId, context.signal, listedImageUrl);
      const vector = await this.#embedder.embedImage(photo);
      await this.#store.put(productId, vector, sequence);
      context.itemDone();
    } catch (error) {
      context.itemFailed(productId, error);
    }
  }
}

/** One number per page, so remembering every page of a huge catalogue stays small; order within a page is ignored. */
function pageFingerprint(productIds: number[]): number | bigint {
  return Bun.hash(productIds.toSorted((a, b) => a - b).join(","));
}
