// What the tests can use on this machine: the real model and the real labelled photos live in ../shared beside the
// checkout (CI always has it); on a user's machine without it, tests that need them skip with a visible notice.
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { FASHION_DIR, REPO_ROOT, SHARED_DIR } from "./catalog-server.ts";

const modelCandidates = [process.env.MODEL_PATH, join(SHARED_DIR, "models/resnet50.onnx"), join(REPO_ROOT, "models/resnet50.onnx")];

/** The real ResNet50 model, or null when neither ../shared nor models/ has it. */
export const MODEL_PATH: string | null =
  modelCandidates.filter((path): path is string => Boolean(path)).map((path) => resolve(path)).find(existsSync) ?? null;

/**
 * The settings that run the service on MODEL_PATH (the fp32 model), named as such: under the default precision (int8)
 * its vectors would be stored under the int8 pipeline's name.
 */
export const TEST_MODEL: { MODEL_PATH: string; INFERENCE_PRECISION: "fp32" } | Record<string, never> = MODEL_PATH
  ? { MODEL_PATH, INFERENCE_PRECISION: "fp32" }
  : {};

/** The int8 model `npm install` builds beside the fp32 one (scripts/build-model.ts), or null when it is missing. */
export const INT8_MODEL_PATH: string | null = [join(REPO_ROOT, "models/resnet50-int8.onnx")].find(existsSync) ?? null;

export const HAS_FASHION_PHOTOS = existsSync(FASHION_DIR);

const announced = new Set<string>();

/** Says once, visibly, why some tests do not run here. */
export function announceSkip(what: string, why: string): void {
  const line = `SKIPPED ${what}: ${why}`;
  if (announced.has(line)) return;
  announced.add(line);
  console.warn(`\n*** ${line} ***\n`);
}

export function requireModel(what: string): boolean {
  if (!MODEL_PATH) announceSkip(what, `no model at ../shared/models/resnet50.onnx or models/resnet50.onnx`);
  return MODEL_PATH !== null;
}

export function requireInt8Model(what: string): boolean {
  if (!INT8_MODEL_PATH) announceSkip(what, "no models/resnet50-int8.onnx (npm install builds it)");
  return INT8_MODEL_PATH !== null;
}

export function requireFashionPhotos(what: string): boolean {
  if (!HAS_FASHION_PHOTOS) announceSkip(what, `no labelled photos at ${FASHION_DIR}`);
  return HAS_FASHION_PHOTOS;
}

/** A fresh temp directory, removed by `await using`. */
export async function tempDir(prefix = "fip-test-"): Promise<AsyncDisposable & { path: string }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, [Symbol.asyncDispose]: () => rm(path, { recursive: true, force: true }) };
}

/** Polls `check` until it returns a value (not undefined), failing after `timeoutMs`. Waits on a condition, never a fixed sleep. */
export async function waitFor<T>(check: () => Promise<T | undefined> | T | undefined, options: { timeoutMs?: number; what?: string } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (let delay = 10; ; delay = Math.min(delay * 2, 250)) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${options.what ?? "a condition"}`);
    await Bun.sleep(delay);
  }
}
