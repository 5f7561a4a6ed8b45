// A start that cannot work stops at once with exit code 1 and one line saying why and which setting, and never says
// "listening" first: a missing catalogue folder or model, a DATA_DIR another process holds, a port that is taken.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { REPO_ROOT } from "../helpers/catalog-server.ts";
import { requireModel, TEST_MODEL, tempDir } from "../helpers/environment.ts";
import { runCommand } from "../helpers/run-command.ts";

const HOLDER = join(REPO_ROOT, "test/helpers/hold-data-dir.ts");
const HAVE_MODEL = requireModel("start-up failures");

/** Runs `serve` with exactly this environment (plus PATH and TMPDIR) to its exit; its output, both streams. */
async function start(env: Record<string, string>): Promise<{ exitCode: number; lines: string[] }> {
  const { exitCode, stdout, stderr } = await runCommand([process.execPath, "src/main.ts"], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", TMPDIR: process.env.TMPDIR ?? "/tmp", HOST: "127.0.0.1", PORT: "0", LOG_FORMAT: "text", ...env },
    timeout: 30_000,
    killSignal: "SIGKILL",
  });
  return { exitCode, lines: `${stdout}${stderr}`.split("\n").filter((line) => line.trim() !== "") };
}

describe.if(HAVE_MODEL)("serve refuses to start, in one line, before it listens", () => {
  test("CATALOG_DIR names no folder", async () => {
    await using dir = await tempDir("fip-start-");
    const photos = join(dir.path, "photos");
    const result = await start({ CATALOG_DIR: photos, DATA_DIR: join(dir.path, "data"), ...TEST_MODEL });
    expect(result).toEqual({
      exitCode: 1,
      lines: [`failed to start: CATALOG_DIR ${photos}: no such folder (a folder of <id>.jpg photos)`],
    });
  });

  test("MODEL_PATH names no file", async () => {
    await using dir = await tempDir("fip-start-");
    const model = join(dir.path, "missing.onnx");
    const result = await start({ CATALOG_DIR: dir.path, DATA_DIR: join(dir.path, "data"), MODEL_PATH: model });
    expect(result).toEqual({
      exitCode: 1,
      lines: [`failed to start: cannot read the model at ${model} (MODEL_PATH): ENOENT; \`npm install\` builds models/resnet50.onnx`],
    });
  });

  test("MODEL_PATH is a model of the other precision than INFERENCE_PRECISION", async () => {
    await using dir = await tempDir("fip-start-");
    const result = await start({ CATALOG_DIR: dir.path, DATA_DIR: join(dir.path, "data"), ...TEST_MODEL, INFERENCE_PRECISION: "int8" });
    expect(result).toEqual({
      exitCode: 1,
      lines: [
        `failed to start: the model at ${TEST_MODEL.MODEL_PATH} (MODEL_PATH) is an fp32 model, but INFERENCE_PRECISION is int8: ` +
          "set INFERENCE_PRECISION=fp32, or unset MODEL_PATH",
      ],
    });
  });

  test("another process holds DATA_DIR", async () => {
    await using dir = await tempDir("fip-start-");
    const dataDir = join(dir.path, "data");
    const holder = Bun.spawn([process.execPath, HOLDER, dataDir], { stdout: "pipe", stderr: "inherit" });
    try {
      const reader = holder.stdout.getReader();
      const { value } = await reader.read();
      expect(new TextDecoder().decode(value)).toBe("open\n");
      const result = await start({ CATALOG_DIR: dir.path, DATA_DIR: dataDir, ...TEST_MODEL });
      expect(result).toEqual({
        exitCode: 1,
        lines: [`failed to start: ${dataDir} is in use by process ${holder.pid}; stop it first (one process per DATA_DIR)`],
      });
    } finally {
      holder.kill("SIGKILL");
      await holder.exited;
    }
  });

  test("the port is taken", async () => {
    await using dir = await tempDir("fip-start-");
    await using taken = Object.assign(Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() }), {
      [Symbol.asyncDispose]: async () => taken.stop(true),
    });
    const result = await start({ CATALOG_DIR: dir.path, DATA_DIR: join(dir.path, "data"), ...TEST_MODEL, PORT: String(taken.port) });
    expect(result).toEqual({
      exitCode: 1,
      lines: [`failed to start: port ${taken.port} on 127.0.0.1 is in use by another process (PORT)`],
    });
  });
});
