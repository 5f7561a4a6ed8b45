// The inference session and the steps after it, run in a worker thread of their own: onnxruntime-node runs a model
// on the thread that calls it, and a batch takes seconds, during which the event loop could answer nothing. The same
// PhotoModel as photoModel(openModelSession(...))'s; inputs and vectors are transferred between the threads, not copied.
import { workerEntry } from "../runtime/standalone.ts";
import type { ModelReply, ModelRequest } from "./model-worker.ts";
import type { ModelSessionOptions } from "./model-session.ts";
import { type EmbeddedBatch, type PhotoModel, vectorDimensions, type VectorSteps } from "./photo-model.ts";

const WORKER_ENTRY = workerEntry("inference/model-worker.ts");

/**
 * Once no bulk batch has run for this long, the native session is reopened to give back its memory arena
 * (src/inference/model-worker.ts).
 */
export const RELEASE_ARENA_AFTER_MS = 5_000;

/** The model thread's name, as `ps -L` and /proc show it; onnxruntime's threads, started from it, inherit it. */
export const MODEL_THREAD_NAME = "model";

/** Loads the model in a new worker thread; rejects with the loader's message (unreadable model, wrong graph...). */
export async function openModelThread(
  options: ModelSessionOptions,
  steps: VectorSteps,
  { releaseArenaAfterMs = RELEASE_ARENA_AFTER_MS }: { releaseArenaAfterMs?: number } = {},
): Promise<PhotoModel> {
  const worker = new Worker(WORKER_ENTRY, { name: MODEL_THREAD_NAME });
  const pending = new Map<number, { resolve: (batch: EmbeddedBatch) => void; reject: (error: Error) => void }>();
  let stopped: Error | null = null;
  let onLifecycle: (reply: ModelReply) => void = () => {};
  const lifecycle = () => new Promise<ModelReply>((resolve) => (onLifecycle = resolve));
  const send = (request: ModelRequest, transfer: ArrayBuffer[] = []) => worker.postMessage(request, transfer);

  worker.onmessage = (event: MessageEvent<ModelReply>) => {
    const reply = event.data;
    const id = reply.type === "embedded" || reply.type === "failed" ? reply.id : null;
    const waiting = id === null ? undefined : pending.get(id);
    if (!waiting) return onLifecycle(reply);
    pending.delete(id!);
    if (reply.type === "embedded") waiting.resolve({ vectors: reply.vectors, modelSeconds: reply.modelSeconds });
    else if (reply.type === "failed") waiting.reject(rebuild(reply));
  };
  worker.onerror = (event: ErrorEvent) => {
    stopped = new Error(`the model thread failed: ${event.message}`);
    for (const waiting of pending.values()) waiting.reject(stopped);
    pending.clear();
    onLifecycle({ type: "failed", id: null, name: "Error", message: stopped.message });
  };

  const opened = lifecycle();
  // The WASM engine's memory never shrinks: nothing to give back.
  send({ type: "open", options, steps, releaseArenaAfterMs: options.backend === "native" ? releaseArenaAfterMs : null });
  const answer = await opened;
  if (answer.type !== "opened") {
    worker.terminate();
    throw answer.type === "failed" ? rebuild(answer) : new Error(`the model thread answered ${answer.type}`);
  }
  // Idle, the thread does not keep the process alive; with a batch in hand it does.
  worker.unref();

  let nextId = 1;
  return {
    backend: options.backend,
    dimensions: vectorDimensions(steps),
    usesColour: steps.projection?.usesColour ?? false,
    embed(inputs, colours) {
      if (stopped) return Promise.reject(stopped);
      // Each input crosses over alone (no batch is assembled here); a view of a larger buffer is copied first.
      const ownInputs = inputs.map(ownedFloats);
      const ownColours = colours.map((colour) => (colour === null ? null : ownedFloats(colour)));
      const transfer = [...ownInputs, ...ownColours.filter((colour) => colour !== null)].map((array) => array.buffer as ArrayBuffer);
      const id = nextId++;
      return new Promise<EmbeddedBatch>((resolve, reject) => {
        pending.set(id, {
          resolve: (batch) => {
            if (pending.size === 0) worker.unref();
            resolve(batch);
          },
          reject: (error) => {
            if (pending.size === 0) worker.unref();
            reject(error);
          },
        });
        worker.ref();
        send({ type: "embed", id, inputs: ownInputs, colours: ownColours }, transfer);
      });
    },
    async close() {
      if (stopped) return;
      stopped = new Error("the model is closed");
      const closed = lifecycle();
      worker.ref();
      send({ type: "close" });
      await closed;
      worker.terminate();
    },
  };
}

/** The array itself when it owns its whole buffer (so the buffer can be handed over), else a copy that does. */
function ownedFloats(array: Float32Array): Float32Array {
  return array.byteOffset === 0 && array.buffer.byteLength === array.byteLength ? array : array.slice();
}

function rebuild(failure: { name: string; message: string }): Error {
  const error = new Error(failure.message);
  error.name = failure.name;
  return error;
}
