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
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { printUsageAndExit, wholeNumberFlag } from "./lib/command-flags.ts";
import { loadDataset } from "./lib/dataset.ts";
import { DEGRADATIONS, makeShopperSet } from "./lib/degrade.ts";
import { runInProcess } from "./lib/eval-in-process.ts";
import { measureOverHttp } from "./lib/http-quality.ts";
import { runInfo, writeHttpSection } from "./lib/report.ts";

const REPO_ROOT = resolve(import.meta.dir, "..");
const SHARED = resolve(REPO_ROOT, "../shared");

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
  await runInProcess({
    dataset,
    shopperSet,
    modelPath: MODEL_PATH,
    batchSize,
    preprocessing: args.preprocessing,
    portraitEvery: args["no-portrait"] ? null : portraitEvery,
    limit,
    info,
    log,
    started,
    reportPath: REPORT_PATH,
    write: args.write !== undefined || (limit === undefined && !args["no-write"] && !args.preprocessing),
  });
}
