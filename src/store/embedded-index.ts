// The embedded store (vector-store.ts, in DATA_DIR) behind the VectorIndex interface. Its reads are synchronous and
// in memory, so each answer is one microtask away; searches go through its batch, spread over every core.
import type { VectorIndex } from "./vector-index.ts";
import { type StoreOptions, VectorStore } from "./vector-store.ts";

export class EmbeddedIndex implements VectorIndex {
  /** The store itself, for what only the embedded store has (stats, idle, synchronous search in benchmarks). */
  readonly store: VectorStore;
  readonly location: string;

  constructor(store: VectorStore, dataDir: string) {
    this.store = store;
    this.location = dataDir;
  }

  static async open(options: StoreOptions): Promise<EmbeddedIndex> {
    return new EmbeddedIndex(await VectorStore.open(options), options.dataDir);
  }

  /** Searching only, no lock, nothing written: safe beside a service that owns `dataDir`. */
  static async openReadOnly(options: StoreOptions): Promise<EmbeddedIndex> {
    return new EmbeddedIndex(await VectorStore.openReadOnly(options), options.dataDir);
  }

  get dimensions(): number {
    return this.store.dimensions;
  }

  get pipeline(): string {
    return this.store.pipeline;
  }

  async count(): Promise<number> {
    return this.store.count;
  }

  async has(id: number): Promise<boolean> {
    return this.store.has(id);
  }

  async vectorOf(id: number): Promise<Float32Array | undefined> {
    return this.store.vectorOf(id);
  }

  async listIds(offset: number, limit: number): Promise<{ ids: number[]; total: number }> {
    return this.store.listIds(offset, limit);
  }

  nearest(vector: Float32Array, k: number) {
    return this.store.nearest(vector, k);
  }

  takeSequence(): number {
    return this.store.takeSequence();
  }

  put(id: number, vector: Float32Array, sequence?: number) {
    return this.store.put(id, vector, sequence);
  }

  delete(id: number, sequence?: number) {
    return this.store.delete(id, sequence);
  }

  async revision(): Promise<string> {
    return String(this.store.changes);
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
