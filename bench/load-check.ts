// Load check (`npm run bench:load`): how fast searches by product id stay while the service ingests and answers
// upload searches. Starts the real service (`bun src/main.ts`) on a temp folder catalogue of the first labelled photos
// and a fresh DATA_DIR, embeds them all, then runs concurrent clients in two phases:
//   1. idle:  only GET /similar-products/{id}, nothing else running;
//   2. mixed: 80% GET /similar-products/{id}, 10% POST /similar-products/upload, 10% PUT /embeddings/product/{id}
//             (each PUT re-embeds a product in the background: the model and the decoder stay busy).
// Reports latency per kind, errors by status, requests per second and the service's memory (sampled every 250 ms),
// and writes them between markers in docs/performance.md. Run it on a quiet machine: the clients share its cores.
// Usage: bun bench/load-check.ts [--clients 50] [--seconds 60] [--idle-seconds 15] [--products 1000]
//          [--env NAME=VALUE ...] [--out docs/performance.md]
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { startService } from "../test/helpers/service-process.ts";
import { loadDataset } from "./lib/dataset.ts";
import { percentile, type Rss, sampleMemory } from "./lib/process-stats.ts";
import { num, runInfo, table, writeSection } from "./lib/report.ts";
import { printUsageAndExit, wholeNumberFlag } from "./lib/command-flags.ts";

const REPO_ROOT = resolve(import.meta.dir, "..");
const FASHION_DIR = resolve(process.env.FASHION_DIR ?? join(REPO_ROOT, "../shared/data/fashion"));
const REQUEST_TIMEOUT_MS = 30_000;
const MARKERS = { start: "<!-- load-check:start -->", end: "<!-- load-check:end -->", title: "# Performance" };

const { values: flags } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    clients: { type: "string", default: "50" },
    seconds: { type: "string", default: "60" },
    "idle-seconds": { type: "string", default: "15" },
    products: { type: "string", default: "1000" },
    env: { type: "string", multiple: true, default: [] },
    out: { type: "string", default: "docs/performance.md" },
    help: { type: "boolean", default: false },
  },
});
if (flags.help) printUsageAndExit(import.meta.path);
const positive = (name: "clients" | "seconds" | "idle-seconds" | "products") => wholeNumberFlag(flags, name);
const clients = positive("clients");
const mixedSeconds = positive("seconds");
const idleSeconds = positive("idle-seconds");
const serviceEnv = Object.fromEntries(
  flags.env.map((pair) => {
    const at = pair.indexOf("=");
    if (at < 1) throw new Error(`--env expects NAME=VALUE, got ${pair}`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  }),
);

type Kind = "similar" | "upload" | "put";
const KIND_NAMES: Record<Kind, string> = {
  similar: "GET /similar-products/{id}",
  upload: "POST /similar-products/upload",
  put: "PUT /embeddings/product/{id}",
};

interface PhaseResult {
  name: string;
  seconds: number;
  latencies: Record<Kind, number[]>;
  /** Per kind, non-2xx answers by status ("timeout" and "network" for no answer). */
  errors: Record<Kind, Map<string, number>>;
}

const info = runInfo(REPO_ROOT);
const dataset = await loadDataset(FASHION_DIR, positive("products"));
const photos = dataset.photos;
const catalogDir = await mkdtemp(join(tmpdir(), "fip-load-catalog-"));
const dataDir = await mkdtemp(join(tmpdir(), "fip-load-data-"));
try {
  for (const photo of photos) await writeFile(join(catalogDir, `${photo.id}.jpg`), photo.bytes);
  console.log(`${photos.length} photos in ${catalogDir}; starting the service`);
  await using service = await startService({ CATALOG_DIR: catalogDir, DATA_DIR: dataDir, ...serviceEnv }, { readyTimeoutMs: 120_000 });
  const memory = sampleMemory(service.process.pid);
  const rssAtStart = memory.current();

  const ingestStarted = performance.now();
  const { body: accepted } = await service.json<{ task_id: string }>("/embeddings/generate-all?batch_size=32", { method: "POST" });
  const ingest = await service.waitForTask(accepted.task_id, 30 * 60_000);
  const ingestSeconds = (performance.now() - ingestStarted) / 1000;
  console.log(`ingest ${ingest.status}: ${ingest.progress.done}/${ingest.progress.total} in ${ingestSeconds.toFixed(1)} s`);
  const rssAfterIngest = memory.current();
  const failed = new Set(ingest.errors.map((error) => error.product_id));
  const stored = photos.map((photo) => photo.id).filter((id) => !failed.has(id));

  const loadAtStart = loadavg();
  const idle = await runPhase("idle (searches only)", idleSeconds, () => "similar");
  const mixed = await runPhase("mixed (80/10/10)", mixedSeconds, () => {
    const draw = Math.random();
    return draw < 0.8 ? "similar" : draw < 0.9 ? "upload" : "put";
  });
  const loadAtEnd = loadavg();
  const rssAtEnd = memory.current();
  memory.stop();

  const section = report({ ingestSeconds, ingestDone: ingest.progress.done, idle, mixed, loadAtStart, loadAtEnd, rss: { start: rssAtStart, afterIngest: rssAfterIngest, peak: memory.peak(), end: rssAtEnd } });
  console.log(`\n${section}`);
  const out = resolve(REPO_ROOT, flags.out);
  writeSection(out, MARKERS, section);
  console.log(`\nwrote ${relative(process.cwd(), out)}`);

  async function runPhase(name: string, seconds: number, pick: () => Kind): Promise<PhaseResult> {
    const result: PhaseResult = {
      name,
      seconds,
      latencies: { similar: [], upload: [], put: [] },
      errors: { similar: new Map(), upload: new Map(), put: new Map() },
    };
    const deadline = performance.now() + seconds * 1000;
    const client = async () => {
      while (performance.now() < deadline) {
        const kind = pick();
        const started = performance.now();
        const outcome = await request(kind);
        result.latencies[kind].push(performance.now() - started);
        if (outcome !== "ok") result.errors[kind].set(outcome, (result.errors[kind].get(outcome) ?? 0) + 1);
      }
    };
    console.log(`${name}: ${clients} clients for ${seconds} s`);
    await Promise.all(Array.from({ length: clients }, client));
    return result;
  }

  /** One request of the kind; "ok" or what went wrong (the HTTP status, "timeout", "network"). */
  async function request(kind: Kind): Promise<string> {
    const id = stored[Math.floor(Math.random() * stored.length)]!;
    let init: RequestInit = {};
    let path = `/similar-products/${id}`;
    if (kind === "upload") {
      const form = new FormData();
      const photo = photos[Math.floor(Math.random() * photos.length)]!;
      form.append("image", new Blob([photo.bytes], { type: "image/jpeg" }), `${photo.id}.jpg`);
      init = { method: "POST", body: form };
      path = "/similar-products/upload";
    } else if (kind === "put") {
      init = { method: "PUT" };
      path = `/embeddings/product/${id}`;
    }
    try {
      const response = await fetch(`${service.url}${path}`, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      await response.arrayBuffer();
      return response.ok ? "ok" : String(response.status);
    } catch (error) {
      return (error as Error).name === "TimeoutError" ? "timeout" : "network";
    }
  }
} finally {
  await rm(catalogDir, { recursive: true, force: true });
  await rm(dataDir, { recursive: true, force: true });
}

function report(r: {
  ingestSeconds: number;
  ingestDone: number;
  idle: PhaseResult;
  mixed: PhaseResult;
  loadAtStart: number[];
  loadAtEnd: number[];
  rss: Record<"start" | "afterIngest" | "peak" | "end", Rss>;
}): string {
  const rows: (string | number)[][] = [];
  for (const phase of [r.idle, r.mixed]) {
    for (const kind of Object.keys(KIND_NAMES) as Kind[]) {
      const latencies = phase.latencies[kind].sort((a, b) => a - b);
      if (latencies.length === 0) continue;
      const errors = [...phase.errors[kind]].map(([status, count]) => `${status}: ${count}`).join(", ") || "none";
      const perSecond = latencies.length / phase.seconds;
      rows.push([phase.name, KIND_NAMES[kind], latencies.length, num(perSecond, 1), num(percentile(latencies, 0.5), 1), num(percentile(latencies, 0.99), 1), num(latencies.at(-1)!, 1), errors]);
    }
    const total = Object.values(phase.latencies).reduce((sum, latencies) => sum + latencies.length, 0);
    rows.push([phase.name, "all", total, num(total / phase.seconds, 1), "", "", "", ""]);
  }
  const load = (values: number[]) => values.map((value) => value.toFixed(1)).join(" / ");
  const mb = (value: Rss) => `${value.rss.toFixed(0)} MB (anonymous ${value.anon.toFixed(0)} MB)`;
  return [
    "## Load check",
    "",
    `\`npm run bench:load -- --clients ${clients} --seconds ${mixedSeconds} --idle-seconds ${idleSeconds} --products ${photos.length}` +
      `${flags.env.map((pair) => ` --env ${pair}`).join("")}\`, run ${info.date} at commit ${info.commit}.`,
    "",
    `- Machine: ${info.machine}; ${info.runtime}. Load average (1/5/15 min) ${load(r.loadAtStart)} before the phases, ${load(r.loadAtEnd)} after.`,
    `- Catalogue: the first ${photos.length} labelled photos in a folder; ingest of ${r.ingestDone} took ${r.ingestSeconds.toFixed(1)} s.`,
    `- ${clients} clients, each sending its next request as soon as the previous one is answered (so a client waiting ` +
      "on an upload, which waits for the model, sends nothing else meanwhile: the mixed phase's request rate is " +
      "bounded by the uploads); latencies in ms.",
    "",
    table(["phase", "request", "requests", "per s", "p50", "p99", "max", "errors by status"], rows, ["l", "l", "r", "r", "r", "r", "r", "l"]),
    "",
    table(
      ["service memory", "RSS"],
      [
        ["ready, before ingest", mb(r.rss.start)],
        ["after ingest", mb(r.rss.afterIngest)],
        ["peak (sampled every 250 ms)", mb(r.rss.peak)],
        ["end", mb(r.rss.end)],
      ],
      ["l", "l"],
    ),
  ].join("\n");
}
