// What the rest of the service knows of the vector index: one embedding per product id, searched by L2 distance, with
// order tickets so that changes to one product apply in the order they were requested. Two implementations, chosen at
// start (open-index.ts): the embedded segmented store in DATA_DIR, and a table in PostgreSQL shared by every replica.

export interface Neighbour {
  id: number;
  /** Squared L2 distance between the query and the stored float32 vector. */
  distance: number;
}

export interface VectorIndex {
  readonly dimensions: number;
  /** Names the preprocessing + model + normalisation that made the vectors; vectors of two pipelines never mix. */
  readonly pipeline: string;
  /** Where the index lives, for logs: a directory, or a database (never its password). */
  readonly location: string;
  /** Products with a vector. */
  count(): Promise<number>;
  has(id: number): Promise<boolean>;
  /** The stored vector (do not change it). */
  vectorOf(id: number): Promise<Float32Array | undefined>;
  /** Stored ids in ascending order, a page at a time. */
  listIds(offset: number, limit: number): Promise<{ ids: number[]; total: number }>;
  /** The `k` stored vectors nearest to `vector`, nearest first. */
  nearest(vector: Float32Array, k: number): Promise<Neighbour[]>;
  /**
   * A ticket that orders changes to one product by when they were requested, not by when their work finishes: take
   * it when the request arrives, pass it to `put`/`delete`. A change holding an older ticket than the last one applied
   * to its product is dropped.
   */
  takeSequence(): number;
  /** Stores (or replaces) the product's vector; settles once durable. `applied` is false if a newer change won. */
  put(id: number, vector: Float32Array, sequence?: number): Promise<{ applied: boolean }>;
  /** Removes the product's vector; settles once durable. `existed` says whether there was one. */
  delete(id: number, sequence?: number): Promise<{ applied: boolean; existed: boolean }>;
  /** Changes whenever the index changes (whoever changed it): tells whether anything derived from it is stale. */
  revision(): Promise<string>;
  close(): Promise<void>;
}
