// The real app (createApp) around real services (model, index in a temp dir, catalogue folder or API) for the HTTP
// tests, which call it in-process through app.request(); plus the checks every HTTP test shares.
import { expect } from "bun:test";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type App, type AppDeps, createApp } from "../../src/app.ts";
import { type Config, parseConfig } from "../../src/config.ts";
import { Logger } from "../../src/observability/log.ts";
import { ServiceMetrics } from "../../src/observability/metrics.ts";
import { combineObservers } from "../../src/observability/observer.ts";
import { logTasks } from "../../src/observability/task-log.ts";
import { createServices, type Services, ServiceSlot } from "../../src/services.ts";
import type { Task } from "../../src/tasks/task-registry.ts";
import { fashionPhotos, makePhoto } from "./catalog-server.ts";
import { MODEL_PATH, TEST_MODEL, waitFor } from "./environment.ts";

export interface SamplePhoto {
  id: number;
  bytes: Uint8Array<ArrayBuffer>;
}

/** `count` photos: real fashion photos from ../shared when present, generated ones (ids 101, 102, ...) otherwise. */
export async function samplePhotos(count: number): Promise<SamplePhoto[]> {
  const real = fashionPhotos(count);
  if (real) return Promise.all(real.map(async ({ id, path }) => ({ id, bytes: await Bun.file(path).bytes() })));
  return Array.from({ length: count }, (_, i) => ({ id: 101 + i, bytes: new Uint8Array(makePhoto(101 + i)) }));
}

/** Calls the app in-process; no answer in these tests may be a 500, whatever the status the test expects. */
export async function call(app: App, path: string, init?: RequestInit): Promise<Response> {
  const response = await app.request(path, init);
  if (response.status === 500) {
    throw new Error(`${init?.method ?? "GET"} ${path} answered 500: ${await response.text()}`);
  }
  return response;
}

export interface ErrorEnvelope {
  code: string;
  message: string;
  details?: unknown;
}

/**
 * Asserts the answer is exactly the error envelope `{"error": {"code", "message", "details"?}}` with this status and
 * code, and returns the inner object so the test can compare its message and details.
 */
export async function expectErrorEnvelope(response: Response, status: number, code: string): Promise<ErrorEnvelope> {
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  const error = (body as { error?: Partial<ErrorEnvelope> } | null)?.error;
  const shape = { code, message: expect.any(String), ...(error && "details" in error ? { details: expect.anything() } : {}) };
  expect({ status: response.status, contentType: response.headers.get("Content-Type"), body }).toEqual({
    status,
    contentType: "application/json",
    body: { error: shape },
  });
  expect(error!.message!.length).toBeGreaterThan(0);
  return error as ErrorEnvelope;
}

/** Polls GET /tasks/{id} through the app until the task has finished (bounded). */
export async function waitForTask(app: App, taskId: string, timeoutMs = 30_000): Promise<Task> {
  return waitFor(
    async () => {
      const response = await call(app, `/tasks/${taskId}`);
      expect(response.status).toBe(200);
      const task = (await response.json()) as Task;
      return task.status === "succeeded" || task.status === "failed" ? task : undefined;
    },
    { timeoutMs, what: `task ${taskId} to finish` },
  );
}

/** Starts a background task with one request, checks the 202 answer and its Location, and waits for the task. */
export async function runTask(app: App, path: string, init: RequestInit = { method: "POST" }): Promise<Task> {
  const response = await call(app, path, init);
  const body = (await response.json()) as { task_id: string };
  expect({ status: response.status, location: response.headers.get("Location") }).toEqual({
    status: 202,
    location: `/tasks/${body.task_id}`,
  });
  return waitForTask(app, body.task_id);
}

/** What a finished task looks like, timestamps aside. */
export function finishedTask(fields: Partial<Task> & Pick<Task, "kind" | "status">): Task {
  return {
    task_id: expect.any(String),
    product_id: null,
    product_ids: null,
    progress: { total: 0, done: 0, failed: 0 },
    errors: [],
    errors_omitted: 0,
    message: null,
    created_at: expect.any(String),
    started_at: expect.any(String),
    finished_at: expect.any(String),
    ...fields,
  };
}

export interface AppUnderTestOptions {
  /** Files written into a temp CATALOG_DIR (name -> bytes or text); ignored when `env` names CATALOG_API_URL. */
  catalogFiles?: Record<string, Uint8Array | string>;
  /** Extra environment for parseConfig (CATALOG_API_URL, IMAGE_URL_TEMPLATE, MAX_IMAGE_PIXELS, API_KEYS, ...). */
  env?: Record<string, string>;
  /** The client's address as the app sees it; `LOCAL_CLIENT` unless given. */
  clientAddress?: string;
}

/**
 * app.request() has no socket, so the HTTP tests say who is calling: a client on this machine by default, which
 * protected mode (no API keys) lets write, as it does a local curl.
 */
export const LOCAL_CLIENT = "127.0.0.1";
/** A non-loopback address (a documentation range) for a client on another machine. */
export const REMOTE_CLIENT = "192.0.2.1";

export interface AppUnderTest extends AsyncDisposable {
  app: App;
  slot: ServiceSlot;
  services: Services;
  config: Config;
  /** The temp catalogue folder, or null with a catalogue API. */
  catalogDir: string | null;
  /** This app's metrics and logger, as passed to createApp. */
  metrics: ServiceMetrics;
  logger: Logger;
  /** Every line the app logged so far (JSON), requests and tasks alike. */
  logLines(): string[];
  close(): Promise<void>;
}

/** The real app with the real model; the index lives in a temp dir removed on close. Needs MODEL_PATH. */
export async function startAppUnderTest(options: AppUnderTestOptions = {}): Promise<AppUnderTest> {
  if (!MODEL_PATH) throw new Error("startAppUnderTest needs the model; guard the test with requireModel()");
  const root = await mkdtemp(join(tmpdir(), "fip-http-"));
  const dataDir = join(root, "data");
  let catalogDir: string | null = null;
  const env: Record<string, string> = { DATA_DIR: dataDir, ...TEST_MODEL, ...options.env };
  if (!env.CATALOG_API_URL) {
    catalogDir = join(root, "catalog");
    await mkdir(catalogDir, { recursive: true });
    for (const [name, content] of Object.entries(options.catalogFiles ?? {})) {
      await writeFile(join(catalogDir, name), content);
    }
    env.CATALOG_DIR = catalogDir;
  }
  const config = parseConfig(env);
  const slot = new ServiceSlot();
  const lines: string[] = [];
  const logger = new Logger({ format: "json", sink: (line) => lines.push(line) });
  const metrics = new ServiceMetrics(() => slot.current);
  let services: Services;
  try {
    services = await createServices(config, { observer: combineObservers(metrics.observer, logTasks(logger)) });
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
  slot.fill(services);
  const app = createApp({
    services: slot,
    maxUploadBytes: config.maxUploadBytes,
    version: "test",
    metrics,
    logger,
    access: config.access,
    corsOrigins: config.corsOrigins,
    clientAddress: () => options.clientAddress ?? LOCAL_CLIENT,
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await services.close(1000);
    await rm(root, { recursive: true, force: true });
  };
  return {
    app,
    slot,
    services,
    config,
    catalogDir,
    metrics,
    logger,
    logLines: () => [...lines],
    close,
    [Symbol.asyncDispose]: close,
  };
}

export interface UnreadyAppOptions {
  maxUploadBytes?: number;
  isShuttingDown?: () => boolean;
  /** Settings read as at start (API_KEYS, AUTH_READS, CORS_ORIGINS, VECTOR_STORE_READ_ONLY, ...); none unless given. */
  env?: Record<string, string>;
  /** The client's address as the app sees it; `LOCAL_CLIENT` unless given (null: unknown, as with no socket). */
  clientAddress?: string | null;
}

/** The app before its services are loaded: an empty ServiceSlot, no model needed. */
export function createUnreadyApp(options: UnreadyAppOptions = {}): App {
  const config = parseConfig({ CATALOG_DIR: "/nonexistent", ...options.env });
  const address = options.clientAddress === undefined ? LOCAL_CLIENT : options.clientAddress;
  const services = new ServiceSlot();
  const deps: AppDeps = {
    services,
    maxUploadBytes: options.maxUploadBytes ?? 10 * 1024 * 1024,
    version: "test",
    isShuttingDown: options.isShuttingDown,
    metrics: new ServiceMetrics(() => services.current),
    logger: new Logger({ format: "json", sink: () => {} }),
    access: config.access,
    corsOrigins: config.corsOrigins,
    clientAddress: () => address ?? undefined,
    readOnly: config.vectorStore.readOnly,
  };
  return createApp(deps);
}

/** A multipart body with the photo in the `image` field, as a browser form sends it. */
export function imageForm(bytes: Uint8Array | string, name = "photo.jpg", type = "image/jpeg"): FormData {
  const form = new FormData();
  form.append("image", new File([bytes], name, { type }));
  return form;
}

/** A PNG that is only a header claiming `width` x `height` pixels and an end marker: passes the truncation check. */
export function pngHeaderClaiming(width: number, height: number): Uint8Array {
  const chunk = (type: string, data: Uint8Array) => {
    const bytes = new Uint8Array(12 + data.length);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, data.length);
    bytes.set(new TextEncoder().encode(type), 4);
    bytes.set(data, 8);
    view.setUint32(8 + data.length, Bun.hash.crc32(bytes.subarray(4, 8 + data.length)));
    return bytes;
  };
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA, default compression, filter, no interlace
  const signature = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return new Uint8Array([...signature, ...chunk("IHDR", ihdr), ...chunk("IEND", new Uint8Array(0))]);
}
