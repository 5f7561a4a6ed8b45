// Retrieval quality on the labelled fashion photos (../shared/data/fashion), measured through the service's own
// decoder, preprocessing, model session and index: which preprocessing, vector transform and score to ship.
//
//   npm run eval                         full in-process run; rewrites docs/quality.md
//   npm run eval -- --limit 300          quick run on the first 300 photos (writes nothing unless --write)
//   npm run eval -- --http http://127.0.0.1:8000 [--limit N] [--write docs/quality.md]
//                                        the same queries against a running service (CATALOG_DIR = the photos)
//
// Options: --shopper N (shopper photos, default 1000), --preprocessing squash/high,center-crop/low,... (fit/filter
// variants), --no-portrait (skip the 3:4 catalogue), --portrait-every K, --batch N, --concurrency N (HTTP),
// --skip-index (HTTP: the service already holds the photos), --write PATH, --no-write.
// Raw embeddings are cached in <tmpdir>/fip-eval-cache (never in the repository); photos are never copied.
import { readFileSync, existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { Embedder } from "../src/inference/embedder.ts";
import { EMBEDDING_DIMENSIONS, openModelSession } from "../src/inference/model-session.ts";
import { photoModel } from "../src/inference/photo-model.ts";
import type { FitMode } from "../src/inference/preprocess.ts";
import { loadPipelineProjection, PIPELINE } from "../src/services.ts";
import { VectorStore } from "../src/store/vector-store.ts";
import { type Dataset, evenSample, loadDataset } from "./lib/dataset.ts";
import { DEGRADATIONS, decodePhoto, toPortrait } from "./lib/degrade.ts";
import { embedPhotos, type Preprocessing, preprocessingName, sha256, type Smoothing } from "./lib/embed-photos.ts";
import { EmbeddingCache } from "./lib/embedding-cache.ts";
import { indexThroughApi, ServiceClient, similarToStored, similarToUploads } from "./lib/http-eval.ts";
import { formatDuration } from "./lib/progress.ts";
import { num, pct, runInfo, signedPoints, table, writeHttpSection, writeReport } from "./lib/report.ts";
import {
  type CatalogueMetrics,
  catalogueMetrics,
  exactNeighbours,
  type Neighbours,
  quantile,
  type ShopperMetrics,
  shopperMetrics,
} from "./lib/retrieval.ts";
import {
  centredTransform,
  fitPca,
  l2Transform,
  pcaTransform,
  pickRows,
  rawTransform,
  SCORE_FORMULAS,
  sqrtTransform,
  type VectorTransform,
} from "./lib/vector-variants.ts";
import { printUsageAndExit } from "./lib/command-flags.ts";

const REPO_ROOT = resolve(import.meta.dir, "..");
const SHARED = resolve(REPO_ROOT, "../shared");
const D = EMBEDDING_DIMENSIONS;

const { values: args } = parseArgs({
  options: {
    http: { type: "string" },
    limit: { type: "string" },
    shopper: { type: "string" },
    preprocessing: { type: "string" },
    "no-portrait": { type: "boolean" },
    "portrait-every": { type: "string" },
    batch: { type: "string" },
    concurrency: { type: "string" },
    "skip-index": { type: "boolean" },
    write: { type: "string" },
    "no-write": { type: "boolean" },
    help: { type: "boolean" },
  },
});

if (args.help) printUsageAndExit(import.meta.path);

const positive = (value: string | undefined, fallback: number, name: string) => {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`--${name} must be a positive integer, got ${value}`);
  return parsed;
};

const FASHION_DIR = resolve(process.env.FASHION_DIR ?? join(SHARED, "data/fashion"));
const MODEL_PATH = resolve(
  process.env.MODEL_PATH ??
    [join(SHARED, "models/resnet50.onnx"), join(REPO_ROOT, "models/resnet50.onnx")].find(existsSync) ??
    join(SHARED, "models/resnet50.onnx"),
);
const limit = args.limit === undefined ? undefined : positive(args.limit, 0, "limit");
const shopperCount = positive(args.shopper, 1000, "shopper");
const batchSize = positive(args.batch, 16, "batch");
const REPORT_PATH = resolve(REPO_ROOT, args.write ?? "docs/quality.md");
const BASELINE: Preprocessing = { fitMode: "squash", smoothing: "high" };
const TODAY: Preprocessing = { fitMode: PIPELINE.fitMode, smoothing: "high" };
/**
 * The vector these sections call "today": pipeline v2's (sqrt-l2, 2048-d). Pipeline v3 projects it with the projection
 * learned from these labels, measured on held-out photos by `npm run fit` (section 11), not here.
 */
const V2_PIPELINE = "resnet50-imagenet/squash-224-cubic/sqrt-l2/v2";
/** The service's first default (pipeline v1), kept as a comparison: why the default changed. */
const FIRST_DEFAULT: Preprocessing = { fitMode: "center-crop", smoothing: "high" };
/** The uploads at the products' real 3:4 shape: the ones a 3:4 catalogue's shoppers send. */
const PORTRAIT_UPLOADS = ["portrait-3x4", "phone"];

const log = (line: string) => console.log(line);
const started = performance.now();
const info = runInfo(REPO_ROOT);

if (!existsSync(join(FASHION_DIR, "labels.csv"))) {
  console.error(`no labelled photos at ${FASHION_DIR} (set FASHION_DIR)`);
  process.exit(2);
}
const dataset = await loadDataset(FASHION_DIR, limit);
const n = dataset.photos.length;
log(
  `${n} labelled photos from ${FASHION_DIR}; ${dataset.duplicatePhotos} share their bytes with another photo ` +
    `(largest group ${dataset.largestGroup})`,
);

// The shopper set: every k-th photo, each made into every degradation.
const sample = evenSample(n, shopperCount);
const shopperBytes: Uint8Array[] = [];
for (const degradation of DEGRADATIONS) {
  for (const i of sample) shopperBytes.push(degradation.make(await decodePhoto(dataset.photos[i]!.bytes)));
}
const shopperOrigins = DEGRADATIONS.flatMap(() => sample);
log(`shopper set: ${sample.length} photos x ${DEGRADATIONS.length} degradations (${DEGRADATIONS.map((d) => d.name).join(", ")})`);

if (args.http) {
  await runOverHttp(args.http);
} else {
  await runInProcess();
}

// ---------------------------------------------------------------------------------------------------------------
// Over HTTP

async function runOverHttp(base: string): Promise<void> {
  const client = new ServiceClient(base);
  const concurrency = positive(args.concurrency, 8, "concurrency");
  const ready = await client.ready();
  log(`service at ${client.base}: pipeline ${ready.pipeline}, ${ready.inference_backend}, ${ready.embeddings} embeddings`);
  const indexing = args["skip-index"]
    ? { mode: "skipped" as const, photos: 0, failed: 0, seconds: 0, photosPerSecond: Number.NaN }
    : await indexThroughApi(client, dataset, limit === undefined);
  const after = await client.ready();
  if (indexing.failed > 0) log(`warning: ${indexing.failed} photos failed to index`);
  const stored = await similarToStored(client, dataset, concurrency);
  const catalogue = catalogueMetrics(dataset, range(n), range(n), stored.neighbours);
  const uploads = await similarToUploads(client, dataset, shopperBytes, {
    k: 5,
    concurrency: Math.min(concurrency, 4),
    label: "service: upload",
  });
  const perDegradation = splitShopper(uploads.neighbours, 5);
  const shopper = shopperMetrics(dataset, shopperOrigins, uploads.neighbours);

  const lines: string[] = [];
  lines.push(`## Over HTTP: the service as deployed`, "");
  lines.push(
    `Measured ${info.date} against ${client.base} (pipeline \`${after.pipeline}\`, ${after.inference_backend} inference, ` +
      `${after.embeddings} embeddings in its index, HNSW search) at commit ${info.commit}; ${info.machine}; ` +
      `load average at start ${info.loadAverage}. ${n} labelled photos${limit ? ` (--limit ${limit})` : ""}, ` +
      `${sample.length} shopper photos x ${DEGRADATIONS.length} degradations. Reproduce: start the service with ` +
      `\`CATALOG_DIR=../shared/data/fashion/images\` and a fresh \`DATA_DIR\`, then ` +
      `\`npm run eval -- --http ${client.base}${limit ? ` --limit ${limit}` : ""} --write docs/quality.md\`.`,
    "",
  );
  lines.push(
    table(
      ["measure", "value"],
      [
        ["P@1 (articleType)", pct(catalogue.p1)],
        ["P@10 (articleType)", pct(catalogue.p10)],
        ["mAP@10 (articleType)", pct(catalogue.map10)],
        ["P@10 (articleType and baseColour)", pct(catalogue.p10TypeColour)],
        ["shopper recall@1 (all degradations)", pct(shopper.recall1)],
        ["shopper recall@5 (all degradations)", pct(shopper.recall5)],
        [
          `indexing (${indexing.mode})`,
          indexing.mode === "skipped" ? "skipped" : `${indexing.photos} photos in ${indexing.seconds.toFixed(0)} s = ${indexing.photosPerSecond.toFixed(1)} photos/s`,
        ],
        ["GET /similar-products latency p50 / p95", `${num(quantile(stored.latencyMs, 0.5), 1)} / ${num(quantile(stored.latencyMs, 0.95), 1)} ms (concurrency ${concurrency})`],
        ["POST /similar-products/upload latency p50 / p95", `${num(quantile(uploads.latencyMs, 0.5), 0)} / ${num(quantile(uploads.latencyMs, 0.95), 0)} ms (concurrency ${Math.min(concurrency, 4)})`],
      ],
    ),
    "",
  );
  lines.push(
    table(
      ["shopper degradation", "recall@1", "recall@5"],
      DEGRADATIONS.map((degradation, d) => {
        const metrics = shopperMetrics(dataset, sample, perDegradation[d]!);
        return [degradation.name, pct(metrics.recall1), pct(metrics.recall5)];
      }),
    ),
    "",
  );
  lines.push(
    table(
      ["masterCategory", "queries", "P@10"],
      [...catalogue.byMasterCategory].sort((a, b) => b[1].queries - a[1].queries).map(([name, g]) => [name, g.queries, pct(g.p10)]),
    ),
    "",
  );
  lines.push(
    table(
      ["articleType (15 largest)", "queries", "P@10"],
      largestTypes(dataset, 15).map((type) => {
        const g = catalogue.byArticleType.get(type);
        return [type, g?.queries ?? 0, pct(g?.p10 ?? Number.NaN)];
      }),
    ),
  );
  const section = lines.join("\n");
  log(`\n${section}\n`);
  if (args.write) {
    writeHttpSection(REPORT_PATH, section);
    log(`wrote the over-HTTP section of ${REPORT_PATH}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// In process

interface Evaluation {
  catalogue: CatalogueMetrics;
  /** Pooled over all degradations. */
  shopper: ShopperMetrics;
  perDegradation: ShopperMetrics[];
  transform: VectorTransform;
}

async function runInProcess(): Promise<void> {
  const preprocessings = parsePreprocessings(args.preprocessing);
  const modelSha = sha256(new Uint8Array(readFileSync(MODEL_PATH)));
  const cache = EmbeddingCache.open(modelSha);
  log(`model ${MODEL_PATH} (sha256 ${modelSha.slice(0, 16)}...); embedding cache ${cache.dir} (${cache.size} entries)`);
  const session = await openModelSession({ modelPath: MODEL_PATH, backend: "native", threads: 2 });

  // 1. Embeddings for every preprocessing variant: the catalogue and the shopper set.
  const catalogueBytes = dataset.photos.map((photo) => photo.bytes);
  const raw = new Map<string, { catalogue: Float32Array; shopper: Float32Array }>();
  const embedRates: { what: string; photos: number; seconds: number }[] = [];
  for (const p of preprocessings) {
    const name = preprocessingName(p);
    const catalogue = await embedPhotos(session, cache, catalogueBytes, p, { batchSize, label: `catalogue ${name}` });
    const shopper = await embedPhotos(session, cache, shopperBytes, p, { batchSize, label: `shopper set ${name}` });
    for (const [what, run] of [[`catalogue ${name}`, catalogue], [`shopper set ${name}`, shopper]] as const) {
      if (run.computed > 0) embedRates.push({ what, photos: run.computed, seconds: run.seconds });
    }
    raw.set(name, { catalogue: catalogue.vectors, shopper: shopper.vectors });
  }
  // Variants that gave the model bit-identical catalogue inputs (hence identical embeddings).
  const identicalGroups = new Map<string, string[]>();
  for (const [name, r] of raw) {
    const hash = Bun.hash(r.catalogue).toString();
    identicalGroups.set(hash, [...(identicalGroups.get(hash) ?? []), name]);
  }

  // 3. Throughput of the service's own Embedder (decode + batched inference), on photos it has not seen.
  const throughputPhotos = catalogueBytes.slice(0, Math.min(256, n));
  const embedder = new Embedder(photoModel(session, { normalisation: PIPELINE.normalisation, projection: loadPipelineProjection() }), {
    maxBatchSize: 16,
    maxPixels: 50_000_000,
    fitMode: PIPELINE.fitMode,
    smoothing: PIPELINE.smoothing,
  });
  // The Embedder takes the bytes it is given (hands them to its decoding thread): it gets copies.
  await embedder.embedImage(throughputPhotos[0]!.slice()); // warm-up
  const throughputStart = performance.now();
  await Promise.all(throughputPhotos.map((bytes) => embedder.embedImage(bytes.slice())));
  const embedderRate = throughputPhotos.length / ((performance.now() - throughputStart) / 1000);
  await embedder.close();
  log(`service Embedder: ${throughputPhotos.length} photos at ${embedderRate.toFixed(1)} photos/s (load average ${loadavg()[0]!.toFixed(1)})`);

  // 4. The analysis.
  const all = range(n);
  const memo = new Map<string, CatalogueMetrics>();
  const evaluate = (
    transform: VectorTransform,
    key: string,
    /** Raw rows of the database photos, in the order of `databasePhotos`. */
    databaseRows: Float32Array,
    databasePhotos: number[],
    rawShopper: Float32Array,
  ): Evaluation => {
    const t0 = performance.now();
    const score = SCORE_FORMULAS[transform.score].of;
    const database = transform.apply(databaseRows);
    // An unfitted transform's neighbours depend only on the rows: variants with identical inputs share one search.
    const memoKey = `${transform.name}|${transform.fitted ? key : ""}|${Bun.hash(databaseRows)}`;
    let catalogue = memo.get(memoKey);
    if (!catalogue) {
      const neighbours = exactNeighbours(database, databasePhotos, database, transform.dims, 10 + dataset.largestGroup, score);
      catalogue = catalogueMetrics(dataset, databasePhotos, databasePhotos, neighbours);
      memo.set(memoKey, catalogue);
    }
    // Shopper queries whose original is in this database.
    const inDatabase = new Set(databasePhotos);
    const rows = shopperOrigins.map((origin, row) => (inDatabase.has(origin) ? row : -1)).filter((row) => row >= 0);
    const queries = transform.apply(rows.length === shopperOrigins.length ? rawShopper : pickRows(rawShopper, D, rows));
    const neighbours = exactNeighbours(database, databasePhotos, queries, transform.dims, 5, score);
    const origins = rows.map((row) => shopperOrigins[row]!);
    const shopper = shopperMetrics(dataset, origins, neighbours);
    const perDegradation = DEGRADATIONS.map((_, d) => {
      const mine = rows.map((row, q) => (Math.floor(row / sample.length) === d ? q : -1)).filter((q) => q >= 0);
      return shopperMetrics(dataset, mine.map((q) => origins[q]!), selectRows(neighbours, mine));
    });
    log(
      `  ${key}: P@1 ${pct(catalogue.p1)} P@10 ${pct(catalogue.p10)} mAP@10 ${pct(catalogue.map10)} ` +
        `shopper R@1 ${pct(shopper.recall1)} R@5 ${pct(shopper.recall5)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
    return { catalogue, shopper, perDegradation, transform };
  };

  log("\npreprocessing variants (L2-normalised):");
  const byPreprocessing = new Map<string, Evaluation>();
  for (const p of preprocessings) {
    const name = preprocessingName(p);
    const r = raw.get(name)!;
    byPreprocessing.set(name, evaluate(l2Transform, `${name} + l2`, r.catalogue, all, r.shopper));
  }
  const baselineRaw = raw.get(preprocessingName(BASELINE))!;
  const old = evaluate(rawTransform, `${preprocessingName(BASELINE)} + raw (old system)`, baselineRaw.catalogue, all, baselineRaw.shopper);
  const todayName = preprocessingName(TODAY);
  const todayTransform = { l2: l2Transform, "sqrt-l2": sqrtTransform }[PIPELINE.normalisation];
  const todayRaw = raw.get(todayName)!;
  const today =
    todayTransform === l2Transform
      ? byPreprocessing.get(todayName)!
      : evaluate(todayTransform, `${todayName} + ${todayTransform.name} (service today)`, todayRaw.catalogue, all, todayRaw.shopper);
  const firstDefault = byPreprocessing.get(preprocessingName(FIRST_DEFAULT))!;
  // Both query sets count: catalogue P@10 plus shopper recall@1 (ties keep today's fit mode and filter).
  const merit = (e: Evaluation) => e.catalogue.p10 + e.shopper.recall1;
  const bestName = [...byPreprocessing].reduce(
    (best, entry) => (merit(entry[1]) > merit(best[1]) + 1e-9 ? entry : best),
    [todayName, byPreprocessing.get(todayName)!] as [string, Evaluation],
  )[0];
  const best = raw.get(bestName)!;
  log(`best preprocessing by P@10 + shopper recall@1: ${bestName}`);

  // The catalogue at its real 3:4 shape, embedded with each fit mode and the best filter found above.
  const portraitFilter = raw.has(bestName) ? (bestName.split("/")[1] as Smoothing) : "high";
  const portraitEvery = positive(args["portrait-every"], 1, "portrait-every");
  const portraitPhotos = args["no-portrait"] ? [] : range(n).filter((i) => i % portraitEvery === 0);
  const portrait = new Map<FitMode, { catalogue: Float32Array; shopper: Float32Array }>();
  if (portraitPhotos.length > 0) {
    log(`making ${portraitPhotos.length} 3:4 catalogue photos`);
    const portraitBytes: Uint8Array[] = [];
    for (const i of portraitPhotos) portraitBytes.push(toPortrait(await decodePhoto(dataset.photos[i]!.bytes)));
    for (const fitMode of ["squash", "center-crop", "letterbox"] as const) {
      const p: Preprocessing = { fitMode, smoothing: portraitFilter };
      const run = await embedPhotos(session, cache, portraitBytes, p, { batchSize, label: `3:4 catalogue ${fitMode}` });
      if (run.computed > 0) embedRates.push({ what: `3:4 catalogue ${fitMode}`, photos: run.computed, seconds: run.seconds });
      const shopper =
        raw.get(preprocessingName(p))?.shopper ??
        (await embedPhotos(session, cache, shopperBytes, p, { batchSize, label: `shopper set ${preprocessingName(p)}` })).vectors;
      portrait.set(fitMode, { catalogue: run.vectors, shopper });
    }
  }

  let portraitRows: (string | number)[][] = [];
  if (portrait.size > 0) {
    log("\n3:4 catalogue (L2-normalised):");
    const oldPortrait = evaluate(rawTransform, `3:4 squash/${portraitFilter} + raw (old system)`, portrait.get("squash")!.catalogue, portraitPhotos, portrait.get("squash")!.shopper);
    const modes = [...portrait].map(([fitMode, r]) => [fitMode, evaluate(l2Transform, `3:4 ${fitMode}/${portraitFilter} + l2`, r.catalogue, portraitPhotos, r.shopper)] as const);
    portraitRows = [
      [`squash/${portraitFilter} + raw, 1/(1+d²) (old system's vectors)`, ...portraitCells(oldPortrait)],
      ...modes.map(([fitMode, e]) => [`${fitMode}/${portraitFilter} + L2${fitMode === PIPELINE.fitMode ? " (today's fit mode)" : ""}${fitMode === FIRST_DEFAULT.fitMode ? " (v1's fit mode)" : ""}`, ...portraitCells(e)]),
    ];
  }

  log(`\nvector variants, whole catalogue (${bestName}):`);
  const wholeTransforms = [rawTransform, l2Transform, sqrtTransform, centredTransform(best.catalogue)];
  const whole = wholeTransforms.map((t) => evaluate(t, `${bestName} + ${t.name}${t.fitted ? " (fitted on all photos)" : ""}`, best.catalogue, all, best.shopper));
  const stateless = whole.filter((e) => !e.transform.fitted && e.transform.name !== "raw");
  const candidate = stateless.reduce((a, b) => (b.catalogue.p10 + b.shopper.recall1 > a.catalogue.p10 + a.shopper.recall1 ? b : a));
  const candidateName = `${bestName} + ${candidate.transform.name}`;

  // Fitted variants: fit on odd ids, measure queries and database within the even ids.
  const fitPhotos = all.filter((i) => dataset.photos[i]!.id % 2 === 1);
  const evalPhotos = all.filter((i) => dataset.photos[i]!.id % 2 === 0);
  log(`\nfitted variants: fit on ${fitPhotos.length} odd ids, evaluate within ${evalPhotos.length} even ids:`);
  const fitRaw = pickRows(best.catalogue, D, fitPhotos);
  const pca = fitPca(fitRaw);
  log(`  PCA of ${fitPhotos.length} x ${D} in ${pca.seconds.toFixed(0)} s; eigen residual ${pca.residual.toExponential(1)}`);
  const dimsList = [128, 256, 512, 1024, 2048].filter((d) => d <= Math.min(D, fitPhotos.length));
  const splitTransforms: VectorTransform[] = [
    rawTransform,
    l2Transform,
    sqrtTransform,
    centredTransform(fitRaw),
    ...dimsList.map((d) => pcaTransform(pca, d, false)),
    ...dimsList.map((d) => pcaTransform(pca, d, true)),
  ];
  const oldSplit = evaluate(rawTransform, "split: squash/high + raw (old system)", pickRows(baselineRaw.catalogue, D, evalPhotos), evalPhotos, baselineRaw.shopper);
  const evalRaw = pickRows(best.catalogue, D, evalPhotos);
  const split = splitTransforms.map((t) => evaluate(t, `split: ${bestName} + ${t.name}`, evalRaw, evalPhotos, best.shopper));
  const splitL2 = split.find((e) => e.transform.name === "l2")!;
  const bestFitted = split.filter((e) => e.transform.fitted).reduce((a, b) => (merit(b) > merit(a) ? b : a));

  // 5. The deployed index: the candidate's vectors in the service's VectorStore (HNSW), searched like the service.
  log("\nthe service's VectorStore (HNSW) with the candidate's vectors:");
  const hnsw = await evaluateInStore(candidate.transform, best.catalogue, best.shopper);
  log(`  P@10 ${pct(hnsw.catalogue.p10)} shopper R@1 ${pct(hnsw.shopper.recall1)}`);

  await session.close();
  const seconds = (performance.now() - started) / 1000;
  log(`\ndone in ${formatDuration(seconds)}`);

  const body = buildReport({
    preprocessings,
    byPreprocessing,
    old,
    today,
    todayLabel: `${todayName} + ${todayTransform.name}`,
    firstDefault,
    bestName,
    identicalGroups: [...identicalGroups.values()],
    portraitRows,
    portraitCount: portraitPhotos.length,
    whole,
    candidate,
    candidateName,
    split,
    oldSplit,
    splitL2,
    bestFitted,
    fitCount: fitPhotos.length,
    evalCount: evalPhotos.length,
    pcaSeconds: pca.seconds,
    hnsw,
    embedRates,
    embedderRate,
    throughputPhotos: throughputPhotos.length,
    seconds,
  });
  console.log(`\n${body.replace("{{HTTP_SECTION}}", "")}`);
  const write = args.write !== undefined || (limit === undefined && !args["no-write"] && !args.preprocessing);
  if (write) {
    writeReport(
      REPORT_PATH,
      body,
      "## Over HTTP: the service as deployed\n\nNot measured yet: start the service and run " +
        "`npm run eval -- --http http://127.0.0.1:8000 --write docs/quality.md`.",
    );
    log(`wrote ${REPORT_PATH}`);
  }
}

async function evaluateInStore(transform: VectorTransform, rawCatalogue: Float32Array, rawShopper: Float32Array): Promise<Evaluation> {
  const dataDir = await mkdtemp(join(tmpdir(), "fip-eval-store-"));
  try {
    const store = await VectorStore.open({ dataDir, dimensions: transform.dims, pipeline: "eval" });
    const database = transform.apply(rawCatalogue);
    const score = SCORE_FORMULAS[transform.score].of;
    await Promise.all(dataset.photos.map((photo, i) => store.put(photo.id, database.slice(i * transform.dims, (i + 1) * transform.dims))));
    await store.idle(); // searched as deployed: the sealed segment's graph, not the in-memory scan before it
    const search = (vectors: Float32Array, k: number): Neighbours => {
      const count = vectors.length / transform.dims;
      const neighbours: Neighbours = { k, index: new Int32Array(count * k).fill(-1), score: new Float32Array(count * k) };
      for (let q = 0; q < count; q++) {
        store.search(vectors.subarray(q * transform.dims, (q + 1) * transform.dims), k).forEach((result, j) => {
          neighbours.index[q * k + j] = dataset.indexOfId.get(result.id)!;
          neighbours.score[q * k + j] = score(result.distance);
        });
      }
      return neighbours;
    };
    const catalogue = catalogueMetrics(dataset, range(n), range(n), search(database, 10 + dataset.largestGroup));
    const shopperNeighbours = search(transform.apply(rawShopper), 5);
    const shopper = shopperMetrics(dataset, shopperOrigins, shopperNeighbours);
    const perDegradation = splitShopper(shopperNeighbours, 5).map((nb) => shopperMetrics(dataset, sample, nb));
    await store.close();
    return { catalogue, shopper, perDegradation, transform };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The report

interface ReportInput {
  preprocessings: Preprocessing[];
  byPreprocessing: Map<string, Evaluation>;
  old: Evaluation;
  today: Evaluation;
  /** Today's preprocessing + vector, e.g. "squash/high + sqrt-l2". */
  todayLabel: string;
  firstDefault: Evaluation;
  bestName: string;
  identicalGroups: string[][];
  portraitRows: (string | number)[][];
  portraitCount: number;
  whole: Evaluation[];
  candidate: Evaluation;
  candidateName: string;
  split: Evaluation[];
  oldSplit: Evaluation;
  splitL2: Evaluation;
  bestFitted: Evaluation;
  fitCount: number;
  evalCount: number;
  pcaSeconds: number;
  hnsw: Evaluation;
  embedRates: { what: string; photos: number; seconds: number }[];
  embedderRate: number;
  throughputPhotos: number;
  seconds: number;
}

function buildReport(r: ReportInput): string {
  const out: string[] = [];
  const add = (...lines: string[]) => out.push(...lines);
  const candidateIsToday = r.candidateName === r.todayLabel;
  const compared = [
    { short: "old", long: "old system (squash/high + raw, L2)", e: r.old },
    { short: "v1", long: `first default (${preprocessingName(FIRST_DEFAULT)} + L2)`, e: r.firstDefault },
    { short: "v2", long: `pipeline v2 (${r.todayLabel}; v3 projects it, section 11)`, e: r.today },
    ...(candidateIsToday ? [] : [{ short: "best", long: `best measured (${r.candidateName})`, e: r.candidate }]),
  ];
  const dP10 = r.candidate.catalogue.p10 - r.old.catalogue.p10;
  const dR1 = r.candidate.shopper.recall1 - r.old.shopper.recall1;
  const goalMet = dP10 >= 0.03 && dR1 >= 0.05;
  const fittedGain = r.bestFitted.catalogue.p10 - r.splitL2.catalogue.p10;
  const fittedR1Gain = r.bestFitted.shopper.recall1 - r.splitL2.shopper.recall1;
  const sqrtSplit = r.split.find((e) => e.transform.name === "sqrt-l2")!;
  const reducedVariants = r.split
    .filter((e) => /^pca(-whiten)?-\d+$/.test(e.transform.name) && e.transform.dims < D)
    .sort((a, b) => a.transform.dims - b.transform.dims);
  const withinOnePoint = (e: Evaluation, recallToo: boolean) =>
    r.splitL2.catalogue.p10 - e.catalogue.p10 < 0.01 && (!recallToo || r.splitL2.shopper.recall1 - e.shopper.recall1 < 0.01);
  const reducedP10 = reducedVariants.find((e) => withinOnePoint(e, false));
  const reducedBoth = reducedVariants.find((e) => withinOnePoint(e, true));
  const deltas = (e: Evaluation) =>
    `P@10 ${signedPoints(e.catalogue.p10 - r.splitL2.catalogue.p10)}, recall@1 ${signedPoints(e.shopper.recall1 - r.splitL2.shopper.recall1)} points`;
  const bestSplit = r.split.reduce((a, b) => (b.catalogue.p10 > a.catalogue.p10 ? b : a));

  add(
    "# Retrieval quality",
    "",
    "<!-- Generated by `npm run eval` (bench/eval.ts); edit the script, not this file. -->",
    "",
    `Measured ${info.date} at commit ${info.commit}. Machine: ${info.machine}; ${info.runtime}; load average at ` +
      `start ${info.loadAverage} (the machine was shared, so throughput is a lower bound). ${n} labelled photos` +
      `${limit ? ` (--limit ${limit})` : ""} from \`../shared/data/fashion\`, ${dataset.duplicatePhotos} of them ` +
      `byte-identical to another; ${sample.length} shopper photos x ${DEGRADATIONS.length} degradations. ` +
      `Model \`resnet50.onnx\` (ImageNet weights). Run time ${formatDuration(r.seconds)}.`,
    "",
    "Reproduce: `npm run eval` (in process, rewrites this file except the over-HTTP section; raw embeddings are cached " +
      "in `$TMPDIR/fip-eval-cache`, so a second run takes minutes), `npm run eval -- --limit 300` for a quick look, " +
      "and `npm run eval -- --http <url> --write docs/quality.md` for the over-HTTP section.",
    "",
    "## Summary",
    "",
    `- **Old system** (squash to 224x224, raw 2048-d vectors, L2 distance, score 1/(1+d²)): P@10 ` +
      `${pct(r.old.catalogue.p10)}, shopper recall@1 ${pct(r.old.shopper.recall1)}.`,
    `- **The service's first default** (pipeline v1: ${preprocessingName(FIRST_DEFAULT)}, L2-normalised, score = ` +
      `cosine): P@10 ${pct(r.firstDefault.catalogue.p10)} (${signedPoints(r.firstDefault.catalogue.p10 - r.old.catalogue.p10)}), ` +
      `shopper recall@1 ${pct(r.firstDefault.shopper.recall1)} (${signedPoints(r.firstDefault.shopper.recall1 - r.old.shopper.recall1)}): ` +
      "the centre crop cuts the top and bottom off 3:4 uploads.",
    `- **Pipeline v2's vector** (\`${V2_PIPELINE}\`: ${r.todayLabel}, score = cosine): P@10 ${pct(r.today.catalogue.p10)} ` +
      `(${signedPoints(r.today.catalogue.p10 - r.old.catalogue.p10)}), shopper recall@1 ${pct(r.today.shopper.recall1)} ` +
      `(${signedPoints(r.today.shopper.recall1 - r.old.shopper.recall1)}). The service today (\`${PIPELINE.name}\`) ` +
      "applies a learned projection to it, which needs the labels to be measured fairly: see section 11 (`npm run fit`).",
    `- **Best configuration that needs no fitted statistics**${candidateIsToday ? " (what the service ships)" : ""} (${r.candidateName}, score ` +
      `${SCORE_FORMULAS[r.candidate.transform.score].formula}): P@10 ${pct(r.candidate.catalogue.p10)} ` +
      `(${signedPoints(dP10)} points vs the old system), shopper recall@1 ${pct(r.candidate.shopper.recall1)} ` +
      `(${signedPoints(dR1)} points). Goal (+3 points P@10 and +5 points recall@1): **${goalMet ? "met" : "not met"}**` +
      (r.old.shopper.recall1 > 0.95
        ? ` (the old system already finds ${pct(r.old.shopper.recall1)}% of the originals first, so recall@1 has only ` +
          `${(100 * (1 - r.old.shopper.recall1)).toFixed(1)} points of headroom on this set).`
        : "."),
    `- **Best fitted variant** (by P@10 + recall@1; fit on odd ids, measured within even ids): ` +
      `${r.bestFitted.transform.description}: P@10 ${signedPoints(fittedGain)} points and recall@1 ` +
      `${signedPoints(fittedR1Gain)} points vs plain L2 on the same half (square root, which needs no fitting: ` +
      `P@10 ${signedPoints(sqrtSplit.catalogue.p10 - r.splitL2.catalogue.p10)}, recall@1 ` +
      `${signedPoints(sqrtSplit.shopper.recall1 - r.splitL2.shopper.recall1)}).`,
    reducedP10
      ? `- **Reduced dimension** (vs full 2048-d L2 on the held-out half): ${reducedP10.transform.description} ` +
          `loses less than one point of P@10 (${deltas(reducedP10)}) with a ${D / reducedP10.transform.dims}x smaller index` +
          (reducedBoth === reducedP10
            ? "."
            : reducedBoth
              ? `; within one point on recall@1 as well takes ${reducedBoth.transform.dims} dims (${deltas(reducedBoth)}, ` +
                `${D / reducedBoth.transform.dims}x smaller).`
              : "; every reduction loses more than one point of recall@1.") +
          " The projection has to be fitted on the shop's catalogue and stored with the index."
      : "- **Reduced dimension**: every PCA reduction tried loses at least one point of P@10 vs full 2048-d L2.",
    `- **Ceiling of what was tried**: the best P@10 of any variant on the held-out half is ${pct(bestSplit.catalogue.p10)} ` +
      `(${bestSplit.transform.description}), ${signedPoints(bestSplit.catalogue.p10 - r.oldSplit.catalogue.p10)} points ` +
      `over the old system on the same half` +
      (bestSplit.catalogue.p10 - r.oldSplit.catalogue.p10 >= 0.03
        ? "."
        : "; no preprocessing or vector variant here reaches +3 points of P@10 with these ImageNet weights: the " +
          "features, not their post-processing, limit articleType precision."),
    "",
    "## How it is measured",
    "",
    "- Everything goes through the service's own code: `decodeToModelInput` (src/inference/image-decoder.ts, with the " +
      "fit mode and resize filter under test), `openModelSession` (native onnxruntime, 2 threads, batches of " +
      `${batchSize}), the score formulas of src/similarity, and for the index row the service's \`VectorStore\`.`,
    "- Catalogue queries: every photo asks for its nearest neighbours among all the others, leaving out itself and " +
      "every photo byte-identical to it (sha256 of the file). A hit is a result with the same articleType. " +
      "P@k = hits in the first k / k; AP@10 = sum of P@i over the hit ranks i <= 10 / min(10, photos of that type " +
      "in the database); P@10 (type+colour) also needs the same baseColour. Queries whose articleType has no other photo " +
      `are left out (${r.old.catalogue.unanswerable} here).`,
    "- The in-process numbers use **exact** nearest neighbours (USearch's brute-force `exactSearch`, squared L2 on " +
      "the transformed vectors). The deployed service searches an HNSW graph: see \"The deployed index\" and the " +
      "over-HTTP section.",
    `- Shopper uploads: ${sample.length} photos spread evenly over the ids (photo number floor(i·${n}/${sample.length})), each made into ` +
      `${DEGRADATIONS.length} degraded copies with @napi-rs/canvas; each copy is searched among all ${n} catalogue ` +
      "photos (nothing left out) and must find its original: recall@1 = original first, recall@5 = in the first " +
      "five. A byte-identical copy of the original counts as finding it. \"Shopper recall\" without a degradation " +
      "name is pooled over all of them.",
    ...DEGRADATIONS.map((d) => `  - \`${d.name}\`: ${d.description}.`),
    `- Fitted variants (catalogue mean, PCA) are fitted on the ${r.fitCount} photos with odd ids and measured with ` +
      `queries **and** database restricted to the ${r.evalCount} photos with even ids (shopper queries: those whose ` +
      "original has an even id), so no number comes from photos the statistics were fitted on; their table repeats " +
      "the unfitted variants on the same half for comparison. The one exception, marked, is the centred variant in the " +
      "whole-catalogue table, whose mean is that of the searched catalogue itself (as a service would compute it; it " +
      "uses no labels).",
    "",
    "## 1. Preprocessing: fit mode and resize filter",
    "",
    "The labelled photos are 224x224 already, so every fit mode draws them 1:1 and the fit mode changes nothing " +
      "for them; it matters for photos of another shape (the shopper uploads, and a catalogue at its real 3:4 shape " +
      "in section 2). The filter is another matter: with @napi-rs/canvas, `imageSmoothingQuality = \"high\"` " +
      "resamples with a Mitchell-Netravali cubic (B = C = 1/3) even at scale 1, which blurs every photo with a " +
      "[1, 16, 1]/18 kernel in each direction; \"low\" and \"medium\" copy a 1:1 photo unchanged. Variants that gave " +
      "the model bit-identical catalogue inputs (checked by hashing the embeddings): " +
      r.identicalGroups.map((group) => `{${group.join(", ")}}`).join(", ") +
      ". The best row (by catalogue P@10 + shopper recall@1) is used for the vector sections below.",
    "",
    table(
      ["preprocessing (L2-normalised)", "P@10", ...DEGRADATIONS.map((d) => `${d.name} R@1`), "shopper R@1", "shopper R@5"],
      [
        [`squash/high + raw, 1/(1+d²) (old system)`, ...preprocessingCells(r.old)],
        ...r.preprocessings.map((p) => {
          const name = preprocessingName(p);
          const label =
            `${name}${name === preprocessingName(TODAY) ? " (today's fit mode and filter)" : ""}` +
            `${name === preprocessingName(FIRST_DEFAULT) ? " (first default, v1)" : ""}${name === r.bestName ? " **best**" : ""}`;
          return [label, ...preprocessingCells(r.byPreprocessing.get(name)!)];
        }),
      ],
    ),
    "",
    "Filters are the canvas's `imageSmoothingQuality` (the `smoothing` decode option, default high): low = " +
      "bilinear, medium = bilinear with mipmaps when shrinking, high = Mitchell cubic, which also filters photos drawn " +
      "1:1 (the catalogue photos and the 224x224 uploads), so with high every photo gets the same slight blur. " +
      "Old system = squash with the decoder's default filter (high); its own resizer is not known.",
    "",
  );

  if (r.portraitRows.length > 0) {
    add(
      "## 2. A catalogue at its real 3:4 shape",
      "",
      `The labelled photos are 3:4 product shots squeezed to a square; a shop's own catalogue holds them at 3:4. Here ` +
        `${r.portraitCount} catalogue photos are restored to 224x299 (JPEG q95) and embedded with each fit mode (filter of the best row above); ` +
        "the shopper set (embedded with the same fit mode) is searched against them.",
      "",
      table(
        ["3:4 catalogue", "P@1", "P@10", "mAP@10", "P@10 type+colour", ...PORTRAIT_UPLOADS.map((name) => `${name} R@1`), "all shopper R@1"],
        r.portraitRows,
      ),
      "",
      "The squeezed-square uploads (small-60x80, crop-85, jpeg-q40, flip) are not what a 3:4 shop's customers send, so " +
        "for this catalogue the two 3:4 upload columns matter more than the pooled one.",
      "",
    );
  }

  add(
    `## 3. The vector (whole catalogue, ${r.bestName})`,
    "",
    table(
      ["vector", "dims", "score", "P@1", "P@10", "mAP@10", "P@10 type+colour", "shopper R@1", "shopper R@5", "median top-1 score"],
      [
        ...(r.bestName === preprocessingName(BASELINE) ? [] : [[`squash/high + raw (old system)`, ...vectorCells(r.old)]]),
        ...r.whole.map((e) => [
          `${e.transform.description}${e.transform.fitted ? " (mean of all photos)" : ""}${e === r.candidate ? " **candidate**" : ""}`,
          ...vectorCells(e),
        ]),
      ],
    ),
    "",
    `## 4. Fitted variants: PCA and whitening (fit on ${r.fitCount} odd ids, measured within ${r.evalCount} even ids)`,
    "",
    `PCA of the L2-normalised fitting vectors (covariance ${D}x${D}, Householder + QL eigendecomposition in ` +
      `${r.pcaSeconds.toFixed(0)} s); variants centre on the fitting mean, project on the first d axes, optionally ` +
      "divide each axis by its standard deviation (whitening), and L2-normalise. Index size per vector is for float32.",
    "",
    table(
      ["vector", "dims", "bytes/vector", "P@1", "P@10", "P@10 vs L2", "mAP@10", "shopper R@1", "R@1 vs L2", "shopper R@5"],
      [
        ...(r.bestName === preprocessingName(BASELINE) ? [] : [["squash/high + raw (old system)", ...splitCells(r.oldSplit, r.splitL2)]]),
        ...r.split.map((e) => [e.transform.description, ...splitCells(e, r.splitL2)]),
      ],
    ),
    "",
    "## 5. Shopper uploads by degradation",
    "",
    table(
      ["degradation", ...compared.flatMap((c) => [`${c.short} R@1`, `${c.short} R@5`])],
      DEGRADATIONS.map((d, i) => [
        d.name,
        ...compared.flatMap((c) => [pct(c.e.perDegradation[i]!.recall1), pct(c.e.perDegradation[i]!.recall5)]),
      ]).concat([["**all**", ...compared.flatMap((c) => [pct(c.e.shopper.recall1), pct(c.e.shopper.recall5)])]]),
    ),
    "",
    compared.map((c) => `${c.short} = ${c.long}`).join("; ") + ".",
    "",
    "## 6. P@10 by masterCategory",
    "",
    table(
      ["masterCategory", "queries", ...compared.map((c) => c.short)],
      [...r.today.catalogue.byMasterCategory]
        .sort((a, b) => b[1].queries - a[1].queries)
        .map(([name, g]) => [name, g.queries, ...compared.map((c) => pct(c.e.catalogue.byMasterCategory.get(name)?.p10 ?? Number.NaN))]),
    ),
    "",
    "## 7. P@10 for the 15 largest articleTypes",
    "",
    table(
      ["articleType", "photos", ...compared.map((c) => c.short)],
      largestTypes(dataset, 15).map((type) => [
        type,
        dataset.photos.filter((photo) => photo.articleType === type).length,
        ...compared.map((c) => pct(c.e.catalogue.byArticleType.get(type)?.p10 ?? Number.NaN)),
      ]),
    ),
    "",
    "## 8. The score shown to users",
    "",
    "The score must stay in (0, 1], be 1.0 for an identical photo and grow with similarity. For unit vectors the " +
      "index's squared L2 distance d² = 2 - 2·cosine, so `1 - d²/2` is the cosine (the service's formula); ResNet50's " +
      "pooled features are non-negative, so for L2-normalised or square-rooted vectors the cosine is >= 0 and in " +
      "practice far above 0 (for square-rooted vectors it is the Bhattacharyya coefficient of the two feature " +
      "profiles). Centred or whitened vectors can have a negative cosine, so for those the score would be " +
      "`(1 + cosine)/2 = 1 - d²/4`. The old system's `1/(1+d²)` on raw vectors is 1.0 for an identical photo but " +
      "otherwise tiny and depends on the photo's feature magnitude, so no threshold means the same thing twice.",
    "",
    table(
      ["configuration", "formula", "median top-1", "5th pct of same-type hits", "lowest same-type hit", "1st pct of shopper matches", "hits hidden at 0.5", "hits hidden at 0.7"],
      [
        ...compared.map((c) => [c.long, ...scoreCells(c.e)]),
        [`best fitted (${r.bestFitted.transform.name}, even half)`, ...scoreCells(r.bestFitted)],
      ],
    ),
    "",
    "\"Same-type hits\" are the same-articleType results in every catalogue query's top 10; \"shopper matches\" the " +
      "scores of originals found at rank 1. The scores are relative (they rank), not calibrated probabilities: a " +
      "similar product routinely scores well below an exact re-upload, so the default `score_threshold` stays **0** " +
      "(keep everything, rank by score); clients that want a cut-off should pick it from this table for their " +
      "catalogue.",
    "",
    "## 9. The deployed index",
    "",
    `The candidate's vectors put into the service's \`VectorStore\` (a sealed segment: USearch f16 HNSW, connectivity 16, expansion 128/64) ` +
      "and searched through `store.search`, against the exact search above:",
    "",
    table(
      ["search", "P@1", "P@10", "mAP@10", "shopper R@1", "shopper R@5"],
      [
        ["exact (brute force)", pct(r.candidate.catalogue.p1), pct(r.candidate.catalogue.p10), pct(r.candidate.catalogue.map10), pct(r.candidate.shopper.recall1), pct(r.candidate.shopper.recall5)],
        ["VectorStore (HNSW)", pct(r.hnsw.catalogue.p1), pct(r.hnsw.catalogue.p10), pct(r.hnsw.catalogue.map10), pct(r.hnsw.shopper.recall1), pct(r.hnsw.shopper.recall5)],
      ],
    ),
    "",
    "## 10. Throughput",
    "",
    table(
      ["what", "photos", "seconds", "photos/s"],
      [
        [`the service's Embedder (embedImage, ${PIPELINE.fitMode}, ${PIPELINE.normalisation}, batches up to 16), first ${r.throughputPhotos} photos`, r.throughputPhotos, num(r.throughputPhotos / r.embedderRate, 1), num(r.embedderRate, 1)],
        ...r.embedRates.map((rate) => [`evaluation: ${rate.what} (decode overlapped with inference)`, rate.photos, num(rate.seconds, 0), num(rate.photos / rate.seconds, 1)]),
      ],
    ),
    "",
    r.embedRates.length === 0
      ? "Every embedding of this run came from the cache; only the Embedder row was measured in this run."
      : "Evaluation rows count only photos that went through the model in this run (the rest came from the cache).",
    "",
    "{{HTTP_SECTION}}",
    "",
  );
  return out.join("\n");
}

function preprocessingCells(e: Evaluation): string[] {
  return [pct(e.catalogue.p10), ...e.perDegradation.map((m) => pct(m.recall1)), pct(e.shopper.recall1), pct(e.shopper.recall5)];
}

function portraitCells(e: Evaluation): string[] {
  const perDegradation = PORTRAIT_UPLOADS.map((name) => pct(e.perDegradation[DEGRADATIONS.findIndex((d) => d.name === name)]!.recall1));
  return [pct(e.catalogue.p1), pct(e.catalogue.p10), pct(e.catalogue.map10), pct(e.catalogue.p10TypeColour), ...perDegradation, pct(e.shopper.recall1)];
}

function vectorCells(e: Evaluation): string[] {
  return [
    String(e.transform.dims),
    SCORE_FORMULAS[e.transform.score].formula,
    pct(e.catalogue.p1),
    pct(e.catalogue.p10),
    pct(e.catalogue.map10),
    pct(e.catalogue.p10TypeColour),
    pct(e.shopper.recall1),
    pct(e.shopper.recall5),
    num(quantile(e.catalogue.topScores, 0.5), 3),
  ];
}

function splitCells(e: Evaluation, l2: Evaluation): string[] {
  return [
    String(e.transform.dims),
    String(e.transform.dims * 4),
    pct(e.catalogue.p1),
    pct(e.catalogue.p10),
    signedPoints(e.catalogue.p10 - l2.catalogue.p10),
    pct(e.catalogue.map10),
    pct(e.shopper.recall1),
    signedPoints(e.shopper.recall1 - l2.shopper.recall1),
    pct(e.shopper.recall5),
  ];
}

function scoreCells(e: Evaluation): string[] {
  const hidden = (threshold: number) => {
    const scores = e.catalogue.hitScores;
    let below = 0;
    for (const s of scores) if (s < threshold) below++;
    return `${pct(below / Math.max(1, scores.length))}%`;
  };
  return [
    SCORE_FORMULAS[e.transform.score].formula,
    num(quantile(e.catalogue.topScores, 0.5), 3),
    num(quantile(e.catalogue.hitScores, 0.05), 3),
    num(quantile(e.catalogue.hitScores, 0), 3),
    num(quantile(e.shopper.matchScores, 0.01), 3),
    hidden(0.5),
    hidden(0.7),
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

function parsePreprocessings(value: string | undefined): Preprocessing[] {
  const fitModes: FitMode[] = ["squash", "center-crop", "letterbox"];
  const filters: Smoothing[] = ["high", "medium", "low"];
  const list: Preprocessing[] = value
    ? value.split(",").map((item) => {
        const [fitMode, smoothing = "high"] = item.trim().split("/") as [FitMode, Smoothing | undefined];
        if (!fitModes.includes(fitMode) || !filters.includes(smoothing)) {
          throw new Error(`--preprocessing: ${item} is not <${fitModes.join("|")}>/<${filters.join("|")}>`);
        }
        return { fitMode, smoothing };
      })
    : filters.flatMap((smoothing) => fitModes.map((fitMode) => ({ fitMode, smoothing })));
  // The old system's, the first default's and today's preprocessing are always measured: the report compares them.
  for (const needed of [BASELINE, FIRST_DEFAULT, TODAY]) {
    if (!list.some((p) => preprocessingName(p) === preprocessingName(needed))) list.unshift(needed);
  }
  return list;
}

function range(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

function largestTypes(data: Dataset, count: number): string[] {
  const counts = new Map<string, number>();
  for (const photo of data.photos) counts.set(photo.articleType, (counts.get(photo.articleType) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, count)
    .map(([type]) => type);
}

function selectRows(neighbours: Neighbours, rows: number[]): Neighbours {
  const { k } = neighbours;
  const index = new Int32Array(rows.length * k);
  const score = new Float32Array(rows.length * k);
  rows.forEach((row, i) => {
    index.set(neighbours.index.subarray(row * k, (row + 1) * k), i * k);
    score.set(neighbours.score.subarray(row * k, (row + 1) * k), i * k);
  });
  return { k, index, score };
}

/** The shopper neighbour lists, one Neighbours per degradation (rows are degradation-major). */
function splitShopper(neighbours: Neighbours, k: number): Neighbours[] {
  return DEGRADATIONS.map((_, d) => selectRows({ ...neighbours, k }, range(sample.length).map((i) => d * sample.length + i)));
}
