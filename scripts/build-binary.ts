// Builds dist/fashion-image-processor (`npm run build`): one Linux x64 executable, made with Bun's --compile, that
// carries the code, the model, the WASM engine and the native addons, so that copied alone onto a server it runs.
// Usage: bun scripts/build-binary.ts [--out dist/fashion-image-processor]
//
// Bun embeds a `.node` file it can see being required, and loads it by writing it to $TMPDIR itself; it does not see
// usearch's addon (found at run time by node-gyp-build) nor libonnxruntime.so.1 (which onnxruntime's addon loads from
// beside itself). So the addons' own loading is replaced here, at build time, by src/runtime/native-libraries.ts,
// which unpacks each addon together with what it needs into one directory the user can choose (NATIVE_LIB_DIR):
//   onnxruntime-node  dist/binding.js requires ../bin/napi-v6/linux/x64/onnxruntime_binding.node
//   @napi-rs/canvas   js-binding.js requires @napi-rs/canvas-linux-x64-gnu
//   usearch           dist/{esm,cjs}/usearch.js computes its addon's directory and calls node-gyp-build on it
//   sharp             dist/sharp.{mjs,cjs} requires @img/sharp-linux-x64/sharp.node (through createRequire in ESM)
// The packages' code is otherwise used as it is. Their versions are pinned in package.json; if one changes how it
// loads its addon, this build fails rather than making a binary that only works beside node_modules.
//
// Photos are decoded, the model runs, and index segments are written in worker threads. Bun does not follow `new Worker(path)` into the bundle, so
// each worker's file is an entrypoint of its own, bundled at its path under src/ (the build's root), where
// workerEntry() in src/runtime/standalone.ts finds it.
import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, relative, resolve, sep } from "node:path";
import { parseArgs } from "node:util";
import type { BunPlugin } from "bun";

const REPO_ROOT = resolve(import.meta.dir, "..");
const SOURCE_ROOT = resolve(REPO_ROOT, "src");
const ENTRY = resolve(SOURCE_ROOT, "main.ts");
const WORKERS = ["inference/decode-worker.ts", "inference/model-worker.ts", "store/segment-worker.ts", "store/search-worker.ts", "http/extra-loop-worker.ts"].map((path) => resolve(SOURCE_ROOT, path));
const LOADER = resolve(REPO_ROOT, "src/runtime/native-libraries.ts");
const MODELS = ["models/resnet50.onnx", "models/resnet50-int8.onnx"].map((path) => resolve(REPO_ROOT, path));

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: { out: { type: "string", default: "dist/fashion-image-processor" } },
});
const outfile = resolve(REPO_ROOT, values.out!);

/** The usearch line that finds the addon on disk, in both of its builds. */
const USEARCH_LOADS_ADDON = /^const compiled = .*\bgetBuildDir\(getDirName\(\)\)\);?$/m;

/** The sharp line that loads the addon on this platform, in both of its builds. */
const SHARP_LOADS_ADDON = 'sharp = require("@img/sharp-linux-x64/sharp.node");';

const rewired = new Set<string>();

const embeddedAddons: BunPlugin = {
  name: "embedded-native-addons",
  setup(build) {
    const toLoader = (addon: string) => {
      rewired.add(addon);
      return { path: addon, namespace: "embedded-addon" };
    };
    build.onResolve({ filter: /onnxruntime_binding\.node$/ }, (args) =>
      isIn(args.importer, "onnxruntime-node", "dist") ? toLoader("onnxruntime") : undefined,
    );
    build.onResolve({ filter: /^@napi-rs\/canvas-linux-x64-gnu$/ }, () => toLoader("canvas"));
    build.onLoad({ filter: /.*/, namespace: "embedded-addon" }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(LOADER)}).loadEmbeddedAddon(${JSON.stringify(args.path)});`,
      loader: "js",
    }));
    build.onLoad({ filter: /[\\/]usearch[\\/]javascript[\\/]dist[\\/](esm|cjs)[\\/]usearch\.js$/ }, async (args) => {
      const source = await Bun.file(args.path).text();
      if (!USEARCH_LOADS_ADDON.test(source)) {
        throw new Error(
          `${args.path}: usearch no longer loads its addon the way ${relative(REPO_ROOT, import.meta.path)} expects`,
        );
      }
      rewired.add("usearch");
      const isEsm = args.path.includes(`${sep}esm${sep}`);
      const load = isEsm
        ? `import { loadEmbeddedAddon as __loadEmbeddedAddon } from ${JSON.stringify(LOADER)};\n` +
          `const compiled = __loadEmbeddedAddon("usearch");`
        : `const compiled = require(${JSON.stringify(LOADER)}).loadEmbeddedAddon("usearch");`;
      return { contents: source.replace(USEARCH_LOADS_ADDON, load), loader: "js" };
    });
    build.onLoad({ filter: /[\\/]sharp[\\/]dist[\\/]sharp\.(mjs|cjs)$/ }, async (args) => {
      const source = await Bun.file(args.path).text();
      if (!source.includes(SHARP_LOADS_ADDON)) {
        throw new Error(`${args.path}: sharp no longer loads its addon the way ${relative(REPO_ROOT, import.meta.path)} expects`);
      }
      rewired.add("sharp");
      const loader = args.path.endsWith(".mjs")
        ? `import { loadEmbeddedAddon as __loadEmbeddedAddon } from ${JSON.stringify(LOADER)};\n`
        : `const { loadEmbeddedAddon: __loadEmbeddedAddon } = require(${JSON.stringify(LOADER)});\n`;
      return { contents: loader + source.replace(SHARP_LOADS_ADDON, `sharp = __loadEmbeddedAddon("sharp");`), loader: "js" };
    });
  },
};

if (process.platform !== "linux" || process.arch !== "x64") {
  // The embedded addons are the linux-x64 builds, and the binary is this Bun's own runtime plus the bundle.
  console.error(`the binary is built on Linux x64 only, not ${process.platform}-${process.arch}; see the Dockerfile`);
  process.exit(1);
}
for (const model of MODELS.filter((path) => !existsSync(path))) {
  console.error(`no model at ${relative(REPO_ROOT, model)}: run \`npm install\` (or \`npm run build:model\`) first`);
  process.exit(1);
}
mkdirSync(dirname(outfile), { recursive: true });

const started = performance.now();
const result = await Bun.build({
  entrypoints: [ENTRY, ...WORKERS],
  root: SOURCE_ROOT,
  target: "bun",
  // Whitespace and syntax only: identifiers stay readable in the stack traces of logged errors.
  minify: { whitespace: true, syntax: true },
  sourcemap: "none",
  plugins: [embeddedAddons],
  compile: {
    // No target: this Bun's own runtime goes into the binary, so nothing is downloaded.
    outfile,
    // The binary reads its settings from the environment only, never from files in the directory it starts in.
    autoloadDotenv: false,
    autoloadBunfig: false,
    autoloadTsconfig: false,
    autoloadPackageJson: false,
  },
});
for (const message of result.logs) console.error(message);
if (!result.success) process.exit(1);

const missing = ["onnxruntime", "canvas", "usearch", "sharp"].filter((addon) => !rewired.has(addon));
if (missing.length > 0) {
  console.error(`the build did not rewire how ${missing.join(", ")} load their addons: the binary would need node_modules`);
  process.exit(1);
}
const megabytes = (statSync(outfile).size / 1024 / 1024).toFixed(0);
const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(`built ${relative(process.cwd(), outfile)} (${megabytes} MB) in ${seconds} s`);

/** Whether `path` lies in the package's folder `sub` (under any node_modules). */
function isIn(path: string, packageName: string, sub: string): boolean {
  return path.includes(`${sep}node_modules${sep}${packageName}${sep}${sub}${sep}`);
}
