// How the graph's scalar kind (f32, f16, i8) changes search on the labelled photos' embeddings: recall@10 of a
// graph search against exact f32 search, the share of products that find themselves first, and P@10 (results of
// the query's articleType, itself and its byte-identical copies left out), for the store's graph settings.
// Run: bun bench/scalar-kinds.ts   (the embeddings come from the evaluation's cache; the model runs where it is cold)
import { exactSearch, MetricKind } from "usearch";
import { DEFAULT_GRAPH, type GraphScalar, newGraph } from "../src/store/segment-file.ts";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { writeSection } from "./lib/report.ts";
import { labelledEmbeddings } from "./lib/labelled-embeddings.ts";

const { vectors, labels, dimensions: D } = await labelledEmbeddings();
const n = labels.length;
const k = 10;
const row = (i: number) => vectors.slice(i * D, (i + 1) * D);

const exact = exactSearch(vectors, vectors, D, k + 1, MetricKind.L2sq, 0) as unknown as { keys: BigUint64Array; distances: Float32Array };
const truth = Array.from({ length: n }, (_, q) => new Set(Array.from(exact.keys.subarray(q * (k + 1), q * (k + 1) + k + 1), Number).filter((id) => id !== q).slice(0, k)));

export function measure(scalar: GraphScalar) {
  const graph = newGraph(D, { ...DEFAULT_GRAPH, scalar });
  const started = performance.now();
  graph.add(BigUint64Array.from({ length: n }, (_, i) => BigInt(i)), vectors, 0);
  const buildSeconds = (performance.now() - started) / 1000;
  let hits = 0;
  let selfFirst = 0;
  let sameType = 0;
  let searchMs = 0;
  for (let q = 0; q < n; q++) {
    const query = row(q);
    const t = performance.now();
    const found = graph.search(query, k + 1, 1);
    searchMs += performance.now() - t;
    const ids = Array.from(found.keys, Number);
    if (ids[0] === q || found.distances[0]! <= 0) selfFirst++;
    const others = ids.filter((id) => id !== q && found.distances[ids.indexOf(id)]! > 1e-6).slice(0, k);
    hits += ids.filter((id) => id !== q).slice(0, k).filter((id) => truth[q]!.has(id)).length;
    sameType += others.filter((id) => labels[id] === labels[q]).length / Math.max(1, others.length);
  }
  return { scalar, recall: hits / (n * k), selfFirst: selfFirst / n, p10: sameType / n, buildSeconds, searchMs: searchMs / n };
}

if (import.meta.main) {
  let exactP10 = 0;
  for (let q = 0; q < n; q++) {
    const ids = [...truth[q]!];
    exactP10 += ids.filter((id) => labels[id] === labels[q]).length / ids.length;
  }
  const lines = [
    "## The graph's scalar kind (`bun bench/scalar-kinds.ts`)",
    "",
    `One graph over the ${n} labelled photos' embeddings (connectivity 16, expansion 128 to add, 64 to search), every ` +
      "photo as a query: recall@10 against exact float32 search, the share that finds itself first, and P@10 (results " +
      `of the query's articleType, itself and byte-identical copies left out; exact float32: ${(exactP10 / n).toFixed(4)}). ` +
      `Load average ${loadavg().map((value) => value.toFixed(2)).join(", ")}: times are upper bounds.`,
    "",
    "| graph scalar | recall@10 vs exact | finds itself first | P@10 | build s | search ms |",
    "|---|---|---|---|---|---|",
  ];
  for (const scalar of ["f32", "f16", "i8"] as const) {
    const r = measure(scalar);
    lines.push(`| ${r.scalar} | ${r.recall.toFixed(4)} | ${(r.selfFirst * 100).toFixed(2)}% | ${r.p10.toFixed(4)} | ${r.buildSeconds.toFixed(1)} | ${r.searchMs.toFixed(3)} |`);
  }
  console.log(lines.join("\n"));
  writeSection(join(resolve(import.meta.dir, ".."), "docs/performance.md"), { start: "<!-- store-scalar-kinds:start -->", end: "<!-- store-scalar-kinds:end -->", title: "# Performance" }, lines.join("\n"));
}
