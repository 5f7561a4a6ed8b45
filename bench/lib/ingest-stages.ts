// The ingest benchmark's in-process parts: the model alone (the ceiling an ingest is measured against), and the cost
// of each stage a photo goes through, one photo at a time on one thread, so the next bottleneck is visible.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type InferencePrecision, MODEL_FILES } from "../../src/config.ts";
import { colourDescriptor } from "../../src/inference/colour-descriptor.ts";
import { decodeToModelInput } from "../../src/inference/image-decoder.ts";
import { INPUT_FLOATS, openModelSession } from "../../src/inference/model-session.ts";
import { photoModel } from "../../src/inference/photo-model.ts";
import { loadPipelineProjection, PIPELINE, pipelineDecoding } from "../../src/services.ts";
import { percentile } from "./process-stats.ts";

/** The model file of a precision: the one `npm install` built, or for fp32 MODEL_PATH when set (../shared's). */
export function modelPathFor(repoRoot: string, precision: InferencePrecision): string {
  const path = precision === "fp32" && process.env.MODEL_PATH ? process.env.MODEL_PATH : join(repoRoot, "models", MODEL_FILES[precision]);
  if (!existsSync(path)) throw new Error(`no ${precision} model at ${path}`);
  return path;
}

const DECODE = pipelineDecoding(50_000_000);

/** A labelled photo's model input, as the service makes it. */
export async function modelInput(bytes: Uint8Array): Promise<Float32Array> {
  const input = new Float32Array(INPUT_FLOATS);
  await decodeToModelInput(bytes, DECODE, input);
  return input;
}

/**
 * Photos per second of the model alone (onnxruntime-node in this thread, INFERENCE_THREADS threads), at `batch`
 * photos a run, once per repeat: each repeat runs enough batches for `photos` photos after one warm-up batch.
 */
export async function modelOnlyRates(options: {
  modelPath: string;
  threads: number;
  batch: number;
  photos: number;
  repeats: number;
  inputs: Float32Array[];
}): Promise<{ rates: number[]; cpuMsPerPhoto: number[] }> {
  const session = await openModelSession({ modelPath: options.modelPath, backend: "native", threads: options.threads });
  try {
    const batchInputs = (start: number) => {
      const floats = new Float32Array(options.batch * INPUT_FLOATS);
      for (let i = 0; i < options.batch; i++) floats.set(options.inputs[(start + i) % options.inputs.length]!, i * INPUT_FLOATS);
      return floats;
    };
    await session.embed(batchInputs(0), options.batch);
    const runs = Math.max(1, Math.round(options.photos / options.batch));
    const rates: number[] = [];
    const cpuMsPerPhoto: number[] = [];
    for (let repeat = 0; repeat < options.repeats; repeat++) {
      const batches = Array.from({ length: runs }, (_, run) => batchInputs(run * options.batch));
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      for (const inputs of batches) await session.embed(inputs, options.batch);
      rates.push((runs * options.batch) / ((performance.now() - started) / 1000));
      const cpu = process.cpuUsage(cpuBefore);
      cpuMsPerPhoto.push((cpu.user + cpu.system) / 1000 / (runs * options.batch));
    }
    return { rates, cpuMsPerPhoto };
  } finally {
    await session.close();
  }
}

export interface StageCosts {
  /** ms per photo, median and 90th percentile. */
  fetch: { p50: number; p90: number };
  decode: { p50: number; p90: number };
}

/** One photo at a time: its GET from the catalogue server, then its decode and resize into the model's input. */
export async function stageCosts(urls: string[]): Promise<StageCosts> {
  const fetchMs: number[] = [];
  const decodeMs: number[] = [];
  for (const url of urls) {
    let started = performance.now();
    const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
    fetchMs.push(performance.now() - started);
    started = performance.now();
    await modelInput(bytes);
    decodeMs.push(performance.now() - started);
  }
  const summary = (values: number[]) => {
    const sorted = values.toSorted((a, b) => a - b);
    return { p50: percentile(sorted, 0.5), p90: percentile(sorted, 0.9) };
  };
  return { fetch: summary(fetchMs), decode: summary(decodeMs) };
}

/** ms per photo of the steps after the model (normalisation and the learned projection), in the model's thread. */
export async function vectorStepsMs(modelPath: string, inputs: Float32Array[]): Promise<number> {
  const session = await openModelSession({ modelPath, backend: "native", threads: 1 });
  try {
    // A stand-in session that answers one real raw output at once: only the steps after the model are timed. The
    // colour descriptors are made beforehand, as the decoding threads make them.
    const raw = await session.embed(inputs[0]!, 1);
    const colours = inputs.map((input) => colourDescriptor(input));
    const steps = photoModel({ backend: "native", embed: async () => raw.slice(), close: async () => {} }, {
      normalisation: PIPELINE.normalisation,
      projection: loadPipelineProjection(),
    });
    const count = 200;
    await steps.embed([inputs[0]!], [colours[0]!]);
    const started = performance.now();
    for (let i = 0; i < count; i++) await steps.embed([inputs[i % inputs.length]!], [colours[i % inputs.length]!]);
    return (performance.now() - started) / count;
  } finally {
    await session.close();
  }
}
