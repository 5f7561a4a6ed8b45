// The service as deployed, measured from outside over HTTP: time from start to /ready on an index already on disk,
// its memory at rest (RSS, and RssAnon: the heap, without the file-backed pages of mapped segments), and
// GET /similar-products/{id} latency, sequential and with concurrent clients.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../src/config.ts";
import { waitFor } from "../../test/helpers/environment.ts";
import { startService as startServiceProcess } from "../../test/helpers/service-process.ts";
import { percentile } from "./process-stats.ts";

export interface ServiceRun {
  url: string;
  readySeconds: number;
  /** From start until every HTTP loop listens (the extra ones start once the service is ready). */
  loopsSeconds: number;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts `bun src/main.ts` on `dataDir` with the service's default model, precision and HTTP loops, timing it to
 * /ready, then waits for its extra HTTP loops: until they listen (each holding a copy of the index's view), its memory
 * and throughput are not yet what they will be.
 */
export async function startService(dataDir: string): Promise<ServiceRun> {
  const catalog = mkdtempSync(join(tmpdir(), "fip-bench-catalog-"));
  const defaults = parseConfig({ CATALOG_DIR: catalog });
  const started = performance.now();
  const service = await startServiceProcess(
    { DATA_DIR: dataDir, CATALOG_DIR: catalog, LOG_FORMAT: "json", MODEL_PATH: defaults.modelPath, INFERENCE_PRECISION: defaults.inference.precision },
    { readyTimeoutMs: 120_000 },
  );
  const readySeconds = (performance.now() - started) / 1000;
  if (defaults.httpLoops > 1) {
    const listening = `${defaults.httpLoops} HTTP loops answer on the port`;
    await waitFor(() => (service.logs().includes(listening) ? true : undefined), { timeoutMs: 120_000, what: listening });
  }
  return {
    url: service.url,
    readySeconds,
    loopsSeconds: (performance.now() - started) / 1000,
    pid: service.process.pid,
    async stop() {
      await service.stop();
      rmSync(catalog, { recursive: true, force: true });
    },
  };
}

/** How many requests the service's extra HTTP loops have answered (its /metrics). */
export async function extraLoopsAnswered(url: string): Promise<number> {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  return Number(/^fip_http_extra_loop_requests_total\{outcome="answered"\} (\d+)/m.exec(metrics)?.[1] ?? 0);
}

/** RSS and RssAnon of a process, in MB. */
export function memoryOf(pid: number): { rssMb: number; anonMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
  return { rssMb: kb("VmRSS") / 1024, anonMb: kb("RssAnon") / 1024 };
}

export interface Latency {
  requests: number;
  p50Ms: number;
  p99Ms: number;
  perSecond: number;
  /** Every request's time, ascending, to pool runs (`pooledLatency`). */
  sortedMs: number[];
}

/** `requests` GET /similar-products/{id} for ids from `pick` (or `path` itself), by `clients` concurrent clients. */
export function similarLatency(url: string, pick: () => number, requests: number, clients: number, path?: string): Promise<Latency> {
  let sent = 0;
  return timedRequests(url, pick, clients, path, () => sent++ < requests);
}

/** The same for `seconds`: a client sends no request once they have passed. */
export function similarLatencyFor(url: string, pick: () => number, seconds: number, clients: number): Promise<Latency> {
  const until = performance.now() + seconds * 1000;
  return timedRequests(url, pick, clients, undefined, () => performance.now() < until);
}

async function timedRequests(url: string, pick: () => number, clients: number, path: string | undefined, another: () => boolean): Promise<Latency> {
  const times: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (another()) {
        const t = performance.now();
        const answer = await fetch(`${url}${path ?? `/similar-products/${pick()}?top_n=10`}`);
        if (answer.status !== 200) throw new Error(`similar-products answered ${answer.status}: ${await answer.text()}`);
        await answer.arrayBuffer();
        times.push(performance.now() - t);
      }
    }),
  );
  return latencyOf(times, (performance.now() - started) / 1000);
}

/** Several runs' requests as one run: percentiles over all of them, throughput over their summed time. */
export function pooledLatency(runs: Latency[]): Latency {
  const seconds = runs.reduce((sum, run) => sum + run.requests / run.perSecond, 0);
  return latencyOf(runs.flatMap((run) => run.sortedMs), seconds);
}

function latencyOf(times: number[], seconds: number): Latency {
  times.sort((a, b) => a - b);
  return { requests: times.length, p50Ms: percentile(times, 0.5), p99Ms: percentile(times, 0.99), perSecond: times.length / seconds, sortedMs: times };
}
