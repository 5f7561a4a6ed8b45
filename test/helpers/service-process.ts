// Runs the real service as a separate process (src/main.ts under the same Bun), the way it runs in production, so
// end-to-end tests can restart it, send it signals and crash it; its logs are collected for failure messages.
import type { Subprocess } from "bun";
import { REPO_ROOT } from "./catalog-server.ts";
import { CONFIG_VARIABLES } from "../../src/config.ts";
import { MODEL_PATH, TEST_MODEL } from "./environment.ts";

/** What GET /tasks/{id} answers (the fields the tests read). */
export interface TaskView {
  task_id: string;
  kind: string;
  status: "queued" | "running" | "succeeded" | "failed";
  product_id: number | null;
  product_ids: number[] | null;
  progress: { total: number; done: number; failed: number };
  errors: { product_id: number | null; code: string; message: string }[];
  message: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface JsonAnswer<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface ServiceProcess extends AsyncDisposable {
  /** e.g. `http://127.0.0.1:41234`, no trailing slash. */
  url: string;
  port: number;
  process: Subprocess<"ignore", "pipe", "pipe">;
  /** Settles with the exit code (or 128 + signal number) when the process ends. */
  exited: Promise<number>;
  /** Everything the process wrote to stdout and stderr so far. */
  logs(): string;
  /** Sends `signal` and waits (bounded) for the process to exit; resolves with its exit code. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number>;
  /** SIGKILL: a crash, no chance to save anything. */
  kill(): Promise<number>;
  json<T = any>(path: string, init?: RequestInit): Promise<JsonAnswer<T>>;
  /** Polls GET /tasks/{id} until the task is succeeded or failed. */
  waitForTask(taskId: string, timeoutMs?: number): Promise<TaskView>;
}

export interface StartOptions {
  /** How long loading the model and opening the index may take. */
  readyTimeoutMs?: number;
  /** False: settle once the port is open, for a service that is not ready by design (it waits for something). */
  waitUntilReady?: boolean;
}

const LISTENING = /listening on (http:\/\/[^\s/]+:(\d+))/;
const READY_POLL_MS = 10;

/** Services still running: a test that times out never reaches its `await using` cleanup, so the runner's exit does. */
const running = new Set<Subprocess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/**
 * Starts `bun src/main.ts` with `env` on top of the test process's environment and waits until GET /ready answers
 * 200 (unless told not to). PORT defaults to 0: the service logs the port it got, and that line is where the URL comes
 * from. DATA_DIR is required, so a test can never write into the checkout's ./data.
 */
export async function startService(env: Record<string, string>, options: StartOptions = {}): Promise<ServiceProcess> {
  if (!MODEL_PATH) throw new Error("startService: no model (guard the test with requireModel)");
  if (!env.DATA_DIR) throw new Error("startService: pass DATA_DIR (a temp dir), never the default ./data");
  const inherited = { ...process.env };
  // The service's own settings are never inherited from the shell that runs the tests.
  for (const name of CONFIG_VARIABLES) delete inherited[name];

  const child = Bun.spawn([process.execPath, "src/main.ts"], {
    cwd: REPO_ROOT,
    env: { ...inherited, HOST: "127.0.0.1", PORT: "0", ...TEST_MODEL, ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });

  running.add(child);
  void child.exited.then(() => running.delete(child));

  let output = "";
  let announceListening: (address: { url: string; port: number }) => void = () => {};
  const listening = new Promise<{ url: string; port: number }>((resolve) => (announceListening = resolve));
  let announced = false;
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      output += decoder.decode(chunk, { stream: true });
      if (announced) continue;
      // Matched only until found: a regex over the whole output flattens it, and a service logging each request
      // (a benchmark's thousands of searches) made that a copy of every log so far per chunk, stalling this
      // process's event loop for tens of ms at a time: a timing client here counted those stalls as the service's.
      const match = LISTENING.exec(output);
      if (match) {
        announced = true;
        announceListening({ url: match[1]!, port: Number(match[2]) });
      }
    }
  };
  const collecting = Promise.all([collect(child.stdout), collect(child.stderr)]).catch(() => {});
  // The exit code once the output is fully read, so a failure message shows the process's last words.
  const exited = child.exited.then(async (code) => {
    await collecting;
    return code ?? 128;
  });
  const logs = () => output;
  const describe = () => `\n--- service logs (pid ${child.pid}) ---\n${output.trimEnd()}\n--- end of service logs ---`;

  const stop = async (signal: NodeJS.Signals = "SIGTERM", timeoutMs = 40_000): Promise<number> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const code = await withTimeout(exited, timeoutMs);
    if (code === undefined) {
      child.kill("SIGKILL");
      await exited;
      throw new Error(`the service did not exit within ${timeoutMs} ms of ${signal}${describe()}`);
    }
    return code;
  };

  // Bounded: the port line comes at once, readiness once the model is loaded.
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const deadline = Date.now() + readyTimeoutMs;
  const address = await Promise.race([listening, exited.then(() => null), timeoutAfter(readyTimeoutMs)]);
  if (!address) {
    await stop("SIGKILL");
    throw new Error(`the service did not start listening within ${readyTimeoutMs} ms${describe()}`);
  }
  const { url, port } = address;

  const json = async <T = any>(path: string, init?: RequestInit): Promise<JsonAnswer<T>> => {
    let response: Response;
    try {
      response = await fetch(`${url}${path}`, init);
    } catch (error) {
      const exit = child.exitCode ?? child.signalCode;
      const state = exit === null ? "running" : `exited (${exit})`;
      throw new Error(`${init?.method ?? "GET"} ${path} failed, service ${state}: ${error}${describe()}`, { cause: error });
    }
    const text = await response.text();
    const isJson = response.headers.get("Content-Type")?.includes("application/json") ?? false;
    let body: unknown = text;
    if (isJson) {
      try {
        body = JSON.parse(text);
      } catch {
        throw new Error(`${init?.method ?? "GET"} ${path}: ${response.status} with invalid JSON: ${text}${describe()}`);
      }
    }
    return { status: response.status, body: body as T, headers: response.headers };
  };

  // Polled often: a benchmark times start to ready with this (bench/lib/service-probe.ts).
  while (options.waitUntilReady !== false) {
    if (child.exitCode !== null) {
      await exited;
      throw new Error(`the service exited with code ${child.exitCode} while starting${describe()}`);
    }
    const answer = await json("/ready").catch(() => null);
    if (answer?.status === 200) break;
    if (Date.now() > deadline) {
      await stop("SIGKILL");
      throw new Error(`the service was not ready within ${readyTimeoutMs} ms (last /ready: ${answer?.status})${describe()}`);
    }
    await Bun.sleep(READY_POLL_MS);
  }

  const waitForTask = async (taskId: string, timeoutMs = 120_000): Promise<TaskView> => {
    const taskDeadline = Date.now() + timeoutMs;
    let last: JsonAnswer<TaskView> | null = null;
    for (let delay = 10; ; delay = Math.min(delay * 2, 100)) {
      if (child.exitCode !== null) throw new Error(`the service exited while waiting for task ${taskId}${describe()}`);
      last = await json<TaskView>(`/tasks/${taskId}`);
      if (last.status !== 200) {
        throw new Error(`GET /tasks/${taskId} answered ${last.status}: ${JSON.stringify(last.body)}${describe()}`);
      }
      if (last.body.status === "succeeded" || last.body.status === "failed") return last.body;
      if (Date.now() > taskDeadline) {
        throw new Error(
          `task ${taskId} not finished within ${timeoutMs} ms: ${JSON.stringify(last.body)}${describe()}`,
        );
      }
      await Bun.sleep(delay);
    }
  };

  return {
    url,
    port,
    process: child,
    exited,
    logs,
    stop,
    kill: () => stop("SIGKILL"),
    json,
    waitForTask,
    // A test that failed half-way leaves no process behind; no need to be gentle with it.
    [Symbol.asyncDispose]: async () => {
      await stop("SIGKILL").catch(() => {});
    },
  };
}

function timeoutAfter(ms: number): Promise<null> {
  return new Promise((resolve) => setTimeout(() => resolve(null), ms).unref());
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A port that was free a moment ago, for the rare test that must know the service's port before starting it (e.g.
 * to put it in PUBLIC_URL). Everything else should start the service with PORT=0.
 */
export function freePort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const { port } = probe;
  probe.stop(true);
  return port!;
}
