// Large JPEGs: what decoding them at a reduced size (src/inference/large-jpeg.ts, the pipeline's "shrink-on-load")
// costs and changes, against decoding every pixel with the canvas ("full-size", the pipeline before it).
//
//   npm run bench:large-photos                    all labelled photos; rewrites its section of docs/performance.md
//   npm run bench:large-photos -- --limit 500     the first 500 photos (writes nothing unless --write)
//
// Options: --limit N, --phone N (photos also made at 3000x4000 for the cost of a phone photo, default 30), --write,
// --no-write. Each labelled photo (a 3:4 product shot squeezed to 224x224) is restored to 3:4 at 1200x1600, as a
// shop holds it, JPEG q90, in memory only. Both decoders make it into the pipeline's stored vector (the default
// precision's model, the normalisation and the projection). Reported: decode + resize ms per photo, one at a time on
// this thread (median, p90); the cosine between the two vectors of a photo; the catalogue's P@10 (each photo's
// articleType among the others) and the shopper's recall@1 (the original 224-px photo, as an upload, finds its own
// large version first), for each decoder.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_PRECISION } from "../src/config.ts";
import { decodeToModelInput, type LargeJpegDecoding } from "../src/inference/image-decoder.ts";
import { INPUT_FLOATS, openModelSession } from "../src/inference/model-session.ts";
import { photoModel } from "../src/inference/photo-model.ts";
import { loadPipelineProjection, PIPELINE, pipelineDecoding } from "../src/services.ts";
import { enlargedJpeg } from "../test/helpers/images.ts";
import { printUsageAndExit, wholeNumberFlag } from "./lib/command-flags.ts";
import { loadDataset, range } from "./lib/dataset.ts";
import { modelPathFor } from "./lib/ingest-stages.ts";
import { cosine } from "./lib/linalg.ts";
import { percentile } from "./lib/process-stats.ts";
import { pct, num, runInfo, table, writeSection } from "./lib/report.ts";
import { catalogueMetrics, exactNeighbours, shopperMetrics } from "./lib/retrieval.ts";

const REPO_ROOT = resolve(import.meta.dir, "..");
const FASHION_DIR = resolve(process.env.FASHION_DIR ?? join(REPO_ROOT, "../shared/data/fashion"));
const SHOP = { width: 1200, height: 1600 };
const PHONE = { width: 3000, height: 4000 };
const BATCH = 16;
const DECODERS: readonly LargeJpegDecoding[] = ["full-size", "shrink-on-load"];
const MARKERS = { start: "<!-- large-photos:start -->", end: "<!-- large-photos:end -->", title: "# Performance" };

const { values: args } = parseArgs({
  options: {
    limit: { type: "string" },
    phone: { type: "string", default: "30" },
    write: { type: "boolean" },
    "no-write": { type: "boolean" },
    help: { type: "boolean" },
  },
});
if (args.help) printUsageAndExit(import.meta.path);
if (!existsSync(join(FASHION_DIR, "labels.csv"))) {
  console.error(`no labelled photos at ${FASHION_DIR} (set FASHION_DIR)`);
  process.exit(2);
}
const limit = args.limit === undefined ? undefined : wholeNumberFlag(args, "limit");
const phoneCount = wholeNumberFlag(args, "phone");
const write = args.write === true || (limit === undefined && !args["no-write"]);

const info = runInfo(REPO_ROOT);
const dataset = await loadDataset(FASHION_DIR, limit);
const n = dataset.photos.length;
const modelPath = modelPathFor(REPO_ROOT, DEFAULT_PRECISION);
const model = photoModel(await openModelSession({ modelPath, backend: "native", threads: 2 }), {
  normalisation: PIPELINE.normalisation,
  projection: loadPipelineProjection(),
});
const dims = model.dimensions;
console.log(`${n} labelled photos from ${FASHION_DIR}; ${DEFAULT_PRECISION} model ${modelPath}`);

/** The stored vectors of photos, in batches, through one decoder; the decode times of each photo. */
async function embed(photos: Uint8Array[], largeJpegs: LargeJpegDecoding, vectors: Float32Array, decodeMs: number[], first: number): Promise<void> {
  const decode = { ...pipelineDecoding(50_000_000), largeJpegs };
  const inputs = photos.map(() => new Float32Array(INPUT_FLOATS));
  for (const [i, bytes] of photos.entries()) {
    const started = performance.now();
    await decodeToModelInput(bytes, decode, inputs[i]!);
    decodeMs.push(performance.now() - started);
  }
  const embedded = await model.embed(inputs, inputs.map(() => null));
  embedded.vectors.forEach((vector, i) => vectors.set(vector, (first + i) * dims));
}

interface SizeResult {
  decodeMs: Record<LargeJpegDecoding, number[]>;
  vectors: Record<LargeJpegDecoding, Float32Array>;
}

/** Every photo enlarged to `size`, through both decoders, a batch at a time (the enlarged photos are not kept). */
async function measure(size: { width: number; height: number }, count: number): Promise<SizeResult> {
  const result: SizeResult = {
    decodeMs: { "full-size": [], "shrink-on-load": [] },
    vectors: { "full-size": new Float32Array(count * dims), "shrink-on-load": new Float32Array(count * dims) },
  };
  const started = performance.now();
  for (let first = 0; first < count; first += BATCH) {
    const batch = dataset.photos.slice(first, Math.min(count, first + BATCH));
    const photos = await Promise.all(batch.map((photo) => enlargedJpeg(photo.bytes, size.width, size.height)));
    // Alternating which decoder goes first, so neither always finds the caches warm.
    const order = (first / BATCH) % 2 === 0 ? DECODERS : DECODERS.toReversed();
    for (const decoder of order) await embed(photos, decoder, result.vectors[decoder], result.decodeMs[decoder], first);
    if (first % (BATCH * 25) === 0) console.log(`  ${size.width}x${size.height}: ${first + batch.length}/${count} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  return result;
}

const originals = new Float32Array(n * dims);
const originalMs: number[] = [];
for (let first = 0; first < n; first += BATCH) {
  await embed(dataset.photos.slice(first, first + BATCH).map((photo) => photo.bytes), PIPELINE.largeJpegs, originals, originalMs, first);
}
const shop = await measure(SHOP, n);
const phone = await measure(PHONE, Math.min(phoneCount, n));
await model.close();

const rows = (vectors: Float32Array, count: number) => Array.from({ length: count }, (_, i) => vectors.subarray(i * dims, (i + 1) * dims));
function cosines(result: SizeResult, count: number): number[] {
  const full = rows(result.vectors["full-size"], count);
  return rows(result.vectors["shrink-on-load"], count).map((vector, i) => cosine(vector, full[i]!)).toSorted((a, b) => a - b);
}
const sortedMs = (values: number[]) => values.toSorted((a, b) => a - b);
const ms = (values: number[], p: number) => num(percentile(sortedMs(values), p), 1);

const all = range(n);
const score = (squaredDistance: number) => 1 - squaredDistance / 2;
const retrievalRows = DECODERS.map((decoder) => {
  const catalogue = shop.vectors[decoder];
  const ofCatalogue = catalogueMetrics(dataset, all, all, exactNeighbours(catalogue, all, catalogue, dims, 10 + dataset.largestGroup, score));
  const ofShopper = shopperMetrics(dataset, all, exactNeighbours(catalogue, all, originals, dims, 5, score));
  return [decoder === PIPELINE.largeJpegs ? `${decoder} (the pipeline)` : decoder, pct(ofCatalogue.p1), pct(ofCatalogue.p10), pct(ofCatalogue.map10), pct(ofShopper.recall1), pct(ofShopper.recall5)];
});

const costRows = [
  [`${SHOP.width}x${SHOP.height} (${n} photos)`, shop, n],
  [`${PHONE.width}x${PHONE.height} (${phone.vectors["full-size"].length / dims} photos)`, phone, phone.vectors["full-size"].length / dims],
] as const;
const section = [
  "## Large photos: decoded at a reduced size",
  "",
  `\`npm run bench:large-photos\` at commit ${info.commit}, ${info.date}; ${info.machine}; ${info.runtime}; load average ${info.loadAverage}.`,
  `Each labelled photo restored to 3:4 and saved as a JPEG (q90) of the size shown, turned into its stored vector (${DEFAULT_PRECISION} model) by each decoder:`,
  "full-size = the canvas decodes every pixel, then its cubic resize (the pipeline before); shrink-on-load = libjpeg-turbo decodes",
  "at 1/2, 1/4 or 1/8 size in the DCT, then one Lanczos-3 resize (sharp; src/inference/large-jpeg.ts). Decode ms = bytes to the",
  "model's input, one photo at a time on one thread; the mean is what an ingest pays.",
  "",
  table(
    ["photos", "full-size ms mean", "p50", "p90", "shrink-on-load ms mean", "p50", "p90", "speed-up (mean)", "cosine p50", "p1", "min"],
    costRows.map(([label, result, count]) => {
      const c = cosines(result, count);
      const mean = (decoder: LargeJpegDecoding) => result.decodeMs[decoder].reduce((sum, value) => sum + value, 0) / result.decodeMs[decoder].length;
      const costs = (decoder: LargeJpegDecoding) => [num(mean(decoder), 1), ms(result.decodeMs[decoder], 0.5), ms(result.decodeMs[decoder], 0.9)];
      return [label, ...costs("full-size"), ...costs("shrink-on-load"), `${num(mean("full-size") / mean("shrink-on-load"), 1)}x`, num(percentile(c, 0.5), 4), num(percentile(c, 0.01), 4), num(c[0]!, 4)];
    }),
  ),
  "",
  `Retrieval over the ${n} photos at ${SHOP.width}x${SHOP.height}: the catalogue (P@k by articleType, as in docs/quality.md) and shopper uploads (the original 224-px photo, ${ms(originalMs, 0.5)} ms to decode, finds its large version).`,
  "",
  table(["large JPEGs decoded", "P@1", "P@10", "mAP@10", "upload R@1", "upload R@5"], retrievalRows),
].join("\n");
console.log(`\n${section}\n`);
if (write) {
  writeSection(join(REPO_ROOT, "docs/performance.md"), MARKERS, section);
  console.log("wrote docs/performance.md");
}
