// Where a segment's graph starts to beat scanning it: one query's time over n of the pipeline's vectors, exact (USearch's SIMD
// scan, what small segments and the mutable segment use) against an HNSW search of the store's settings.
// Run: bun bench/exact-vs-graph.ts
import { exactSearch, MetricKind } from "usearch";
import { DEFAULT_GRAPH, newGraph } from "../src/store/segment-file.ts";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { runInfo, writeSection } from "./lib/report.ts";
import { labelledEmbeddings } from "./lib/labelled-embeddings.ts";
import { SyntheticVectors } from "./lib/synthetic-vectors.ts";

const { vectors: bases, dimensions: D } = await labelledEmbeddings();
const synthetic = new SyntheticVectors("realistic", bases, D);
const QUERIES = 300;
const info = runInfo(resolve(import.meta.dir, ".."));
const lines = [
  "## Where a segment's graph starts to win (`bun bench/exact-vs-graph.ts`)",
  "",
  `One query over n realistic ${D}-d vectors (the pipeline's), top 10, one thread: USearch's exact scan against an f16 HNSW graph. ` +
    `Measured at commit ${info.commit}, ${info.date}, load average ${loadavg().map((value) => value.toFixed(2)).join(", ")}.`,
  "",
  "| rows | exact scan, ms/query | graph, ms/query |",
  "|---|---|---|",
];
for (const n of [128, 256, 512, 1024, 2048, 4096, 8192]) {
  const data = new Float32Array(n * D);
  for (let i = 0; i < n; i++) synthetic.fill(i + 1, 0, data, i * D);
  const queries = Array.from({ length: QUERIES }, (_, q) => synthetic.vector(n + q + 1, 3));
  const graph = newGraph(D, DEFAULT_GRAPH);
  graph.add(BigUint64Array.from({ length: n }, (_, i) => BigInt(i)), data, 0);
  const time = (search: (query: Float32Array) => unknown) => {
    const started = performance.now();
    for (const query of queries) search(query);
    return (performance.now() - started) / QUERIES;
  };
  time((query) => exactSearch(data, query, D, 10, MetricKind.L2sq, 1)); // warm
  const exact = time((query) => exactSearch(data, query, D, 10, MetricKind.L2sq, 1));
  const hnsw = time((query) => graph.search(query, 10, 1));
  lines.push(`| ${n} | ${exact.toFixed(3)} | ${hnsw.toFixed(3)} |`);
}
console.log(lines.join("\n"));
writeSection(join(resolve(import.meta.dir, ".."), "docs/performance.md"), { start: "<!-- store-exact-vs-graph:start -->", end: "<!-- store-exact-vs-graph:end -->", title: "# Performance" }, lines.join("\n"));
