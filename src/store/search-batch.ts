// Searches that arrive together run together: those asked in one turn of the event loop are laid end to end and
// each segment answers them in one call on every core (USearch spreads a batch's queries over threads), so
// concurrent clients use both cores while one search alone stays on one thread.
import { availableParallelism } from "node:os";
import type { Neighbour } from "./segment-set.ts";

type RunBatch = (queries: Float32Array, count: number, k: number, threads: number) => Neighbour[][];

export class SearchBatch {
  readonly #dimensions: number;
  readonly #run: RunBatch;
  readonly #threads = availableParallelism();
  #waiting: { query: Float32Array; k: number; resolve: (found: Neighbour[]) => void; reject: (error: unknown) => void }[] = [];

  constructor(dimensions: number, run: RunBatch) {
    this.#dimensions = dimensions;
    this.#run = run;
  }

  search(query: Float32Array, k: number): Promise<Neighbour[]> {
    return new Promise((resolve, reject) => {
      if (this.#waiting.length === 0) setImmediate(() => this.#flush());
      this.#waiting.push({ query, k, resolve, reject });
    });
  }

  #flush(): void {
    const batch = this.#waiting.splice(0);
    const queries = new Float32Array(batch.length * this.#dimensions);
    batch.forEach((item, i) => queries.set(item.query, i * this.#dimensions));
    const k = Math.max(...batch.map((item) => item.k));
    try {
      const found = this.#run(queries, batch.length, k, Math.min(batch.length, this.#threads));
      batch.forEach((item, i) => item.resolve(found[i]!.slice(0, item.k)));
    } catch (error) {
      for (const item of batch) item.reject(error);
    }
  }
}
