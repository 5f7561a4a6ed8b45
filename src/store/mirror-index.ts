// A store mirror (store-mirror.ts) behind the VectorIndex interface, for the thread that holds it: reads and searches
// answered from its copy of the view, on that thread. Changes are made by the store the mirror follows, never here.
import { StoreError } from "./store-error.ts";
import type { StoreMirror } from "./store-mirror.ts";
import type { Neighbour, VectorIndex } from "./vector-index.ts";

export class MirrorIndex implements VectorIndex {
  readonly #mirror: StoreMirror;
  readonly pipeline: string;
  readonly location: string;

  constructor(mirror: StoreMirror, identity: { pipeline: string; location: string }) {
    this.#mirror = mirror;
    this.pipeline = identity.pipeline;
    this.location = identity.location;
  }

  get dimensions(): number {
    return this.#mirror.view.dimensions;
  }

  async count(): Promise<number> {
    return this.#mirror.view.count;
  }

  async has(id: number): Promise<boolean> {
    return this.#mirror.view.has(id);
  }

  async vectorOf(id: number): Promise<Float32Array | undefined> {
    return this.#mirror.view.vectorOf(id);
  }

  async listIds(offset: number, limit: number): Promise<{ ids: number[]; total: number }> {
    return this.#mirror.view.listIds(offset, limit);
  }

  async nearest(vector: Float32Array, k: number): Promise<Neighbour[]> {
    return this.#mirror.view.searchOne(vector, k);
  }

  async revision(): Promise<string> {
    return String(this.#mirror.changes);
  }

  takeSequence(): number {
    throw new StoreError("a store mirror takes no changes");
  }

  put(): Promise<{ applied: boolean }> {
    throw new StoreError("a store mirror takes no changes");
  }

  delete(): Promise<{ applied: boolean; existed: boolean }> {
    throw new StoreError("a store mirror takes no changes");
  }

  async close(): Promise<void> {}
}
