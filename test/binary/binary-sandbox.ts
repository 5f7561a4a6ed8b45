// Runs the compiled binary the way a user would after copying it alone onto a server: from a temp dir, with the
// checkout (and ../shared) unreachable, a minimal environment, and a stray .env and bunfig.toml in its working
// directory that would break it if it read them. As root, each run gets a private mount namespace with an empty tmpfs
// over the checkout (`unshare -m`); where that is not allowed, the tests check /proc/<pid>/maps instead.
import { existsSync } from "node:fs";
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT, SHARED_DIR } from "../helpers/catalog-server.ts";
import { type CommandResult, runCommand } from "../helpers/run-command.ts";

export const BINARY = join(REPO_ROOT, "dist/fashion-image-processor");

/** Whether runs can hide the checkout behind an empty tmpfs: `unshare -m` needs root (CAP_SYS_ADMIN). */
export const CAN_HIDE_CHECKOUT =
  Bun.spawnSync(["unshare", "-m", "true"], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;

/** Written into the working directory; each would break the binary (or leave a trace) if it were read. */
const STRAY_DOTENV = "PORT=1\nINFERENCE_BACKEND=gpu\nMODEL_PATH=/nonexistent/model.onnx\n";
const STRAY_PRELOAD = `require("node:fs").writeFileSync(${JSON.stringify("PRELOAD_RAN")}, "bunfig.toml was read");\n`;
const STRAY_BUNFIG = `preload = ["./stray-preload.js"]\nlogLevel = "debug"\n[run]\npreload = ["./stray-preload.js"]\n`;

export interface RunningBinary extends AsyncDisposable {
  url: string;
  pid: number;
  /** From spawning the process to the first 200 from GET /ready. */
  coldStartMs: number;
  logs(): string;
  /** SIGTERM, then waits (bounded) for the exit code. */
  stop(): Promise<number>;
}

export class BinarySandbox {
  private constructor(
    /** Everything lives under here, outside the checkout. */
    readonly root: string,
  ) {}

  readonly binary = () => join(this.root, "bin", "fashion-image-processor");
  /** The working directory of every run, holding the stray .env and bunfig.toml. */
  readonly cwd = () => join(this.root, "work");
  readonly nativeDir = () => join(this.root, "native");
  readonly tmp = () => join(this.root, "tmp");

  static async create(): Promise<BinarySandbox> {
    const root = await mkdtemp(join(tmpdir(), "fip-binary-"));
    if (root.startsWith(REPO_ROOT) || root.startsWith(SHARED_DIR)) {
      throw new Error(`temp dir ${root} is inside the checkout`);
    }
    const sandbox = new BinarySandbox(root);
    for (const dir of ["bin", "work", "native", "tmp", "home"]) await mkdir(join(root, dir));
    await copyFile(BINARY, sandbox.binary());
    await chmod(sandbox.binary(), 0o755);
    await writeFile(join(sandbox.cwd(), ".env"), STRAY_DOTENV);
    await writeFile(join(sandbox.cwd(), ".env.local"), STRAY_DOTENV);
    await writeFile(join(sandbox.cwd(), "bunfig.toml"), STRAY_BUNFIG);
    await writeFile(join(sandbox.cwd(), "stray-preload.js"), STRAY_PRELOAD);
    return sandbox;
  }

  /** Copies photos in, so the binary can read them while ../shared is hidden. */
  async photoFolder(name: string, photos: { id: number; path: string }[]): Promise<string> {
    const dir = join(this.root, name);
    await mkdir(dir, { recursive: true });
    for (const photo of photos) await copyFile(photo.path, join(dir, `${photo.id}.jpg`));
    return dir;
  }

  /** True if the stray bunfig.toml's preload ever ran. */
  preloadRan(): boolean {
    return existsSync(join(this.cwd(), "PRELOAD_RAN"));
  }

  private command(args: string[]): string[] {
    if (!CAN_HIDE_CHECKOUT) return [this.binary(), ...args];
    const hidden = [REPO_ROOT, SHARED_DIR].filter((dir) => existsSync(dir));
    const mounts = hidden.map((_, i) => `mount -t tmpfs tmpfs "$${i + 1}" && `).join("");
    const script = `${mounts}cd "$${hidden.length + 1}" && shift ${hidden.length + 1} && exec "$@"`;
    return ["unshare", "-m", "sh", "-c", script, "sh", ...hidden, this.cwd(), this.binary(), ...args];
  }

  private environment(env: Record<string, string>): Record<string, string> {
    // Nothing from the test process: a server's environment has none of the checkout's settings.
    return {
      PATH: "/usr/local/bin:/usr/bin:/bin",
      HOME: join(this.root, "home"),
      LANG: "C.UTF-8",
      TMPDIR: this.tmp(),
      NATIVE_LIB_DIR: this.nativeDir(),
      // onnxruntime 1.30 would otherwise try to upload telemetry over HTTPS; these tests talk to 127.0.0.1 only.
      ORT_DISABLE_TELEMETRY: "1",
      ...env,
    };
  }

  /** Runs a command to its end (killed after `timeoutMs`). */
  run(args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): Promise<CommandResult> {
    return runCommand(this.command(args), {
      cwd: this.cwd(),
      env: this.environment(env),
      stdin: "ignore",
      timeout: timeoutMs,
      killSignal: "SIGKILL",
    });
  }

  /** Starts `serve` with PORT=0 on 127.0.0.1 and waits (bounded) for GET /ready to answer 200. */
  async serve(env: Record<string, string>, readyTimeoutMs = 90_000): Promise<RunningBinary> {
    const started = performance.now();
    const child = Bun.spawn(this.command(["serve"]), {
      cwd: this.cwd(),
      env: this.environment({ HOST: "127.0.0.1", PORT: "0", ...env }),
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    let output = "";
    const collect = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) output += decoder.decode(chunk, { stream: true });
    };
    const collecting = Promise.all([collect(child.stdout), collect(child.stderr)]).catch(() => {});
    const describe = () => `\n--- binary logs (pid ${child.pid}) ---\n${output.trimEnd()}\n--- end ---`;
    const stop = async (): Promise<number> => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      const code = await child.exited;
      clearTimeout(timer);
      await collecting;
      return code;
    };

    const deadline = started + readyTimeoutMs;
    let url: string | null = null;
    for (let delay = 5; ; delay = Math.min(delay * 2, 50)) {
      if (child.exitCode !== null) {
        await collecting;
        throw new Error(`the binary exited with code ${child.exitCode} while starting${describe()}`);
      }
      url ??= /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1] ?? null;
      if (url && (await fetch(`${url}/ready`).then((response) => response.status).catch(() => 0)) === 200) break;
      if (performance.now() > deadline) {
        await stop();
        throw new Error(`the binary was not ready within ${readyTimeoutMs} ms${describe()}`);
      }
      await Bun.sleep(delay);
    }
    return {
      url: url!,
      pid: child.pid,
      coldStartMs: performance.now() - started,
      logs: () => output,
      stop,
      [Symbol.asyncDispose]: async () => {
        await stop();
      },
    };
  }

  /** Files the process has mapped (its code and libraries), as paths. */
  static async mappedFiles(pid: number): Promise<string[]> {
    const maps = await readFile(`/proc/${pid}/maps`, "utf8");
    const paths = maps
      .split("\n")
      .map((line) => line.split(/\s+/).slice(5).join(" "))
      .filter((path) => path.startsWith("/"));
    return [...new Set(paths)];
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}
