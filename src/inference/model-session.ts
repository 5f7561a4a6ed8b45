// The ResNet50 inference session: native onnxruntime-node by default, onnxruntime-web's WASM engine as a fallback
// for hosts where the native library cannot load. Both take a batch of NCHW inputs and give the `embedding` output.
import { constants } from "node:fs";
import { access, readFile } from "node:fs/promises";
import type { InferenceSession } from "onnxruntime-node";
import { libc } from "../runtime/libc.ts";
import { embeddedWasmPaths, isEmbedded } from "../runtime/standalone.ts";
import { INPUT_FLOATS, MODEL_INPUT_SIZE } from "./preprocess.ts";

export { INPUT_FLOATS };
export const EMBEDDING_DIMENSIONS = 2048;

export interface ModelSessionOptions {
  modelPath: string;
  backend: "native" | "wasm";
  threads: number;
}

export interface ModelSession {
  readonly backend: "native" | "wasm";
  /** `inputs` holds `count` images back to back; the answer holds `count` raw 2048-d embeddings back to back. */
  embed(inputs: Float32Array, count: number): Promise<Float32Array>;
  close(): Promise<void>;
}

// The two packages export the same API (onnxruntime-common); only the module differs.
type OrtModule = typeof import("onnxruntime-node");
type InferenceSessionOptions = InferenceSession.SessionOptions;

export async function openModelSession(options: ModelSessionOptions): Promise<ModelSession> {
  const cannotRead = (error: NodeJS.ErrnoException) => {
    throw new Error(`cannot read the model at ${options.modelPath}: ${error.code ?? error.message}`);
  };
  // The native runtime reads a file on disk itself: ~100 ms sooner ready than reading it into the heap first (on
  // this VM every page of a fresh 32 MB buffer is a costly fault). The WASM engine, and a model embedded in the
  // binary (not a file the native library can open), take the bytes.
  const byPath = options.backend === "native" && !isEmbedded(options.modelPath);
  const model = byPath
    ? await access(options.modelPath, constants.R_OK).then(() => options.modelPath, cannotRead)
    : await readFile(options.modelPath).catch(cannotRead);
  const ort: OrtModule =
    options.backend === "native" ? await loadNativeRuntime() : await loadWasmRuntime(options.threads);
  const sessionOptions: InferenceSessionOptions = {
    intraOpNumThreads: options.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
    executionMode: "sequential",
    // Waiting threads sleep instead of spinning: spinning took ~20% more CPU per photo on a busy 2-core machine,
    // CPU the decoding thread and the event loop need during an ingest.
    extra: { session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } },
  };
  // Two overloads (a path, or bytes): one call each.
  const session =
    typeof model === "string"
      ? await ort.InferenceSession.create(model, sessionOptions)
      : await ort.InferenceSession.create(model, sessionOptions);
  if (!session.inputNames.includes("input") || !session.outputNames.includes("embedding")) {
    throw new Error(`${options.modelPath} is not the expected ResNet50 graph (input \`input\`, output \`embedding\`)`);
  }

  return {
    backend: options.backend,
    async embed(inputs, count) {
      const tensor = new ort.Tensor("float32", inputs.subarray(0, count * INPUT_FLOATS), [
        count,
        3,
        MODEL_INPUT_SIZE,
        MODEL_INPUT_SIZE,
      ]);
      const outputs = await session.run({ input: tensor }, ["embedding"]);
      const embedding = outputs.embedding!;
      const data = embedding.data as Float32Array;
      // Copy out of the runtime's buffer so it can be released now.
      const result = new Float32Array(data);
      embedding.dispose();
      return result;
    },
    close: () => session.release(),
  };
}

async function loadNativeRuntime(): Promise<OrtModule> {
  disableNativeTelemetry();
  return import("onnxruntime-node");
}

/**
 * onnxruntime 1.30 collects usage telemetry on Linux (a device id under ~/.cache, files in $TMPDIR, HTTPS uploads)
 * unless ORT_DISABLE_TELEMETRY is set in the C environment, which Bun's process.env does not reach: set it there.
 */
function disableNativeTelemetry(): void {
  libc().setenv(Buffer.from("ORT_DISABLE_TELEMETRY\0"), Buffer.from("1\0"), 1);
}

async function loadWasmRuntime(threads: number): Promise<OrtModule> {
  const ort = (await import("onnxruntime-web")) as unknown as OrtModule & typeof import("onnxruntime-web");
  // Its default is one thread on small machines; proxying to a worker adds a copy and no speed.
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.proxy = false;
  // Inside the compiled binary the engine's files are unpacked from it; elsewhere the package finds its own.
  const wasmPaths = await embeddedWasmPaths();
  if (wasmPaths) ort.env.wasm.wasmPaths = wasmPaths;
  return ort;
}
