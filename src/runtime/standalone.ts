// What differs when the service runs as the compiled binary rather than `bun src/main.ts` from a checkout: the model
// and the WASM engine come from inside the binary. Outside it, these change nothing and load nothing.

import { DEFAULT_PRECISION, type InferencePrecision } from "../config.ts";

/** True inside the executable `npm run build` makes. */
export const isStandalone: boolean = Bun.isStandaloneExecutable;

/**
 * The environment with the binary's own defaults filled in: MODEL_PATH is the embedded model of INFERENCE_PRECISION
 * unless set (a precision that is not one is left for the configuration to refuse).
 */
export async function withBinaryDefaults(
  env: Record<string, string | undefined>,
): Promise<Record<string, string | undefined>> {
  if (!isStandalone || env.MODEL_PATH !== undefined) return env;
  const { EMBEDDED_MODEL_PATHS } = await import("./embedded-files.ts");
  const precision = env.INFERENCE_PRECISION ?? DEFAULT_PRECISION;
  if (!Object.hasOwn(EMBEDDED_MODEL_PATHS, precision)) return env;
  return { ...env, MODEL_PATH: EMBEDDED_MODEL_PATHS[precision as InferencePrecision] };
}

/** Where onnxruntime-web finds its engine inside the binary; undefined (its own default) elsewhere. */
export async function embeddedWasmPaths(): Promise<{ mjs: string; wasm: string } | undefined> {
  if (!isStandalone) return undefined;
  const { unpackWasmEngine } = await import("./native-libraries.ts");
  return unpackWasmEngine();
}

/** A file inside the binary (a /$bunfs/ path, which only Bun itself can read). */
export function isEmbedded(path: string): boolean {
  return path.startsWith("/$bunfs/");
}

/** For logs: the embedded model is shown as such rather than as its /$bunfs/ path. */
export function describeModelPath(path: string): string {
  return isEmbedded(path) ? "the embedded ResNet50 model" : path;
}

/**
 * The entry file of a worker thread, given by its path under src/. Inside the binary scripts/build-binary.ts bundles
 * each worker as an entrypoint of its own, at that path (src/ is the build's root); a URL relative to the module that
 * starts it would point at the binary itself there.
 */
export function workerEntry(pathInSource: string): string {
  if (isStandalone) return `/$bunfs/root/${pathInSource.replace(/\.ts$/, ".js")}`;
  return new URL(`../${pathInSource}`, import.meta.url).href;
}
