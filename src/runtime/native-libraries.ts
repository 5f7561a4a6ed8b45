// Inside the compiled binary: unpacks the native addons (and the library onnxruntime's addon loads) from the binary
// into a directory on disk, where the dynamic linker can load them, and loads them from there. Each build unpacks
// into its own subdirectory, named after the embedded files' content hashes, once; later starts reuse the files.
//
// scripts/build-binary.ts points the addons' own `require("….node")` at loadEmbeddedAddon(), so onnxruntime-node,
// usearch, @napi-rs/canvas and sharp are used unchanged. Not used by `bun src/main.ts`, which loads them from node_modules.
import { lstatSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { threadId } from "node:worker_threads";
import packageJson from "../../package.json" with { type: "json" };
import { NATIVE_FILES, type NativeFileName } from "./embedded-files.ts";

/** Set it to a writable directory on a filesystem that allows loading libraries (not mounted noexec). */
export const NATIVE_DIR_VARIABLE = "NATIVE_LIB_DIR";

/** What the embedded libraries need from the host, from `objdump -T` of each (usearch.node needs the most). */
export const HOST_REQUIREMENTS = "glibc 2.34 or later and libstdc++ from GCC 11 or later (GLIBCXX_3.4.29)";

/** The packages whose addons these are, for messages. */
const PACKAGES = { onnxruntime: "onnxruntime-node", usearch: "usearch", canvas: "@napi-rs/canvas", sharp: "sharp" } as const;

const ADDONS = {
  // The library first: the binding is linked against it.
  onnxruntime: ["libonnxruntime.so.1", "onnxruntime_binding.node"],
  usearch: ["usearch.node"],
  canvas: ["skia.linux-x64-gnu.node"],
  sharp: ["@img/sharp-libvips-linux-x64/lib/libvips-cpp.so.8.18.7", "@img/sharp-linux-x64/lib/sharp-linux-x64-0.35.5.node"],
} as const satisfies Record<string, readonly NativeFileName[]>;

export type EmbeddedAddon = keyof typeof ADDONS;

export class NativeLibraryError extends Error {
  override name = "NativeLibraryError";
}

let preparedDir: string | null = null;

/** This build's directory of unpacked files, created on first use. */
export function nativeLibraryDir(): string {
  if (preparedDir) return preparedDir;
  const chosen = process.env[NATIVE_DIR_VARIABLE];
  const base = chosen ? resolve(chosen) : join(tmpdir(), `fashion-image-processor-${process.getuid?.() ?? "user"}`);
  const dir = join(base, `${packageJson.version}-${buildKey()}`);
  try {
    mkdirSync(base, { recursive: true, mode: 0o700 });
    // A shared temp dir: another user could have planted libraries there for us to load.
    if (!chosen) assertOwnPrivateDir(base);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    if (error instanceof NativeLibraryError) throw error;
    throw new NativeLibraryError(
      `cannot create ${dir} to unpack the native libraries into (${describe(error)}); ` +
        `set ${NATIVE_DIR_VARIABLE} to a writable directory`,
    );
  }
  preparedDir = dir;
  return dir;
}

/** The file on disk, unpacked unless an earlier start already did. Written atomically: a file there is whole. */
export function unpack(name: NativeFileName): string {
  const target = join(nativeLibraryDir(), name);
  const source = NATIVE_FILES[name];
  const expectedSize = statSync(source).size;
  if (statSync(target, { throwIfNoEntry: false })?.size === expectedSize) return target;
  // Each decode worker thread unpacks too: the thread id keeps two threads of one process off the same temp file.
  const temp = `${target}.${process.pid}.${threadId}.${Date.now()}.tmp`;
  try {
    mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
    writeFileSync(temp, readFileSync(source), { mode: 0o755 });
    renameSync(temp, target);
  } catch (error) {
    rmSync(temp, { force: true });
    throw new NativeLibraryError(
      `cannot unpack ${name} into ${nativeLibraryDir()} (${describe(error)}); ` +
        `set ${NATIVE_DIR_VARIABLE} to a writable directory with ~120 MB free`,
    );
  }
  return target;
}

/** The addon's exports, loaded from its unpacked file; called by the addon's package in place of its own `require`. */
export function loadEmbeddedAddon(addon: EmbeddedAddon): unknown {
  const paths = ADDONS[addon].map((name) => unpack(name));
  const path = paths.at(-1)!;
  const module = { exports: {} };
  try {
    process.dlopen(module, path);
  } catch (error) {
    throw new NativeLibraryError(`cannot load the native addon of ${PACKAGES[addon]}: ${explainLoadFailure(error)}`);
  }
  return module.exports;
}

/** onnxruntime-web's engine as files on disk, for `env.wasm.wasmPaths` (it imports the script and reads the binary). */
export function unpackWasmEngine(): { mjs: string; wasm: string } {
  return { mjs: unpack("ort-wasm-simd-threaded.mjs"), wasm: unpack("ort-wasm-simd-threaded.wasm") };
}

/**
 * Names this build's embedded files. Bun names each embedded file `<name>-<content hash>.<ext>`, so the names change
 * whenever a file's content does, and a directory unpacked by another build is never reused.
 */
function buildKey(): string {
  const names = Object.values(NATIVE_FILES)
    .map((path) => basename(path))
    .join("\n");
  return Bun.hash(names).toString(16).padStart(16, "0");
}

function assertOwnPrivateDir(dir: string): void {
  const stats = lstatSync(dir);
  const uid = process.getuid?.();
  if (!stats.isDirectory() || (uid !== undefined && stats.uid !== uid) || (stats.mode & 0o022) !== 0) {
    throw new NativeLibraryError(
      `refusing to load native libraries from ${dir}: it is not a directory that only this user can write to; ` +
        `remove it or set ${NATIVE_DIR_VARIABLE} to a directory of your own`,
    );
  }
}

function explainLoadFailure(error: unknown): string {
  const reason = describe(error);
  if (/GLIBC_|GLIBCXX_|CXXABI_/.test(reason)) {
    return `${reason}. This binary needs ${HOST_REQUIREMENTS}; this host has glibc ${hostGlibc()}`;
  }
  if (/lib(stdc\+\+|gcc_s)\.so/.test(reason)) {
    return `${reason}. Install the C++ runtime (Debian/Ubuntu: libstdc++6); this binary needs ${HOST_REQUIREMENTS}`;
  }
  if (/failed to map segment|operation not permitted|permission denied/i.test(reason)) {
    return (
      `${reason}. The directory may be on a filesystem mounted noexec; ` +
      `set ${NATIVE_DIR_VARIABLE} to a directory where libraries can be loaded`
    );
  }
  return reason;
}

function hostGlibc(): string {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return report?.header?.glibcVersionRuntime ?? "unknown (not glibc?)";
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = "code" in error && typeof error.code === "string" ? error.code : null;
  // dlopen's message says it all; fs errors already start with their code.
  if (!code || code === "ERR_DLOPEN_FAILED" || error.message.includes(code)) return error.message;
  return `${code}: ${error.message}`;
}
