// Near-duplicate groups (GET /embeddings/duplicates, `fashion-image-processor duplicates`) measured on the labelled
// photos: the shipped vectors go into the service's embedded index and findDuplicateGroups runs on it, as the service
// runs it. For each threshold: how many of the byte-identical pairs end in one group (all should), how many groups,
// and how many of them are the same product shot (every member within a small pixel difference of the first one:
// the same photo re-encoded, resized or lightly edited). Then the time on a 100,000-product index.
//
//   npm run bench:duplicates [-- --no-write] [--large N]   writes section 12 of docs/quality.md
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { decodeToModelInput } from "../src/inference/image-decoder.ts";
import { INPUT_FLOATS } from "../src/inference/model-session.ts";
import { PIPELINE, pipelineDecoding } from "../src/services.ts";
import { DEFAULT_MIN_SCORE } from "../src/similarity/duplicate-thresholds.ts";
import { type DuplicateGroup, findDuplicateGroups } from "../src/similarity/duplicates.ts";
import { EmbeddedIndex } from "../src/store/embedded-index.ts";
import { pipelineVectors } from "./lib/labelled-embeddings.ts";
import { loadLabelledSet, modelPath } from "./lib/labelled-set.ts";
import { num, pct, runInfo, table, writeSection } from "./lib/report.ts";

const REPO_ROOT = resolve(import.meta.dir, "..");
const { values: args } = parseArgs({ options: { "no-write": { type: "boolean" }, large: { type: "string" } } });
const THRESHOLDS = [0.95, 0.97, 0.98, 0.99, 0.995];
/** Mean absolute difference of two 224x224 model inputs, in 8-bit levels, below which two photos are one shot. */
const SAME_SHOT_LEVELS = 6;
const LARGE = Number(args.large ?? 100_000);
export const DUPLICATES_MARKERS = { start: "<!-- duplicates-results:start -->", end: "<!-- duplicates-results:end -->", title: "# Retrieval quality" };

const info = runInfo(REPO_ROOT);
const set = await loadLabelledSet({
  fashionDir: resolve(process.env.FASHION_DIR ?? join(REPO_ROOT, "../shared/data/fashion")),
  modelPath: modelPath(REPO_ROOT),
  shopperCount: 1,
  log: console.log,
});
const { photos } = set.dataset;
const vectors = pipelineVectors(set);
const dimensions = vectors[0]!.length;

const identicalPairs: [number, number][] = [];
photos.forEach((a, i) => photos.forEach((b, j) => j > i && a.sha256 === b.sha256 && identicalPairs.push([a.id, b.id])));

const dataDir = await mkdtemp(join(tmpdir(), "fip-duplicates-bench-"));
const rows: (string | number)[][] = [];
let defaultGroups: DuplicateGroup[] = [];
let labelledSeconds = 0;
try {
  const store = await EmbeddedIndex.open({ dataDir, dimensions: dimensions, pipeline: PIPELINE.name });
  await Promise.all(photos.map((photo, i) => store.put(photo.id, vectors[i]!)));
  const inputs = new Map<number, Float32Array>();
  const inputOf = async (id: number) => {
    let input = inputs.get(id);
    if (!input) {
      input = new Float32Array(INPUT_FLOATS);
      await decodeToModelInput(photos[set.dataset.indexOfId.get(id)!]!.bytes, pipelineDecoding(50_000_000), input, 0);
      inputs.set(id, input);
    }
    return input;
  };
  for (const threshold of THRESHOLDS) {
    const started = performance.now();
    const groups = await findDuplicateGroups(store, threshold);
    const seconds = (performance.now() - started) / 1000;
    if (threshold === DEFAULT_MIN_SCORE) {
      defaultGroups = groups;
      labelledSeconds = seconds;
    }
    const groupOf = new Map<number, number>();
    groups.forEach((group, g) => group.product_ids.forEach((id) => groupOf.set(id, g)));
    const found = identicalPairs.filter(([a, b]) => groupOf.has(a) && groupOf.get(a) === groupOf.get(b)).length;
    let sameShot = 0;
    let sameType = 0;
    for (const group of groups) {
      const first = await inputOf(group.product_ids[0]!);
      let same = true;
      for (const id of group.product_ids.slice(1)) {
        const other = await inputOf(id);
        let sum = 0;
        for (let k = 0; k < INPUT_FLOATS; k++) sum += Math.abs(first[k]! - other[k]!);
        if (sum / INPUT_FLOATS > SAME_SHOT_LEVELS) same = false;
      }
      if (same) sameShot++;
      const types = new Set(group.product_ids.map((id) => photos[set.dataset.indexOfId.get(id)!]!.articleType));
      if (types.size === 1) sameType++;
    }
    const products = groups.reduce((sum, group) => sum + group.product_ids.length, 0);
    rows.push([
      threshold === DEFAULT_MIN_SCORE ? `**${threshold}** (default)` : threshold,
      `${found} / ${identicalPairs.length}`,
      groups.length,
      products,
      groups[0]?.product_ids.length ?? 0,
      `${pct(sameShot / Math.max(1, groups.length))}%`,
      `${pct(sameType / Math.max(1, groups.length))}%`,
      num(seconds, 1),
    ]);
    console.log(rows.at(-1)!.join("  "));
  }
  await store.close();
} finally {
  await rm(dataDir, { recursive: true, force: true });
}

// A 100,000-product index: the labelled vectors and copies of them nudged apart (so they are not all duplicates).
let largeLine = "";
if (LARGE > 0) {
  const largeDir = await mkdtemp(join(tmpdir(), "fip-duplicates-large-"));
  try {
    const store = await EmbeddedIndex.open({ dataDir: largeDir, dimensions: dimensions, pipeline: PIPELINE.name });
    let seed = 1;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5;
    const writes: Promise<unknown>[] = [];
    for (let id = 1; id <= LARGE; id++) {
      const source = vectors[(id - 1) % vectors.length]!;
      const copy = source.map((v) => v + (id > vectors.length ? 0.08 * random() : 0));
      let norm = 0;
      for (const v of copy) norm += v * v;
      writes.push(store.put(id, copy.map((v) => v / Math.sqrt(norm))));
      if (writes.length >= 5000) await Promise.all(writes.splice(0));
    }
    await Promise.all(writes);
    const started = performance.now();
    const groups = await findDuplicateGroups(store, DEFAULT_MIN_SCORE);
    const seconds = (performance.now() - started) / 1000;
    largeLine =
      `On ${LARGE.toLocaleString("en")} products (the labelled vectors and copies of them with noise, ${dimensions} dims; ` +
      `past 50,000 products the store searches its HNSW graph): ${num(seconds, 0)} s at min_score ${DEFAULT_MIN_SCORE} ` +
      `(${groups.length} groups), ${num((1000 * seconds) / LARGE, 2)} ms per product, on this shared machine.`;
    console.log(largeLine);
    await store.close();
  } finally {
    await rm(largeDir, { recursive: true, force: true });
  }
}

const section = [
  "## 12. Near-duplicates",
  "",
  "<!-- Generated by `npm run bench:duplicates` (bench/duplicates.ts); edit the script, not this section. -->",
  "",
  `Measured ${info.date} at commit ${info.commit}; ${info.machine}; load average at start ${info.loadAverage}. The ` +
    `${photos.length} labelled photos with the shipped vectors (\`${PIPELINE.name}\`) in the service's embedded index, ` +
    `searched by findDuplicateGroups (src/similarity/duplicates.ts) as GET /embeddings/duplicates does: each product's ` +
    `16 nearest neighbours, pairs at or above min_score joined into connected components. "Same shot": every photo of ` +
    `the group within a mean absolute difference of ${SAME_SHOT_LEVELS} levels (of 255) of the first one at 224x224 ` +
    `(the same photo re-encoded or resized); "same type": one articleType.`,
  "",
  table(
    ["min_score", "byte-identical pairs found", "groups", "products in groups", "largest group", "same shot", "same type", "seconds"],
    rows,
  ),
  "",
  `At the default, the search over ${photos.length} products took ${num(labelledSeconds, 1)} s ` +
    `(${num((1000 * labelledSeconds) / photos.length, 2)} ms per product, exact search). ${largeLine}`,
  "",
  defaultGroups.length > 0
    ? `Largest groups at the default: ${defaultGroups
        .slice(0, 5)
        .map((group) => `${group.product_ids.length} products (lowest score ${num(group.lowest_score, 4)})`)
        .join(", ")}.`
    : "",
].join("\n");
console.log(`\n${section}`);
if (!args["no-write"]) writeSection(resolve(REPO_ROOT, "docs/quality.md"), DUPLICATES_MARKERS, section);
