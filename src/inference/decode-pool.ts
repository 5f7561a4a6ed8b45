// Decodes photos in worker threads, so that a search never waits behind a decode: decoding a large photo takes tens
// of milliseconds of CPU, which on the event loop would hold up every request behind it. Each worker decodes one
// photo at a time; photos wait here, a shopper's (interactive) ones ahead of a bulk ingest's.
import { AppError } from "../errors.ts";
import { workerEntry } from "../runtime/standalone.ts";
import type { DecodeFailure, DecodeReply, DecodeRequest, DecoderLoaded } from "./decode-worker.ts";
import type { DecodeOptions } from "./image-decoder.ts";

const WORKER_ENTRY = workerEntry("inference/decode-worker.ts");
/** The decoding threads' name, as `ps -L` and /proc show it. */
export const DECODER_THREAD_NAME = "photo-decoder";

export interface DecodePoolOptions {
  /** Worker threads; each decodes one photo at a time. */
  workers: number;
  decode: DecodeOptions;
  /** Also describe each photo's colours (for a projection with a colour part). */
  withColour?: boolean;
}

/** The model's input for a photo, and its colour descriptor when the pool was asked for one. */
export interface DecodedPhoto {
  input: Float32Array;
  colour: Float32Array | null;
}

interface Job {
  id: number;
  interactive: boolean;
  bytes: Uint8Array;
  resolve: (photo: DecodedPhoto) => void;
  reject: (error: unknown) => void;
}

interface Slot {
  /** Null until needed, and again after the thread failed. */
  worker: Worker | null;
  job: Job | null;
}

export class DecodePool implements AsyncDisposable {
  readonly #options: DecodeOptions;
  readonly #withColour: boolean;
  readonly #slots: Slot[] = [];
  readonly #interactive: Job[] = [];
  readonly #bulk: Job[] = [];
  #nextId = 1;
  #decoded = 0;
  #closed = false;
  readonly #started: Promise<void>;

  constructor(options: DecodePoolOptions) {
    this.#options = options.decode;
    this.#withColour = options.withColour ?? false;
    const started: Promise<void>[] = [];
    for (let i = 0; i < Math.max(1, options.workers); i++) {
      const slot: Slot = { worker: null, job: null };
      // Started now, so that the first photo does not wait for the thread to load the decoder.
      const { promise, resolve, reject } = Promise.withResolvers<void>();
      slot.worker = this.#startWorker(slot, { resolve, reject });
      started.push(promise);
      this.#slots.push(slot);
    }
    this.#started = Promise.all(started).then(() => {});
    this.#started.catch(() => {}); // reported by started() to whoever awaits it; not an unhandled rejection
  }

  /**
   * Settles once every thread has loaded the decoder (the canvas library's native addon): a host where it cannot load
   * fails at start, not at the first photo.
   */
  started(): Promise<void> {
    return this.#started;
  }

  /** Photos decoded by the workers so far (each one a decode the event loop did not do). */
  get decoded(): number {
    return this.#decoded;
  }

  /** Photos waiting for a worker. */
  get waiting(): number {
    return this.#interactive.length + this.#bulk.length;
  }

  /** Bulk (not interactive) photos waiting for a worker or being decoded. */
  get bulkInProgress(): number {
    return this.#bulk.length + this.#slots.filter((slot) => slot.job && !slot.job.interactive).length;
  }

  /**
   * The photo as the model's input (3x224x224, RGB 0..255); rejects with the decoder's AppError (415/422) when the
   * bytes are not an acceptable photo. The bytes are handed over to the worker, not copied: the caller's array is
   * left empty (detached) unless it is a view of a larger buffer, which is copied.
   */
  decode(bytes: Uint8Array, options: { interactive?: boolean } = {}): Promise<DecodedPhoto> {
    if (this.#closed) return Promise.reject(new Error("the decode pool is closed"));
    return new Promise((resolve, reject) => {
      const job = { id: this.#nextId++, interactive: options.interactive ?? false, bytes, resolve, reject };
      if (options.interactive) this.#interactive.push(job);
      else this.#bulk.push(job);
      this.#dispatch();
    });
  }

  /** Stops the workers; photos still waiting or being decoded are rejected. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const stopped = new Error("the decode pool is closed");
    for (const job of this.#interactive.splice(0).concat(this.#bulk.splice(0))) job.reject(stopped);
    for (const slot of this.#slots) {
      slot.job?.reject(stopped);
      slot.job = null;
      slot.worker?.terminate();
      slot.worker = null;
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #startWorker(slot: Slot, started?: { resolve: () => void; reject: (error: Error) => void }): Worker {
    const worker = new Worker(WORKER_ENTRY, { name: DECODER_THREAD_NAME });
    // An idle worker does not keep the process alive; one with a photo in hand does (see #dispatch).
    worker.unref();
    worker.onmessage = (event: MessageEvent<DecodeReply | DecoderLoaded>) => {
      if ("loaded" in event.data) started?.resolve();
      else this.#settle(slot, event.data);
    };
    worker.onerror = (event: ErrorEvent) => {
      const error = new Error(`the photo decoder thread failed: ${event.message}`);
      started?.reject(error);
      this.#fail(slot, error);
    };
    return worker;
  }

  #dispatch(): void {
    for (const slot of this.#slots) {
      if (slot.job) continue;
      const job = this.#interactive.shift() ?? this.#bulk.shift();
      if (!job) return;
      slot.job = job;
      slot.worker ??= this.#startWorker(slot);
      slot.worker.ref();
      const bytes = ownedBuffer(job.bytes);
      slot.worker.postMessage({ id: job.id, bytes, options: this.#options, withColour: this.#withColour } satisfies DecodeRequest, [bytes.buffer]);
    }
  }

  #settle(slot: Slot, reply: DecodeReply): void {
    const job = slot.job;
    if (!job || job.id !== reply.id) return;
    slot.job = null;
    slot.worker?.unref();
    if ("input" in reply) {
      this.#decoded++;
      job.resolve({ input: reply.input, colour: reply.colour });
    } else {
      job.reject(rebuildError(reply.failure));
    }
    this.#dispatch();
  }

  /**
   * A thread that failed (an uncaught error, or its file would not load) fails the photo it held; a new one is started
   * for the next photo, not at once, so a thread that cannot start fails photos instead of restarting in a loop.
   */
  #fail(slot: Slot, error: Error): void {
    slot.job?.reject(error);
    slot.job = null;
    slot.worker?.terminate();
    slot.worker = null;
    if (!this.#closed) this.#dispatch();
  }
}

/** Bytes whose buffer is theirs alone, so it can be transferred without taking anything else along. */
function ownedBuffer(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const whole = bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  return whole ? (bytes as Uint8Array<ArrayBuffer>) : bytes.slice();
}

/** Errors lose their class crossing threads: the decoder's refusals become AppErrors again. */
function rebuildError(failure: DecodeFailure): Error {
  if (failure.kind === "app") return new AppError(failure.code, failure.status, failure.message, failure.details);
  const error = new Error(failure.message);
  error.name = failure.name;
  return error;
}
