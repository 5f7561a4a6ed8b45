// Everything the compiled binary carries besides its code: the model, the native addons with the library they load,
// and the WASM engine. Imported only by code that runs inside the binary (scripts/build-binary.ts wires the addons'
// own `require`s to src/runtime/native-libraries.ts, which imports this); `bun src/main.ts` never loads it.
// Each import is a path: under /$bunfs/ inside the binary, where only Bun itself can read it.
import canvasAddon from "@napi-rs/canvas-linux-x64-gnu/skia.linux-x64-gnu.node" with { type: "file" };
import onnxruntimeLibrary from "onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1" with { type: "file" };
import onnxruntimeBinding from "onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node" with { type: "file" };
import wasmEngineScript from "onnxruntime-web/ort-wasm-simd-threaded.mjs" with { type: "file" };
import wasmEngineBinary from "onnxruntime-web/ort-wasm-simd-threaded.wasm" with { type: "file" };
import type { InferencePrecision } from "../config.ts";
// usearch's package `exports` hide its prebuilds, hence the path through node_modules.
import usearchAddon from "../../node_modules/usearch/prebuilds/linux-x64/usearch.node" with { type: "file" };
// sharp's packages export neither file: the same way in. The versions are pinned in package.json.
import sharpAddon from "../../node_modules/@img/sharp-linux-x64/lib/sharp-linux-x64-0.35.5.node" with { type: "file" };
import libvips from "../../node_modules/@img/sharp-libvips-linux-x64/lib/libvips-cpp.so.8.18.7" with { type: "file" };
import model from "../../models/resnet50.onnx" with { type: "file" };
import int8Model from "../../models/resnet50-int8.onnx" with { type: "file" };

/** Files that must be real files on disk to be loaded, by the name (and subdirectory) they must have there. */
export const NATIVE_FILES = {
  // The binding finds the library beside itself (its RUNPATH is $ORIGIN), under this exact name.
  "libonnxruntime.so.1": onnxruntimeLibrary,
  "onnxruntime_binding.node": onnxruntimeBinding,
  "usearch.node": usearchAddon,
  "skia.linux-x64-gnu.node": canvasAddon,
  // sharp's addon finds libvips by its RPATH, $ORIGIN/../../sharp-libvips-linux-x64/lib: the packages' own layout.
  "@img/sharp-libvips-linux-x64/lib/libvips-cpp.so.8.18.7": libvips,
  "@img/sharp-linux-x64/lib/sharp-linux-x64-0.35.5.node": sharpAddon,
  "ort-wasm-simd-threaded.mjs": wasmEngineScript,
  "ort-wasm-simd-threaded.wasm": wasmEngineBinary,
} as const;

export type NativeFileName = keyof typeof NATIVE_FILES;

/**
 * ResNet50 for each INFERENCE_PRECISION, read in place (Bun reads /$bunfs/ paths); MODEL_PATH still overrides it.
 * Both are carried (the int8 one is 32 MB beside the fp32 one's 103 MB), so the setting works in the binary as well.
 */
export const EMBEDDED_MODEL_PATHS: Readonly<Record<InferencePrecision, string>> = { fp32: model, int8: int8Model };
