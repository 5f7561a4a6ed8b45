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
import { existsSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { EMBEDDING_DIMENSIONS, openModelSession } from "../src/inference/model-session.ts";
import type { FitMode } from "../src/inference/preprocess.ts";
import { PIPELINE } from "../src/services.ts";
import { printUsageAndExit, wholeNumberFlag } from "./lib/command-flags.ts";
import { loadDataset, range } from "./lib/dataset.ts";
import { DEGRADATIONS, decodePhoto, makeShopperSet, toPortrait } from "./lib/degrade.ts";
import { embedPhotos, type Preprocessing, preprocessingName, sha256, type Smoothing } from "./lib/embed-photos.ts";
import { measureEmbedderRate } from "./lib/embedder-throughput.ts";
import { EmbeddingCache } from "./lib/embedding-cache.ts";
import { measureOverHttp } from "./lib/http-quality.ts";
import { formatDuration } from "./lib/progress.ts";
import { portraitCells } from "./lib/quality-cells.ts";
import { Evaluator } from "./lib/quality-evaluation.ts";
import { BASELINE, type Evaluation, FIRST_DEFAULT, TODAY } from "./lib/quality-input.ts";
import { buildReport } from "./lib/quality-report.ts";
import { pct, runInfo, writeHttpSection, writeReport } from "./lib/report.ts";
import {
  centredTransform,
  fitPca,
  l2Transform,
  pcaTransform,
  pickRows,
  rawTransform,
  sqrtTransform,
  type VectorTransform,
} from "./lib/vector-variants.ts";

const REPO_ROOT = resolve(import.meta.dir, "..");
const SHARED = resolve(REPO_ROOT, "../shared");
const D = EMBEDDING_DIMENSIONS;

const { values: args } = parseArgs({
  options: {
    http: { type: "string" },
    limit: { type: "string" },
    shopper: { type: "string", default: "1000" },
    preprocessing: { type: "string" },
    "no-portrait": { type: "boolean" },
    "portrait-every": { type: "string", default: "1" },
    batch: { type: "string", default: "16" },
    concurrency: { type: "string", default: "8" },
    "skip-index": { type: "boolean" },
    write: { type: "string" },
    "no-write": { type: "boolean" },
    help: { type: "boolean" },
  },
});

if (args.help) printUsageAndExit(import.meta.path);

const FASHION_DIR = resolve(process.env.FASHION_DIR ?? join(SHARED, "data/fashion"));
const MODEL_PATH = resolve(
  process.env.MODEL_PATH ??
    [join(SHARED, "models/resnet50.onnx"), join(REPO_ROOT, "models/resnet50.onnx")].find(existsSync) ??
    join(SHARED, "models/resnet50.onnx"),
);
const limit = args.limit === undefined ? undefined : wholeNumberFlag(args, "limit");
const shopperCount = wholeNumberFlag(args, "shopper");
const batchSize = wholeNumberFlag(args, "batch");
const concurrency = wholeNumberFlag(args, "concurrency");
const portraitEvery = wholeNumberFlag(args, "portrait-every");
const REPORT_PATH = resolve(REPO_ROOT, args.write ?? "docs/quality.md");

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

const shopperSet = await makeShopperSet(dataset, shopperCount);
const { sample } = shopperSet;
log(`shopper set: ${sample.length} photos x ${DEGRADATIONS.length} degradations (${DEGRADATIONS.map((d) => d.name).join(", ")})`);

if (args.http) {
  const section = await measureOverHttp({
    base: args.http,
    concurrency,
    skipIndex: args["skip-index"] === true,
    info,
    dataset,
    limit,
    shopper: shopperSet,
    log,
  });
  log(`\n${section}\n`);
  if (args.write) {
    writeHttpSection(REPORT_PATH, section);
    log(`wrote the over-HTTP section of ${REPORT_PATH}`);
  }
} else {
  await runInProcess();
}

// ---------------------------------------------------------------------------------------------------------------
// In process

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
    const shopper = await embedPhotos(session, cache, shopperSet.bytes, p, { batchSize, label: `shopper set ${name}` });
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
  const embedderRate = await measureEmbedderRate(session, throughputPhotos);
  log(`service Embedder: ${throughputPhotos.length} photos at ${embedderRate.toFixed(1)} photos/s (load average ${loadavg()[0]!.toFixed(1)})`);

  // 4. The analysis.
  const all = range(n);
  const evaluator = new Evaluator(dataset, shopperSet, log);

  log("\npreprocessing variants (L2-normalised):");
  const byPreprocessing = new Map<string, Evaluation>();
  for (const p of preprocessings) {
    const name = preprocessingName(p);
    const r = raw.get(name)!;
    byPreprocessing.set(name, evaluator.exact(l2Transform, `${name} + l2`, r.catalogue, all, r.shopper));
  }
  const baselineRaw = raw.get(preprocessingName(BASELINE))!;
  const old = evaluator.exact(rawTransform, `${preprocessingName(BASELINE)} + raw (old system)`, baselineRaw.catalogue, all, baselineRaw.shopper);
  const todayName = preprocessingName(TODAY);
  const todayTransform = { l2: l2Transform, "sqrt-l2": sqrtTransform }[PIPELINE.normalisation];
  const todayRaw = raw.get(todayName)!;
  const today =
    todayTransform === l2Transform
      ? byPreprocessing.get(todayName)!
      : evaluator.exact(todayTransform, `${todayName} + ${todayTransform.name} (service today)`, todayRaw.catalogue, all, todayRaw.shopper);
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
        (await embedPhotos(session, cache, shopperSet.bytes, p, { batchSize, label: `shopper set ${preprocessingName(p)}` })).vectors;
      portrait.set(fitMode, { catalogue: run.vectors, shopper });
    }
  }

  let portraitRows: (string | number)[][] = [];
  if (portrait.size > 0) {
    log("\n3:4 catalogue (L2-normalised):");
    const oldPortrait = evaluator.exact(rawTransform, `3:4 squash/${portraitFilter} + raw (old system)`, portrait.get("squash")!.catalogue, portraitPhotos, portrait.get("squash")!.shopper);
    const modes = [...portrait].map(([fitMode, r]) => [fitMode, evaluator.exact(l2Transform, `3:4 ${fitMode}/${portraitFilter} + l2`, r.catalogue, portraitPhotos, r.shopper)] as const);
    portraitRows = [
      [`squash/${portraitFilter} + raw, 1/(1+d²) (old system's vectors)`, ...portraitCells(oldPortrait)],
      ...modes.map(([fitMode, e]) => [`${fitMode}/${portraitFilter} + L2${fitMode === PIPELINE.fitMode ? " (today's fit mode)" : ""}${fitMode === FIRST_DEFAULT.fitMode ? " (v1's fit mode)" : ""}`, ...portraitCells(e)]),
    ];
  }

  log(`\nvector variants, whole catalogue (${bestName}):`);
  const wholeTransforms = [rawTransform, l2Transform, sqrtTransform, centredTransform(best.catalogue)];
  const whole = wholeTransforms.map((t) => evaluator.exact(t, `${bestName} + ${t.name}${t.fitted ? " (fitted on all photos)" : ""}`, best.catalogue, all, best.shopper));
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
  const oldSplit = evaluator.exact(rawTransform, "split: squash/high + raw (old system)", pickRows(baselineRaw.catalogue, D, evalPhotos), evalPhotos, baselineRaw.shopper);
  const evalRaw = pickRows(best.catalogue, D, evalPhotos);
  const split = splitTransforms.map((t) => evaluator.exact(t, `split: ${bestName} + ${t.name}`, evalRaw, evalPhotos, best.shopper));
  const splitL2 = split.find((e) => e.transform.name === "l2")!;
  const bestFitted = split.filter((e) => e.transform.fitted).reduce((a, b) => (merit(b) > merit(a) ? b : a));

  // 5. The deployed index: the candidate's vectors in the service's VectorStore (HNSW), searched like the service.
  log("\nthe service's VectorStore (HNSW) with the candidate's vectors:");
  const hnsw = await evaluator.inStore(candidate.transform, best.catalogue, best.shopper);
  log(`  P@10 ${pct(hnsw.catalogue.p10)} shopper R@1 ${pct(hnsw.shopper.recall1)}`);

  await session.close();
  const seconds = (performance.now() - started) / 1000;
  log(`\ndone in ${formatDuration(seconds)}`);

  const body = buildReport({
    info,
    dataset,
    limit,
    shopperPhotos: sample.length,
    batchSize,
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
