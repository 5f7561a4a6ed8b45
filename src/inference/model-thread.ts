// The inference session, run in a worker thread of its own: onnxruntime-node runs a model on the thread that calls
// it, and a batch takes seconds, during which the event loop could answer nothing. The same ModelSession as
// openModelSession's; inputs and embeddings are transferred between the threads, not copied.
import { workerEntry } from "../runtime/standalone.ts";
import type { ModelReply, ModelRequest } from "./model-worker.ts";
import { INPUT_FLOATS, type ModelSession, type ModelSessionOptions } from "./model-session.ts";

const WORKER_ENTRY = workerEntry("inference/model-worker.ts");

/** Loads the model in a new worker thread; rejects with the loader's message (unreadable model, wrong graph...). */
export async function openModelThread(options: ModelSessionOptions): Promise<ModelSession> {
  const worker = new Worker(WORKER_ENTRY, { name: "model" });
  const pending = new Map<number, { resolve: (embeddings: Float32Array) => void; reject: (error: Error) => void }>();
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
    if (reply.type === "embedded") waiting.resolve(reply.embeddings);
    else if (reply.type === "failed") waiting.reject(rebuild(reply));
  };
  worker.onerror = (event: ErrorEvent) => {
    stopped = new Error(`the model thread failed: ${event.message}`);
    for (const waiting of pending.values()) waiting.reject(stopped);
    pending.clear();
    onLifecycle({ type: "failed", id: null, name: "Error", message: stopped.message });
  };

  const opened = lifecycle();
  send({ type: "open", options });
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
    embed(inputs, count) {
      if (stopped) return Promise.reject(stopped);
      // Only this batch's floats cross over; a larger buffer is not handed away.
      const own = inputs.length === count * INPUT_FLOATS && inputs.byteOffset === 0 && inputs.buffer.byteLength === inputs.byteLength
        ? inputs
        : inputs.slice(0, count * INPUT_FLOATS);
      const id = nextId++;
      return new Promise<Float32Array>((resolve, reject) => {
        pending.set(id, {
          resolve: (embeddings) => {
            if (pending.size === 0) worker.unref();
            resolve(embeddings);
          },
          reject: (error) => {
            if (pending.size === 0) worker.unref();
            reject(error);
          },
        });
        worker.ref();
        send({ type: "embed", id, inputs: own, count }, [own.buffer as ArrayBuffer]);
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

function rebuild(failure: { name: string; message: string }): Error {
  const error = new Error(failure.message);
  error.name = failure.name;
  return error;
}
