import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { INPUT_FLOATS, openModelSession } from "../../src/inference/model-session.ts";
import { openModelThread } from "../../src/inference/model-thread.ts";
import { MODEL_PATH, requireModel } from "../helpers/environment.ts";

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

/** Four different inputs, RGB 0..255. */
function batch(): Float32Array {
  return Float32Array.from({ length: 4 * INPUT_FLOATS }, (_, i) => (i * 7919) % 256);
}

describe.skipIf(!requireModel("model thread test"))("openModelThread", () => {
  test("gives the in-thread session's embeddings, and the model runs off the event loop's thread", async () => {
    const options = { modelPath: MODEL_PATH!, backend: "native" as const, threads: 2 };
    const inThread = await openModelSession(options);
    const threaded = await openModelThread(options);
    try {
      await threaded.embed(batch(), 4); // warm-up: the first run also sets the graph up
      await inThread.embed(batch(), 4);
      const [first, second] = [batch(), batch()];
      const there = await mainThreadCpuDuring(() => threaded.embed(first, 4));
      const here = await mainThreadCpuDuring(() => inThread.embed(second, 4));
      expect(there.result.length).toBe(4 * 2048);
      let worst = 0;
      for (let i = 0; i < there.result.length; i++) worst = Math.max(worst, Math.abs(there.result[i]! - here.result[i]!));
      expect(worst).toBeLessThan(1e-4);
      // onnxruntime-node runs the model on the calling thread: here, the event loop's.
      expect(here.cpuMs).toBeGreaterThanOrEqual(100);
      expect(there.cpuMs).toBeLessThan(here.cpuMs / 5);
    } finally {
      await Promise.all([inThread.close(), threaded.close()]);
    }
  }, 120_000);

  test("a model that cannot be loaded is reported as the in-thread loader reports it", async () => {
    const error = await openModelThread({ modelPath: "/nonexistent/model.onnx", backend: "native", threads: 1 }).then(
      () => null,
      (reason: Error) => reason,
    );
    expect(error?.message).toBe("cannot read the model at /nonexistent/model.onnx: ENOENT");
  });
});
