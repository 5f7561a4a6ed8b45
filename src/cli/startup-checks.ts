// What `serve` checks before it says "listening": the catalogue folder, the model file (readable, of
// INFERENCE_PRECISION) and DATA_DIR (free for this process), so that a start that cannot work stops at once with one
// line, instead of answering /health and failing in its first task or a moment later.
import { constants } from "node:fs";
import { access, mkdir, stat } from "node:fs/promises";
import type { Config } from "../config.ts";
import { checkModelPrecision } from "../inference/model-precision.ts";
import { isStandalone } from "../runtime/standalone.ts";
import { lockDataDir } from "../store/data-dir-lock.ts";

/** A start-up failure the user can fix; the command line prints its message as one line. */
export class StartupError extends Error {
  override name = "StartupError";
}

export async function checkStartable(config: Config): Promise<void> {
  if (config.catalog.kind === "folder") {
    const { dir } = config.catalog;
    const found = await stat(dir).catch((error: NodeJS.ErrnoException) => error);
    if (found instanceof Error || !found.isDirectory()) {
      const reason = found instanceof Error ? (found.code === "ENOENT" ? "no such folder" : found.code ?? found.message) : "not a folder";
      throw new StartupError(`CATALOG_DIR ${dir}: ${reason} (a folder of <id>.jpg photos)`);
    }
  }
  // The binary's embedded model is read in place; only a file on disk can be missing.
  if (!config.modelPath.startsWith("/$bunfs/")) {
    // The binary carries its own model: only a checkout is fixed by building one.
    const remedy = isStandalone ? "unset MODEL_PATH to use the embedded model" : "`npm install` builds models/resnet50.onnx";
    await access(config.modelPath, constants.R_OK).catch((error: NodeJS.ErrnoException) => {
      throw new StartupError(
        `cannot read the model at ${config.modelPath} (MODEL_PATH): ${error.code ?? error.message}; ${remedy}`,
      );
    });
    try {
      checkModelPrecision(config.modelPath, config.inference.precision);
    } catch (error) {
      throw new StartupError((error as Error).message);
    }
  }
  // With the index in PostgreSQL, DATA_DIR holds nothing of it: replicas on one host may share it.
  if (config.vectorStore.url) return;
  // Taken and given back at once: the store takes it for good when it opens. A second service on the same DATA_DIR is
  // refused here, before it listens (StoreError, one line naming the owner).
  await mkdir(config.dataDir, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
    throw new StartupError(`cannot create DATA_DIR ${config.dataDir}: ${error.code ?? error.message}`);
  });
  await (await lockDataDir(config.dataDir)).release();
}

/** Bun.serve's own error for a port that is taken (or not ours to take), as one line naming PORT. */
export function describeListenFailure(error: unknown, host: string, port: number): Error {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === "EADDRINUSE") return new StartupError(`port ${port} on ${host} is in use by another process (PORT)`);
  if (code === "EACCES") return new StartupError(`not allowed to listen on port ${port} on ${host} (PORT)`);
  if (code === "EADDRNOTAVAIL") return new StartupError(`${host} is not an address of this machine (HOST)`);
  return error instanceof Error ? error : new Error(String(error));
}
