import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { INPUT_FLOATS, openModelSession } from "../../src/inference/model-session.ts";
import { MODEL_THREAD_NAME, openModelThread } from "../../src/inference/model-thread.ts";
import { photoModel } from "../../src/inference/photo-model.ts";
import { BULK_THREAD_NICE } from "../../src/runtime/thread-priority.ts";
import { loadPipelineProjection, PIPELINE } from "../../src/services.ts";
import { MODEL_PATH, requireModel, waitFor } from "../helpers/environment.ts";
import { eventLoopNice, threadPriorities } from "../helpers/thread-priorities.ts";

/** CPU time of the main thread (the event loop; its thread id is the process id), in ms (10 ms clock ticks). */
function mainThreadCpuMs(): number {
  const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function mainThreadCpuDuring<T>(work: () => Promise<T>): Promise<{ result: T; cpuMs: number }> {
  const before = mainThreadCpuMs();
  const result = await work();
  return { result, cpuMs: mainThreadCpuMs() - before };
}

/** The process's resident memory, in MB. */
function residentMb(): number {
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"))![1]) / 1024;
}

/** Four different inputs, RGB 0..255. */
function batch(): Float32Array[] {
  return Array.from({ length: 4 }, (_, n) => Float32Array.from({ length: INPUT_FLOATS }, (_, i) => ((n * INPUT_FLOATS + i) * 7919) % 256));
}
const noColours = [null, null, null, null];

describe.skipIf(!requireModel("model thread test"))("openModelThread", () => {
  test("gives the in-thread model's stored vectors; the model and the projection run off the event loop's thread", async () => {
    const options = { modelPath: MODEL_PATH!, backend: "native" as const, threads: 2 };
    const steps = { normalisation: PIPELINE.normalisation, projection: loadPipelineProjection() };
    const inThread = photoModel(await openModelSession(options), steps);
    const threaded = await openModelThread(options, steps);
    try {
      await threaded.embed(batch(), noColours); // warm-up: the first run also sets the graph up
      await inThread.embed(batch(), noColours);
      const [first, second] = [batch(), batch()];
      const there = await mainThreadCpuDuring(() => threaded.embed(first, noColours));
      const here = await mainThreadCpuDuring(() => inThread.embed(second, noColours));
      expect(there.result.vectors.map((vector) => vector.length)).toEqual(Array(4).fill(steps.projection.outputDims));
      let worst = 0;
      there.result.vectors.forEach((vector, n) => {
        for (let i = 0; i < vector.length; i++) worst = Math.max(worst, Math.abs(vector[i]! - here.result.vectors[n]![i]!));
      });
      expect(worst).toBeLessThan(1e-4);
      // onnxruntime-node runs the model on the calling thread: here, the event loop's.
      expect(here.cpuMs).toBeGreaterThanOrEqual(100);
      expect(there.cpuMs).toBeLessThan(here.cpuMs / 5);
    } finally {
      await Promise.all([inThread.close(), threaded.close()]);
    }
  }, 120_000);

  test("gives back the memory a bulk batch took once bulk work stops, and embeds the same afterwards", async () => {
    const options = { modelPath: MODEL_PATH!, backend: "native" as const, threads: 2 };
    const steps = { normalisation: PIPELINE.normalisation, projection: loadPipelineProjection() };
    const threaded = await openModelThread(options, steps, { releaseArenaAfterMs: 200 });
    try {
      const sixteen = () => Array.from({ length: 16 }, (_, n) => batch()[n % 4]!);
      const before = (await threaded.embed(sixteen(), Array(16).fill(null))).vectors;
      const grown = residentMb();
      // onnxruntime's arena keeps ~150 MB after a batch of 16; a reopened session starts without it.
      await waitFor(() => (residentMb() < grown - 80 ? true : undefined), { timeoutMs: 30_000, what: "the arena to be given back" });
      const after = (await threaded.embed(batch(), noColours)).vectors;
      let worst = 0;
      after.forEach((vector, n) => {
        for (let i = 0; i < vector.length; i++) worst = Math.max(worst, Math.abs(vector[i]! - before[n]![i]!));
      });
      expect(worst).toBeLessThan(1e-4);
    } finally {
      await threaded.close();
    }
  }, 120_000);

  test("the model's thread and onnxruntime's threads run at a lower priority than the event loop", async () => {
    const threaded = await openModelThread({ modelPath: MODEL_PATH!, backend: "native", threads: 2 }, { normalisation: PIPELINE.normalisation });
    try {
      await threaded.embed(batch(), noColours);
      // The model's worker, and onnxruntime's second pool thread, which it started (and which took its name).
      const model = threadPriorities().filter(({ name }) => name === MODEL_THREAD_NAME);
      expect(model.length).toBeGreaterThanOrEqual(2);
      expect(model.map(({ nice }) => nice)).toEqual(model.map(() => BULK_THREAD_NICE));
      // The event loop's thread keeps its priority.
      expect(eventLoopNice()).toBe(0);
    } finally {
      await threaded.close();
    }
  }, 120_000);

  test("a model that cannot be loaded is reported as the in-thread loader reports it", async () => {
    const steps = { normalisation: PIPELINE.normalisation };
    const error = await openModelThread({ modelPath: "/nonexistent/model.onnx", backend: "native", threads: 1 }, steps).then(
      () => null,
      (reason: Error) => reason,
    );
    expect(error?.message).toBe("cannot read the model at /nonexistent/model.onnx: ENOENT");
  });
});
