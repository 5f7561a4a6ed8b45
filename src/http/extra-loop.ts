// The server's extra HTTP loops: worker threads listening on the same port (SO_REUSEPORT: the kernel hands each new
// connection to one of the listeners) that answer GET /similar-products/{product_id}, the shop's busiest request,
// themselves: from a mirror of the store (store/store-mirror.ts), each on a core of its own, HTTP work and search
// alike. One event loop handing searches to search threads left a core idle: 1.36x the sequential rate with 8 clients
// on 2 cores, against 1.6-2.0x with two loops that each search (docs/performance.md). Every other request an extra
// loop relays over a private Unix socket to the main thread's app, with the client's address, so writes, tasks,
// uploads and every rule stay in one place.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "bun";
import type { App } from "../app.ts";
import type { AccessConfig } from "../config.ts";
import type { LogFormat } from "../observability/log.ts";
import type { RequestMeasure, ServiceMetrics } from "../observability/metrics.ts";
import { workerEntry } from "../runtime/standalone.ts";
import type { VectorStore } from "../store/vector-store.ts";
import { SERVER_LIMITS } from "./http-server.ts";

const EXTRA_LOOP_WORKER = workerEntry("http/extra-loop-worker.ts");
/** The thread's name, as the OS shows it. */
export const EXTRA_LOOP_THREAD_NAME = "http";
/** Set by an extra loop on a relayed request: the client's address. Read only from the relay's private socket. */
export const RELAYED_CLIENT_HEADER = "X-Relayed-Client-Address";
const START_TIMEOUT_MS = 30_000;

/** What the worker needs to answer as this thread's app would. */
export interface ExtraLoopSettings {
  hostname: string;
  port: number;
  relaySocket: string;
  /** Int32 0 until the service shuts down, then 1: read on every request, with no message to wait for. */
  shuttingDown: SharedArrayBuffer;
  logFormat: LogFormat;
  access: AccessConfig | undefined;
  corsOrigins: readonly string[];
  imageUrlTemplate: string;
  pipeline: string;
  location: string;
}

/** What an extra loop measured since it last sent its measures. */
export interface LoopMeasures {
  /** Those it answered. */
  requests: RequestMeasure[];
  searchSeconds: number[];
  /** Requests it relayed (the main thread's app measures those). */
  relayed: number;
}

export type FromExtraLoop = { listening: true } | { stopped: true } | { measures: LoopMeasures; gathered?: number };
export type ToExtraLoop = { settings: ExtraLoopSettings; store: MessagePort } | { gather: number } | { stop: true };

export class ExtraLoop {
  readonly #worker: Worker;
  readonly #relay: Server<undefined>;
  readonly #relayDir: string;
  readonly #shuttingDown: Int32Array;
  readonly #closeMirror: () => void;
  #stopped: (() => void) | null = null;
  #stopGathering: () => void = () => {};
  readonly #gathering = new Map<number, () => void>();
  #nextGather = 0;

  private constructor(worker: Worker, relay: Server<undefined>, relayDir: string, shuttingDown: Int32Array, closeMirror: () => void) {
    this.#worker = worker;
    this.#relay = relay;
    this.#relayDir = relayDir;
    this.#shuttingDown = shuttingDown;
    this.#closeMirror = closeMirror;
  }

  /**
   * Starts the thread and settles once it listens. `app` answers what it relays; `metrics` counts what it answers
   * itself; `onFailure` is told if the thread dies (the port is then this thread's alone again).
   */
  static async start(options: {
    app: App;
    store: VectorStore;
    settings: Omit<ExtraLoopSettings, "relaySocket" | "shuttingDown">;
    metrics: ServiceMetrics;
    onFailure: (message: string) => void;
  }): Promise<ExtraLoop> {
    // A directory only this user can enter: the relay trusts the client address its requests carry.
    const relayDir = mkdtempSync(join(tmpdir(), "fip-relay-"));
    const relaySocket = join(relayDir, "relay.sock");
    const relay = Bun.serve({
      unix: relaySocket,
      fetch: (request, server) => {
        // The public listeners' idle limit (a Unix socket's listener takes none of its own).
        server.timeout(request, SERVER_LIMITS.idleTimeout);
        return options.app.fetch(request, relayedConnection(request));
      },
      maxRequestBodySize: SERVER_LIMITS.maxRequestBodySize,
    });
    const shuttingDown = new SharedArrayBuffer(4);
    const channel = new MessageChannel();
    const feed = options.store.mirrorTo(channel.port1);
    const worker = new Worker(EXTRA_LOOP_WORKER, { name: EXTRA_LOOP_THREAD_NAME });
    const loop = new ExtraLoop(worker, relay, relayDir, new Int32Array(shuttingDown), () => feed.close());
    const listening = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("an extra HTTP loop did not start")), START_TIMEOUT_MS);
      worker.onmessage = (event: MessageEvent<FromExtraLoop>) => {
        const message = event.data;
        if ("measures" in message) {
          const { requests, searchSeconds, relayed } = message.measures;
          for (const request of requests) options.metrics.recordRequest(request);
          for (const seconds of searchSeconds) options.metrics.observer.search(seconds);
          options.metrics.recordExtraLoop(requests.length, relayed);
          if (message.gathered !== undefined) loop.#gathered(message.gathered);
        } else if ("stopped" in message) loop.#stopped?.();
        else {
          clearTimeout(timer);
          resolve();
        }
      };
      worker.onerror = (event) => {
        clearTimeout(timer);
        loop.#close();
        const message = `an extra HTTP loop failed: ${event.message}`;
        reject(new Error(message));
        options.onFailure(message);
      };
    });
    loop.#stopGathering = options.metrics.gatherFrom(() => loop.#gather());
    const settings: ExtraLoopSettings = { ...options.settings, relaySocket, shuttingDown };
    worker.postMessage({ settings, store: channel.port2 } satisfies ToExtraLoop, [channel.port2]);
    try {
      await listening;
    } catch (error) {
      loop.#close();
      throw error;
    }
    return loop;
  }

  /** New requests on its connections are refused as this thread's are (503 SHUTTING_DOWN). */
  shuttingDown(): void {
    Atomics.store(this.#shuttingDown, 0, 1);
  }

  /** Stops listening and lets what it is answering finish, then stops the thread and the relay. */
  async stop(): Promise<void> {
    const stopped = new Promise<void>((resolve) => (this.#stopped = resolve));
    this.#worker.postMessage({ stop: true } satisfies ToExtraLoop);
    await stopped;
    await this.#relay.stop();
    this.#close();
  }

  /** Settles once the thread has sent what it measured so far (at once if it has stopped). */
  #gather(): Promise<void> {
    const id = this.#nextGather++;
    return new Promise((resolve) => {
      this.#gathering.set(id, resolve);
      this.#worker.postMessage({ gather: id } satisfies ToExtraLoop);
    });
  }

  #gathered(id: number): void {
    this.#gathering.get(id)?.();
    this.#gathering.delete(id);
  }

  #close(): void {
    this.#stopGathering();
    for (const resolve of this.#gathering.values()) resolve();
    this.#gathering.clear();
    this.#closeMirror();
    this.#worker.terminate();
    void this.#relay.stop(true);
    rmSync(this.#relayDir, { recursive: true, force: true });
  }
}

/** The connection a relayed request came in on, as Hono's getConnInfo asks the Bun server for it. */
function relayedConnection(request: Request) {
  const address = request.headers.get(RELAYED_CLIENT_HEADER) ?? undefined;
  return {
    requestIP: () => (address ? { address, family: address.includes(":") ? "IPv6" : "IPv4", port: 0 } : null),
  };
}
