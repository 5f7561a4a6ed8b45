// The work behind the embedding endpoints: each request becomes a task that runs products through the ingestion
// pipeline (fetch from the catalogue -> decode -> embed in batches -> store), a bounded number at a time.
import PQueue from "p-queue";
import type { Catalog } from "../catalog/catalog.ts";
import type { Embedder } from "../inference/embedder.ts";
import type { PendingMigration } from "../store/pipeline-migration.ts";
import type { VectorStore } from "../store/vector-store.ts";
import type { Task, TaskRegistry } from "./task-registry.ts";
import type { TaskContext, TaskRunner } from "./task-runner.ts";

export interface EmbeddingJobsOptions {
  catalog: Catalog;
  embedder: Embedder;
  store: VectorStore;
  runner: TaskRunner;
  /** Products of one explicit list in flight at once; enough to fill the model's batches. */
  pipelineWidth: number;
  /** Most pages one catalogue walk reads (CATALOG_MAX_PAGES). */
  maxCatalogPages: number;
}

const SINGLE_PRODUCT_PRIORITY = 1;

export class EmbeddingJobs {
  readonly #catalog: Catalog;
  readonly #embedder: Embedder;
  readonly #store: VectorStore;
  readonly #runner: TaskRunner;
  readonly #registry: TaskRegistry;
  readonly #pipelineWidth: number;
  readonly #maxCatalogPages: number;

  constructor(options: EmbeddingJobsOptions) {
    this.#catalog = options.catalog;
    this.#embedder = options.embedder;
    this.#store = options.store;
    this.#runner = options.runner;
    this.#registry = options.runner.registry;
    this.#pipelineWidth = options.pipelineWidth;
    this.#maxCatalogPages = options.maxCatalogPages;
  }

  /** Fetches, embeds and stores one product's photo, replacing any vector it had. */
  embedProduct(productId: number, kind: "embed_product" | "reembed_product"): Task {
    const sequence = this.#store.takeSequence();
    const task = this.#registry.create(kind, { productId });
    return this.#runner.submit(task, (context) => this.#ingest([productId], sequence, 1, context), {
      priority: SINGLE_PRODUCT_PRIORITY,
    });
  }

  deleteProduct(productId: number): Task {
    const sequence = this.#store.takeSequence();
    const task = this.#registry.create("delete_product", { productId });
    return this.#runner.submit(
      task,
      async (context) => {
        const { existed } = await this.#store.delete(productId, sequence);
        context.itemDone();
        return { message: existed ? "embedding deleted" : "the product had no embedding; nothing to delete" };
      },
      { priority: SINGLE_PRODUCT_PRIORITY },
    );
  }

  embedProducts(productIds: number[]): Task {
    const sequence = this.#store.takeSequence();
    const unique = [...new Set(productIds)];
    const task = this.#registry.create("embed_products", { productIds: unique });
    return this.#runner.submit(task, (context) => this.#ingest(unique, sequence, this.#pipelineWidth, context));
  }

  /**
   * Embeds again, with this build's pipeline, every product of an index that another pipeline made; the migration
   * is finished (the old index removed) only if the task ran to its end, not if a shutdown cut it short.
   */
  migrateProducts(migration: PendingMigration): Task {
    const sequence = this.#store.takeSequence();
    const pending = migration.productIds.filter((id) => !this.#store.has(id));
    const task = this.#registry.create("migrate_index", { productIds: pending });
    return this.#runner.submit(task, async (context) => {
      await this.#ingest(pending, sequence, this.#pipelineWidth, context);
      if (context.signal.aborted) return { message: "interrupted by a shutdown; resumes at the next start" };
      await migration.finish();
      return { message: `re-embedded the products of the index made by ${migration.from}` };
    });
  }

  /**
   * Walks the catalogue from `startPage`, `batchSize` products in flight at a time. It counts pages itself and stops
   * past the catalogue's last page, at an empty page, at a page that repeats an earlier one (a catalogue that ignores
   * `?page`), or after `maxCatalogPages` pages, whichever comes first.
   */
  embedCatalog(options: { startPage: number; batchSize: number }): Task {
    const sequence = this.#store.takeSequence();
    const task = this.#registry.create("embed_catalog", {});
    return this.#runner.submit(task, async (context) => {
      const { startPage } = options;
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
        context.addToTotal(current.productIds.length);
        const hasNext = page < current.lastPage && page < lastAllowed;
        // List the next page while this one is embedded.
        if (hasNext) {
          listing = this.#catalog.listPage(page + 1, context.signal);
          listing.catch(() => {}); // handled when awaited; not an unhandled rejection meanwhile
        }
        await this.#ingest(current.productIds, sequence, options.batchSize, context);
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
        page++;
      }
      return { message: `walked the catalogue from page ${startPage} to page ${page}` };
    });
  }

  async #ingest(productIds: number[], sequence: number, width: number, context: TaskContext): Promise<void> {
    const pipeline = new PQueue({ concurrency: width });
    for (const productId of productIds) {
      void pipeline.add(async () => {
        if (context.signal.aborted) {
          context.itemFailed(productId, context.signal.reason);
          return;
        }
        try {
          const photo = await this.#catalog.fetchImage(productId, context.signal);
          const vector = await this.#embedder.embedImage(photo);
          await this.#store.put(productId, vector, sequence);
          context.itemDone();
        } catch (error) {
          context.itemFailed(productId, error);
        }
      });
    }
    await pipeline.onIdle();
  }
}

/** One number per page, so remembering every page of a huge catalogue stays small; order within a page is ignored. */
function pageFingerprint(productIds: number[]): number | bigint {
  return Bun.hash(productIds.toSorted((a, b) => a - b).join(","));
}
