// The model's worker thread: it owns the inference session and the steps after it (normalisation, projection), so
// that neither a model run (seconds for a batch, and onnxruntime-node runs it on the calling thread) nor the
// projection holds up the event loop that answers searches. Inside the compiled binary it is bundled as an entrypoint
// of its own (scripts/build-binary.ts).
//
// Memory: onnxruntime's arena keeps what the largest batch needed (~150-230 MB for 16 photos) for as long as the
// session lives, and glibc keeps what this thread freed in its malloc arena. Turning onnxruntime's arena off costs ~25%
// more CPU per photo (fresh pages every run); instead, once no bulk batch has run for a while, the session is released
// and opened anew (~0.7 s, with an empty arena), and malloc's free pages are handed back (malloc_trim).
import { closeSync, existsSync, openSync } from "node:fs";
import { libc } from "../runtime/libc.ts";
import { lowerThisThreadPriority } from "../runtime/thread-priority.ts";
import { isEmbedded } from "../runtime/standalone.ts";
import { type ModelSessionOptions, openModelSession } from "./model-session.ts";
import { type EmbeddedBatch, type PhotoModel, photoModel, type VectorSteps } from "./photo-model.ts";

declare var self: Worker;

export type ModelRequest =
  | { type: "open"; options: ModelSessionOptions; steps: VectorSteps; releaseArenaAfterMs: number | null }
  | { type: "embed"; id: number; inputs: Float32Array[]; colours: (Float32Array | null)[] }
  | { type: "close" };

export type ModelReply =
  | { type: "opened" }
  | ({ type: "embedded"; id: number } & EmbeddedBatch)
  | { type: "failed"; id: number | null; name: string; message: string }
  | { type: "closed" };

/** Batches up to this size (uploads) leave the arena small: they neither start nor put off a reopening. */
const SMALL_BATCH = 2;

// Before onnxruntime starts its threads, which inherit it.
lowerThisThreadPriority();

let model: PhotoModel | null = null;
let reopening: Promise<void> | null = null;
let running = 0;
let releaseTimer: Timer | null = null;
/** The model file, held open so that a reopening reads the same file even if its path was replaced meanwhile. */
let modelFile: { fd: number; path: string } | null = null;
let opened: Extract<ModelRequest, { type: "open" }> | null = null;

self.onmessage = async (event: MessageEvent<ModelRequest>) => {
  const request = event.data;
  const id = request.type === "embed" ? request.id : null;
  try {
    switch (request.type) {
      case "open":
        model = photoModel(await openModelSession(request.options), request.steps);
        opened = request;
        modelFile = holdOpen(request.options.modelPath);
        // Loading leaves ~250 MB freed but kept by malloc (the file's bytes, the graph before optimisation).
        if (request.options.backend === "native") giveBackFreedMemory();
        return reply({ type: "opened" });
      case "embed": {
        if (reopening) await reopening;
        if (!model && opened) model = await openAgain();
        if (!model) throw new Error("the model is not loaded");
        running++;
        try {
          const { vectors, modelSeconds } = await model.embed(request.inputs, request.colours);
          const transfer = vectors.map((vector) => vector.buffer as ArrayBuffer);
          return reply({ type: "embedded", id: request.id, vectors, modelSeconds }, transfer);
        } finally {
          running--;
          if (request.inputs.length > SMALL_BATCH) scheduleRelease();
        }
      }
      case "close":
        if (releaseTimer) clearTimeout(releaseTimer);
        if (reopening) await reopening;
        await model?.close();
        model = null;
        opened = null;
        if (modelFile) closeSync(modelFile.fd);
        modelFile = null;
        return reply({ type: "closed" });
    }
  } catch (error) {
    const { name, message } = error instanceof Error ? error : new Error(String(error));
    reply({ type: "failed", id, name, message });
  }
};

function scheduleRelease(): void {
  const after = opened?.releaseArenaAfterMs;
  if (after === null || after === undefined) return;
  if (releaseTimer) clearTimeout(releaseTimer);
  releaseTimer = setTimeout(reopen, after);
}

/**
 * The old session is released before the new one opens, so the two never take memory at once; a batch arriving
 * meanwhile waits. If the new one cannot open, the next batch tries again (and fails with the loader's message).
 */
function reopen(): void {
  releaseTimer = null;
  if (!model) return;
  if (running > 0) return scheduleRelease();
  const old = model;
  model = null;
  reopening = (async () => {
    try {
      await old.close();
      giveBackFreedMemory();
      model = await openAgain();
    } catch {
      // The next batch opens it.
    } finally {
      reopening = null;
    }
  })();
}

/** The session as first opened, from the file held open since. */
async function openAgain(): Promise<PhotoModel> {
  const { options, steps } = opened!;
  const fresh = photoModel(await openModelSession({ ...options, modelPath: modelFile?.path ?? options.modelPath }), steps);
  giveBackFreedMemory();
  return fresh;
}

/**
 * Linux's /proc/self/fd/N reads the file this process opened, whatever is at its path now. The binary's embedded
 * model (a /$bunfs/ path, which only Bun can read) cannot change: it is read from its path again.
 */
function holdOpen(path: string): { fd: number; path: string } | null {
  if (isEmbedded(path)) return null;
  try {
    const fd = openSync(path, "r");
    const viaFd = `/proc/self/fd/${fd}`;
    if (existsSync(viaFd)) return { fd, path: viaFd };
    closeSync(fd);
  } catch {
    // Unreadable now: a reopening reads the path again, and says so if it fails.
  }
  return null;
}

/** glibc keeps freed memory in the thread's malloc arena; malloc_trim hands its free pages back to the system. */
function giveBackFreedMemory(): void {
  libc().malloc_trim(0);
}

function reply(message: ModelReply, transfer: ArrayBuffer[] = []): void {
  postMessage(message, transfer);
}
