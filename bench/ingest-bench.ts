// Ingest benchmark (`npm run bench`): in one run on one machine, how close a whole-catalogue ingest over HTTP comes
// to the model alone, what each stage of a photo costs, and how searches fare while an ingest runs.
//   1. model only: onnxruntime-node in this process, photos/s at batch 1, 8 and 16 (per --precision, and always the
//      precision the service runs: INFERENCE_PRECISION in --env, else its default, the ceiling of step 3);
//   2. stages, one photo at a time: GET from the catalogue server, decode + resize (224-px photos and 1200x1600
//      JPEGs, made at run time from the labelled photos into a temp dir, never kept), the steps after the model;
//   3. end to end: the real service (`bun src/main.ts`, its own process) walks a products API this script serves
//      (body-less POST /embeddings/generate), for each photo size; the rate against the model-only rate at
//      INFERENCE_BATCH_SIZE, the model's batches and busy share (from /metrics), the service's memory;
//   4. searches: one client's GET /similar-products/{id} latency (and an upload every 250 ms), idle and during a
//      second full-speed ingest of the same catalogue.
// Writes its section of docs/performance.md. The machine may be shared: the load average is reported before and after.
// Usage: bun bench/ingest-bench.ts [--photos 1000] [--runs 1] [--repeats 3] [--precision fp32,int8]
//          [--idle-seconds 10] [--stage-photos 100] [--env NAME=VALUE ...] [--out docs/performance.md]
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { type InferencePrecision, parseConfig } from "../src/config.ts";
import { enlargedJpeg } from "../test/helpers/images.ts";
import { type CatalogServerThread, startCatalogServerThread } from "./lib/catalog-server-thread.ts";
import { loadDataset } from "./lib/dataset.ts";
import { modelInput, modelOnlyRates, modelPathFor, stageCosts, type StageCosts, vectorStepsMs } from "./lib/ingest-stages.ts";
import { type IngestRun, runIngest } from "./lib/ingest-run.ts";
import { medianAndRange } from "./lib/process-stats.ts";
import { num, runInfo, table, writeSection } from "./lib/report.ts";
import { printUsageAndExit, wholeNumberFlag } from "./lib/command-flags.ts";

const REPO_ROOT = resolve(import.meta.dir, "..");
const FASHION_DIR = resolve(process.env.FASHION_DIR ?? join(REPO_ROOT, "../shared/data/fashion"));
const MARKERS = { start: "<!-- ingest-bench:start -->", end: "<!-- ingest-bench:end -->", title: "# Performance" };
const MODEL_BATCHES = [1, 8, 16];
const LARGE = { width: 1200, height: 1600 };

const { values: flags } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    photos: { type: "string", default: "1000" },
    runs: { type: "string", default: "1" },
    repeats: { type: "string", default: "3" },
    precision: { type: "string", default: "fp32,int8" },
    // Longer than the model thread waits before it gives memory back (RELEASE_ARENA_AFTER_MS).
    "idle-seconds": { type: "string", default: "10" },
    "stage-photos": { type: "string", default: "100" },
    env: { type: "string", multiple: true, default: [] },
    out: { type: "string", default: "docs/performance.md" },
    help: { type: "boolean", default: false },
  },
});
if (flags.help) printUsageAndExit(import.meta.path);
const positive = (name: "photos" | "runs" | "repeats" | "idle-seconds" | "stage-photos") => wholeNumberFlag(flags, name);
const precisions = flags.precision.split(",").map((name) => {
  if (name !== "fp32" && name !== "int8") throw new Error(`--precision: fp32 or int8, not ${name}`);
  return name as InferencePrecision;
});
const serviceEnv = Object.fromEntries(
  flags.env.map((pair) => {
    const at = pair.indexOf("=");
    if (at < 1) throw new Error(`--env expects NAME=VALUE, got ${pair}`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  }),
);
// The service's inference settings as it will parse them (its catalogue is the one this script serves later).
const serviceInference = parseConfig({ CATALOG_API_URL: "http://127.0.0.1/api", ...serviceEnv }).inference;
const threads = serviceInference.threads;
const serviceBatch = serviceInference.batchSize;
/** The ingest is measured against the model the service runs. */
const servicePrecision = serviceInference.precision;
if (!precisions.includes(servicePrecision)) precisions.push(servicePrecision);

const info = runInfo(REPO_ROOT);
const loadBefore = loadavg();
const dataset = await loadDataset(FASHION_DIR, positive("photos"));
const photos = dataset.photos;
const workDir = await mkdtemp(join(tmpdir(), "fip-ingest-bench-"));
const servers: CatalogServerThread[] = [];
try {
  // The photos of each size as files the catalogue server serves.
  const sizes = [
    { name: "224x224 (the labelled photos)", dir: join(workDir, "224") },
    { name: `${LARGE.width}x${LARGE.height} JPEG (q90, enlarged)`, dir: join(workDir, "large") },
  ];
  for (const size of sizes) await mkdir(size.dir);
  for (const [i, photo] of photos.entries()) {
    await writeFile(join(sizes[0]!.dir, `${photo.id}.jpg`), photo.bytes);
    await writeFile(join(sizes[1]!.dir, `${photo.id}.jpg`), await enlargedJpeg(photo.bytes, LARGE.width, LARGE.height));
    if ((i + 1) % 250 === 0) console.log(`made ${i + 1}/${photos.length} ${LARGE.width}x${LARGE.height} JPEGs`);
  }

  console.log("model only");
  const inputs = await Promise.all(photos.slice(0, 64).map((photo) => modelInput(photo.bytes)));
  const modelRates = new Map<string, number[]>();
  /** CPU ms per photo of the model-only runs (every thread of this process). */
  const modelCpu = new Map<string, number[]>();
  for (const precision of precisions) {
    for (const batch of MODEL_BATCHES) {
      const { rates, cpuMsPerPhoto } = await modelOnlyRates({
        modelPath: modelPathFor(REPO_ROOT, precision),
        threads,
        batch,
        photos: batch === 1 ? 32 : 128,
        repeats: positive("repeats"),
        inputs,
      });
      modelRates.set(`${precision}/${batch}`, rates);
      modelCpu.set(`${precision}/${batch}`, cpuMsPerPhoto);
      console.log(`  ${precision} batch ${batch}: ${medianAndRange(rates)} photos/s`);
    }
  }
  const stepsMs = await vectorStepsMs(modelPathFor(REPO_ROOT, servicePrecision), inputs);

  const stages: StageCosts[] = [];
  const runs: IngestRun[][] = [];
  for (const size of sizes) {
    const catalog = await startCatalogServerThread({
      perPage: 100,
      products: photos.map((photo) => ({ id: photo.id, image: join(size.dir, `${photo.id}.jpg`) })),
    });
    servers.push(catalog);
    const sample = photos.slice(0, positive("stage-photos"));
    stages.push(await stageCosts(sample.map((photo) => `${catalog.origin}/storage/products/${photo.id}.jpg`)));
    const sizeRuns: IngestRun[] = [];
    for (let run = 0; run < positive("runs"); run++) {
      console.log(`${size.name}: end to end, run ${run + 1}`);
      sizeRuns.push(
        await runIngest({
          catalogUrl: catalog.url,
          dataDir: await mkdtemp(join(workDir, "data-")),
          // The test helper that starts the service defaults to the tests' model (fp32, TEST_MODEL): give it the
          // model file of the precision measured here, and that precision, so its pipeline is named for its model.
          env: { MODEL_PATH: modelPathFor(REPO_ROOT, servicePrecision), INFERENCE_PRECISION: servicePrecision, ...serviceEnv },
          ids: photos.map((photo) => photo.id),
          uploadPhoto: photos[0]!.bytes,
          idleSeconds: positive("idle-seconds"),
        }),
      );
      const last = sizeRuns.at(-1)!;
      console.log(`  ${num(last.rate, 1)} photos/s; similar p99 idle ${num(last.idle.similar.p99, 1)} ms, during ingest ${num(last.busy.similar.p99, 1)} ms`);
    }
    runs.push(sizeRuns);
    await catalog.stop();
  }

  const section = report({ sizes: sizes.map((size) => size.name), modelRates, modelCpu, stepsMs, stages, runs, loadAfter: loadavg() });
  console.log(`\n${section}`);
  const out = resolve(REPO_ROOT, flags.out);
  writeSection(out, MARKERS, section);
  console.log(`\nwrote ${relative(process.cwd(), out)}`);
} finally {
  for (const server of servers) await server.stop();
  await rm(workDir, { recursive: true, force: true });
}

function report(r: {
  sizes: string[];
  modelRates: Map<string, number[]>;
  modelCpu: Map<string, number[]>;
  stepsMs: number;
  stages: StageCosts[];
  runs: IngestRun[][];
  loadAfter: number[];
}): string {
  const load = (values: number[]) => values.map((value) => value.toFixed(1)).join(" / ");
  const modelRows = precisions.map((precision) => [
    precision,
    ...MODEL_BATCHES.map((batch) => medianAndRange(r.modelRates.get(`${precision}/${batch}`)!)),
  ]);
  /** The service's model measured at its batch size (batch 16 when that size is not among MODEL_BATCHES). */
  const servicesModel = (measured: Map<string, number[]>) => measured.get(`${servicePrecision}/${serviceBatch}`) ?? measured.get(`${servicePrecision}/16`)!;
  const ceiling = servicesModel(r.modelRates);
  const ceilingMedian = ceiling.toSorted((a, b) => a - b)[Math.floor((ceiling.length - 1) / 2)]!;
  const stageRows = r.sizes.map((size, i) => {
    const stage = r.stages[i]!;
    return [size, `${num(stage.fetch.p50, 2)} / ${num(stage.fetch.p90, 2)}`, `${num(stage.decode.p50, 2)} / ${num(stage.decode.p90, 2)}`, num(1000 / ceilingMedian, 1), num(r.stepsMs, 2)];
  });
  const ingestRows = r.sizes.map((size, i) => {
    const runs = r.runs[i]!;
    const of = (pick: (run: IngestRun) => number, digits = 1) => medianAndRange(runs.map(pick), digits);
    return [
      size,
      of((run) => run.rate),
      of((run) => (100 * run.rate) / ceilingMedian),
      of((run) => run.meanBatch),
      of((run) => 100 * run.modelBusy),
      of((run) => run.cpuPerPhoto),
      of((run) => run.idle.similar.p50),
      of((run) => run.idle.similar.p99),
      of((run) => run.busy.similar.p50),
      of((run) => run.busy.similar.p99),
      of((run) => run.busy.similar.p99 / run.idle.similar.p99, 2),
      `${of((run) => run.idle.upload.p50, 0)} → ${of((run) => run.busy.upload.p50, 0)}`,
    ];
  });
  const cpuRows = r.sizes.map((size, i) => {
    const runs = r.runs[i]!;
    const of = (pick: (run: IngestRun) => number) => medianAndRange(runs.map(pick), 2);
    return [
      size,
      of((run) => run.cpuPerPhoto),
      of((run) => run.cpuPerPhotoBy.model),
      of((run) => run.cpuPerPhotoBy.decoding),
      of((run) => run.cpuPerPhotoBy.bunPool),
      of((run) => run.cpuPerPhotoBy.eventLoop),
      of((run) => run.cpuPerPhotoBy.runtime),
    ];
  });
  const memoryRows = r.sizes.map((size, i) => {
    const runs = r.runs[i]!;
    const of = (pick: (run: IngestRun) => number) => medianAndRange(runs.map(pick), 0);
    return [size, of((run) => run.rss.ready), of((run) => run.rss.afterIngest), of((run) => run.rss.afterIdle), of((run) => run.rss.afterIdle - run.rss.ready), of((run) => run.rss.peak)];
  });
  const command = `npm run bench -- --photos ${photos.length} --runs ${flags.runs} --repeats ${flags.repeats} --precision ${flags.precision}` +
    ` --idle-seconds ${flags["idle-seconds"]} --stage-photos ${flags["stage-photos"]}${flags.env.map((pair) => ` --env ${pair}`).join("")}`;
  return [
    "## Ingest benchmark",
    "",
    `\`${command}\`, run ${info.date} at commit ${info.commit}.`,
    "",
    `- Machine: ${info.machine}; ${info.runtime}. Load average (1/5/15 min) ${load(loadBefore)} at the start, ` +
      `${load(r.loadAfter)} at the end (a shared machine: above the core count, every number here is slowed).`,
    `- Figures are "median (min–max)" over ${flags.repeats} repeats (model only) or ${flags.runs} run(s) (end to end).`,
    "",
    `### Model only (onnxruntime-node, ${threads} threads), photos/s`,
    "",
    table(["precision", ...MODEL_BATCHES.map((batch) => `batch ${batch}`)], modelRows),
    "",
    "### Stages, ms per photo (one photo at a time, one thread)",
    "",
    table(["photos", "fetch p50 / p90", "decode + resize p50 / p90", `model (batch ${serviceBatch})`, "normalise + project"], stageRows),
    "",
    `### End to end: ${photos.length} products over HTTP (body-less POST /embeddings/generate, 100 a page)`,
    "",
    `Rate = products / (task finished_at − started_at); "of model" is against ${servicePrecision} batch ${serviceBatch} above, the model the service ran. ` +
      "Batch and model busy from the service's /metrics; CPU from /proc (by thread below). " +
      "Latency (ms) of one client's GET /similar-products/{id}, " +
      "back to back, with an upload every 250 ms, idle and during a second full-speed ingest of the same catalogue.",
    "",
    table(
      ["photos", "photos/s", "% of model", "mean batch", "model busy %", "CPU ms/photo", "similar p50 idle", "p99 idle", "p50 ingest", "p99 ingest", "p99 ratio", "upload p50 idle → ingest"],
      ingestRows,
    ),
    "",
    "### Where the service's CPU went during the ingest, ms per photo",
    "",
    "From /proc, by the name of each of its threads. Model: the model's thread and onnxruntime's, which inherit its " +
      `name (the model alone, above, took ${medianAndRange(servicesModel(r.modelCpu))} ms of CPU a photo at batch ${serviceBatch}). ` +
      "Decoding: the decoding threads, and libvips' threads for large JPEGs. " +
      "Bun's pool: the rest of sharp's work on large JPEGs, and asynchronous file writes. Runtime and other: the runtime's JIT, " +
      "garbage collector and allocator threads, and threads that ended during the ingest.",
    "",
    table(["photos", "all", "model", "decoding", "Bun's pool", "event loop", "runtime and other"], cpuRows),
    "",
    "### Service memory, RSS in MB",
    "",
    table(["photos", "at ready", "as the ingest ends", `after ${flags["idle-seconds"]} s idle`, "idle − ready", "peak"], memoryRows),
  ].join("\n");
}
