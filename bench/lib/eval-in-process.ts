// The in-process half of `npm run eval` (bench/eval.ts): embeds the labelled photos and the shopper set with every
// preprocessing variant through the service's own model session (raw embeddings cached), measures the vector
// variants, fitted projections and the service's index on them, and writes docs/quality.md.
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { EMBEDDING_DIMENSIONS, openModelSession } from "../../src/inference/model-session.ts";
import type { FitMode } from "../../src/inference/preprocess.ts";
import { PIPELINE } from "../../src/services.ts";
import { type Dataset, range } from "./dataset.ts";
import { decodePhoto, type ShopperSet, toPortrait } from "./degrade.ts";
import { embedPhotos, type Preprocessing, preprocessingName, sha256, type Smoothing } from "./embed-photos.ts";
import { measureEmbedderRate } from "./embedder-throughput.ts";
import { EmbeddingCache } from "./embedding-cache.ts";
import { formatDuration } from "./progress.ts";
import { portraitCells } from "./quality-cells.ts";
import { Evaluator } from "./quality-evaluation.ts";
import { BASELINE, type Evaluation, FIRST_DEFAULT, TODAY } from "./quality-input.ts";
import { buildReport } from "./quality-report.ts";
import { pct, type RunInfo, writeReport } from "./report.ts";
import {
  centredTransform,
  fitPca,
  l2Transform,
  pcaTransform,
  pickRows,
  rawTransform,
  sqrtTransform,
  type VectorTransform,
} from "./vector-variants.ts";

const D = EMBEDDING_DIMENSIONS;

export interface InProcessOptions {
  dataset: Dataset;
  shopperSet: ShopperSet;
  modelPath: string;
  batchSize: number;
  /** --preprocessing as given: fit/filter variants, comma-separated; all of them when absent. */
  preprocessing: string | undefined;
  /** Every K-th photo also as a 3:4 catalogue photo; null: none. */
  portraitEvery: number | null;
  limit: number | undefined;
  info: RunInfo;
  log: (line: string) => void;
  /** performance.now() when the run started, for its duration. */
  started: number;
  reportPath: string;
  /** Whether to rewrite the report at reportPath. */
  write: boolean;
}

export async function runInProcess(options: InProcessOptions): Promise<void> {
  const { dataset, shopperSet, modelPath, batchSize, limit, info, log, started, reportPath } = options;
  const { sample } = shopperSet;
  const n = dataset.photos.length;
  const preprocessings = parsePreprocessings(options.preprocessing);
  const modelSha = sha256(new Uint8Array(readFileSync(modelPath)));
  const cache = EmbeddingCache.open(modelSha);
  log(`model ${modelPath} (sha256 ${modelSha.slice(0, 16)}...); embedding cache ${cache.dir} (${cache.size} entries)`);
  const session = await openModelSession({ modelPath: modelPath, backend: "native", threads: 2 });

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
  const every = options.portraitEvery;
  const portraitPhotos = every === null ? [] : range(n).filter((i) => i % every === 0);
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
  if (options.write) {
    writeReport(
      reportPath,
      body,
      "## Over HTTP: the service as deployed\n\nNot measured yet: start the service and run " +
        "`npm run eval -- --http http://127.0.0.1:8000 --write docs/quality.md`.",
    );
    log(`wrote ${reportPath}`);
  }
}

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
