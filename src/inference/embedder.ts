// Photo bytes -> stored vector. Decoding runs in worker threads (off the event loop) while the model works on the
// previous batch, and every photo waiting for the model when it frees up goes into the next batch: one photo alone is
// answered at once. A bulk ingest's batch waits to be full only while more of its photos are being decoded. The
// model and the steps after it run in their own thread (openModelThread): the event loop only routes photos between
// the threads.
import { type ServiceObserver, silentObserver } from "../observability/observer.ts";
import { DecodePool } from "./decode-pool.ts";
import type { DecodeOptions } from "./image-decoder.ts";
import type { PhotoModel } from "./photo-model.ts";

export type EmbedderOptions = {
  maxBatchSize: number;
  observer?: Pick<ServiceObserver, "modelBatch">;
} & (
  | {
      decode: DecodeOptions;
      /** Decoding threads; decoding is CPU work that competes with the model's threads for cores (default 1). */
      decodeWorkers?: number;
    }
  | {
      /** Decoding threads started already (the service starts them while the model loads). */
      decodePool: DecodePool;
    }
);

interface PendingInput {
  input: Float32Array;
  /** Computed by the decoding thread when the projection needs it. */
  colour: Float32Array | null;
  resolve: (embedding: Float32Array) => void;
  reject: (error: unknown) => void;
}

export class Embedder {
  /** Length of the vectors it returns. */
  readonly dimensions: number;
  readonly #model: PhotoModel;
  readonly #maxBatchSize: number;
  readonly #decodePool: DecodePool;
  readonly #observer: Pick<ServiceObserver, "modelBatch">;
  /** Photos waiting for the model: shoppers' (interactive) apart from a bulk ingest's, run in batches of their own. */
  readonly #interactive: PendingInput[] = [];
  readonly #bulk: PendingInput[] = [];
  #modelBusy = false;

  constructor(model: PhotoModel, options: EmbedderOptions) {
    this.#model = model;
    this.#maxBatchSize = options.maxBatchSize;
    this.dimensions = model.dimensions;
    this.#decodePool =
      "decodePool" in options
        ? options.decodePool
        : new DecodePool({ workers: options.decodeWorkers ?? 1, decode: options.decode, withColour: model.usesColour });
    this.#observer = options.observer ?? silentObserver;
  }

  get backend(): "native" | "wasm" {
    return this.#model.backend;
  }

  /** Photos waiting for a decoding thread, and decoded photos waiting for the model. */
  get queueDepths(): { decode: number; model: number } {
    return { decode: this.#decodePool.waiting, model: this.#interactive.length + this.#bulk.length };
  }

  /**
   * Rejects with an AppError (415/422) when the bytes are not an acceptable photo. An `interactive` photo (a shopper
   * waiting on an upload search) goes ahead of a bulk ingest's photos at each stage. The bytes are handed to a
   * decoding thread: the caller's array is left empty.
   */
  async embedImage(bytes: Uint8Array, options: { interactive?: boolean } = {}): Promise<Float32Array> {
    const { input, colour } = await this.#decodePool.decode(bytes, options).catch((error: unknown) => {
      // One photo fewer on its way: a bulk batch waiting for it may be complete now.
      void this.#runBatches();
      throw error;
    });
    return this.embedInput(input, { ...options, colour });
  }

  /** Settles once the decoding threads have loaded the decoder; rejects if they cannot. */
  started(): Promise<void> {
    return this.#decodePool.started();
  }

  /** Stops the decoding threads. */
  close(): Promise<void> {
    return this.#decodePool.close();
  }

  /**
   * Embeds an already preprocessed input (3x224x224, RGB 0..255); its colour descriptor is computed with the model
   * unless given (photos from embedImage bring theirs from the decoding thread). The input's buffer is taken.
   */
  embedInput(
    input: Float32Array,
    options: { interactive?: boolean; colour?: Float32Array | null } = {},
  ): Promise<Float32Array> {
    return new Promise((resolve, reject) => {
      const pending = { input, colour: options.colour ?? null, resolve, reject };
      (options.interactive ? this.#interactive : this.#bulk).push(pending);
      void this.#runBatches();
    });
  }

  async #runBatches(): Promise<void> {
    if (this.#modelBusy) return;
    this.#modelBusy = true;
    try {
      for (;;) {
        // A shopper's photo waits only for the run under way: it is not computed with a full batch of bulk photos.
        const queue = this.#interactive.length > 0 ? this.#interactive : this.#bulk;
        if (queue.length === 0) break;
        // A model run costs more per photo the fewer it holds (int8: 9.6 ms a photo alone, 6.5 in 16), and decodes
        // slower than the model (large JPEGs) would feed it one photo at a time: bulk photos wait for a full batch
        // while more of them are being decoded. Each decode that settles calls this again.
        if (queue === this.#bulk && queue.length < this.#maxBatchSize && this.#decodePool.bulkInProgress > 0) break;
        const batch = queue.splice(0, this.#maxBatchSize);
        await this.#runBatch(batch);
      }
    } finally {
      this.#modelBusy = false;
    }
  }

  async #runBatch(batch: PendingInput[]): Promise<void> {
    try {
      const inputs = batch.map((item) => item.input);
      const colours = batch.map((item) => item.colour);
      const { vectors, modelSeconds } = await this.#model.embed(inputs, colours);
      this.#observer.modelBatch(batch.length, modelSeconds);
      batch.forEach((item, i) => item.resolve(vectors[i]!));
    } catch (error) {
      for (const item of batch) item.reject(error);
    }
  }
}
