// GET /embeddings/duplicates behind the HTTP layer: answers at once for a small index, and for a large one runs the
// search as a `find_duplicates` task (with progress) and answers from its result once it is done. A result is kept
// per threshold and used while the index is unchanged since the search started (whichever replica changed it).
import type { VectorIndex } from "../store/vector-index.ts";
import type { Task, TaskRegistry } from "../tasks/task-registry.ts";
import type { TaskRunner } from "../tasks/task-runner.ts";
import { type DuplicateGroup, findDuplicateGroups } from "./duplicates.ts";

export interface DuplicatesReport {
  minScore: number;
  groups: DuplicateGroup[];
  productsScanned: number;
  computedAt: string;
}

export type DuplicatesAnswer = { state: "ready"; report: DuplicatesReport } | { state: "pending"; task: Task };

/**
 * Products searched in the request itself. Measured (docs/quality.md, section 12): 2.3 ms per product at 6,416 464-d
 * vectors on the shared 2-core machine, and an exact search's cost grows with the index, so the whole search grows
 * with its square: 2,000 products take about 1.5 s there. Beyond, a task.
 */
export const INLINE_LIMIT = 2_000;
/** Results kept (one per threshold asked), oldest forgotten first. */
const KEPT_REPORTS = 8;

export class DuplicateFinder {
  readonly #store: VectorIndex;
  readonly #runner: TaskRunner;
  readonly #registry: TaskRegistry;
  readonly #inlineLimit: number;
  readonly #reports = new Map<number, { report: DuplicatesReport; revision: string }>();
  readonly #running = new Map<number, Task>();

  constructor(options: { store: VectorIndex; runner: TaskRunner; registry: TaskRegistry; inlineLimit?: number }) {
    this.#store = options.store;
    this.#runner = options.runner;
    this.#registry = options.registry;
    this.#inlineLimit = options.inlineLimit ?? INLINE_LIMIT;
  }

  async find(minScore: number): Promise<DuplicatesAnswer> {
    const kept = this.#reports.get(minScore);
    if (kept && kept.revision === (await this.#store.revision())) return { state: "ready", report: kept.report };
    if ((await this.#store.count()) <= this.#inlineLimit) return { state: "ready", report: await this.#search(minScore) };
    const running = this.#running.get(minScore);
    if (running && running.finished_at === null) return { state: "pending", task: running };
    const task = this.#registry.create("find_duplicates", {});
    this.#running.set(minScore, task);
    this.#runner.submit(task, async (context) => {
      let reported = -1; // none yet, not even the total
      const report = await this.#search(minScore, {
        signal: context.signal,
        onProgress: (done, total) => {
          if (reported < 0) {
            context.addToTotal(total);
            reported = 0;
          }
          for (; reported < done; reported++) context.itemDone();
        },
      });
      return { message: `${report.groups.length} groups of near-duplicates at min_score ${minScore}: GET /embeddings/duplicates?min_score=${minScore}` };
    });
    return { state: "pending", task };
  }

  async #search(minScore: number, options: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {}): Promise<DuplicatesReport> {
    const revision = await this.#store.revision();
    const productsScanned = await this.#store.count();
    const groups = await findDuplicateGroups(this.#store, minScore, options);
    const report = { minScore, groups, productsScanned, computedAt: new Date().toISOString() };
    this.#reports.delete(minScore);
    this.#reports.set(minScore, { report, revision });
    if (this.#reports.size > KEPT_REPORTS) this.#reports.delete(this.#reports.keys().next().value!);
    return report;
  }
}
