// The over-HTTP section of the quality report: the catalogue and shopper queries asked of a running service through
// its public API (http-eval.ts), so its numbers include everything as deployed.
import { type Dataset, largestTypes, range } from "./dataset.ts";
import { DEGRADATIONS, type ShopperSet, splitByDegradation } from "./degrade.ts";
import { indexThroughApi, ServiceClient, similarToStored, similarToUploads } from "./http-eval.ts";
import { num, pct, type RunInfo, table } from "./report.ts";
import { catalogueMetrics, quantile, shopperMetrics } from "./retrieval.ts";

export interface HttpRun {
  /** The service's base URL. */
  base: string;
  /** Requests in flight at once (uploads: at most 4). */
  concurrency: number;
  /** The service already holds the photos: index nothing. */
  skipIndex: boolean;
  info: RunInfo;
  dataset: Dataset;
  /** --limit, if given. */
  limit: number | undefined;
  shopper: ShopperSet;
  log: (line: string) => void;
}

/** Measures the service at `base` and returns the section's markdown. */
export async function measureOverHttp({ base, concurrency, skipIndex, info, dataset, limit, shopper, log }: HttpRun): Promise<string> {
  const n = dataset.photos.length;
  const client = new ServiceClient(base);
  const ready = await client.ready();
  log(`service at ${client.base}: pipeline ${ready.pipeline}, ${ready.inference_backend}, ${ready.embeddings} embeddings`);
  const indexing = skipIndex
    ? { mode: "skipped" as const, photos: 0, failed: 0, seconds: 0, photosPerSecond: Number.NaN }
    : await indexThroughApi(client, dataset, limit === undefined);
  const after = await client.ready();
  if (indexing.failed > 0) log(`warning: ${indexing.failed} photos failed to index`);
  const stored = await similarToStored(client, dataset, concurrency);
  const catalogue = catalogueMetrics(dataset, range(n), range(n), stored.neighbours);
  const uploads = await similarToUploads(client, dataset, shopper.bytes, {
    k: 5,
    concurrency: Math.min(concurrency, 4),
    label: "service: upload",
  });
  const perDegradation = splitByDegradation(uploads.neighbours, 5, shopper.sample.length);
  const pooled = shopperMetrics(dataset, shopper.origins, uploads.neighbours);

  const lines: string[] = [];
  lines.push(`## Over HTTP: the service as deployed`, "");
  lines.push(
    `Measured ${info.date} against ${client.base} (pipeline \`${after.pipeline}\`, ${after.inference_backend} inference, ` +
      `${after.embeddings} embeddings in its index, HNSW search) at commit ${info.commit}; ${info.machine}; ` +
      `load average at start ${info.loadAverage}. ${n} labelled photos${limit ? ` (--limit ${limit})` : ""}, ` +
      `${shopper.sample.length} shopper photos x ${DEGRADATIONS.length} degradations. Reproduce: start the service with ` +
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
        ["shopper recall@1 (all degradations)", pct(pooled.recall1)],
        ["shopper recall@5 (all degradations)", pct(pooled.recall5)],
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
        const metrics = shopperMetrics(dataset, shopper.sample, perDegradation[d]!);
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
  return lines.join("\n");
}
