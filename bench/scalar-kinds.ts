// How the graph's scalar kind (f32, f16, i8) changes search on the labelled photos' embeddings: recall@10 of a
// graph search against exact f32 search, the share of products that find themselves first, and P@10 (results of
// the query's articleType, itself and its byte-identical copies left out), for the store's graph settings.
// Run: bun bench/scalar-kinds.ts   (the embeddings come from the evaluation's cache; the model runs where it is cold)
import { exactSearch, MetricKind } from "usearch";
import { DEFAULT_GRAPH, type GraphScalar, newGraph } from "../src/store/segment-file.ts";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { runInfo, writeSection } from "./lib/report.ts";
import { labelledEmbeddings } from "./lib/labelled-embeddings.ts";

const { vectors, labels, dimensions: D } = await labelledEmbeddings();
const n = labels.length;
const k = 10;
const row = (i: number) => vectors.slice(i * D, (i + 1) * D);

const exact = exactSearch(vectors, vectors, D, k + 1, MetricKind.L2sq, 0) as unknown as { keys: BigUint64Array; distances: Float32Array };
const truth = Array.from({ length: n }, (_, q) => new Set(Array.from(exact.keys.subarray(q * (k + 1), q * (k + 1) + k + 1), Number).filter((id) => id !== q).slice(0, k)));

/** With `rescore`, as the store searches: 4 more candidates than wanted, ranked again by their float32 distance. */
export function measure(scalar: GraphScalar, rescore = false) {
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
    const found = graph.search(query, rescore ? k + 5 : k + 1, 1);
    let matches = Array.from(found.keys, (key, i) => ({ id: Number(key), distance: found.distances[i]! }));
    if (rescore) {
      matches = matches
        .map(({ id }) => ({ id, distance: row(id).reduce((sum, v, d) => sum + (v - query[d]!) ** 2, 0) }))
        .sort((a, b) => a.distance - b.distance)
        .slice(0, k + 1);
    }
    searchMs += performance.now() - t;
    const ids = matches.map((match) => match.id);
    if (ids[0] === q || matches[0]!.distance <= 0) selfFirst++;
    const others = matches.filter((match) => match.id !== q && match.distance > 1e-6).map((match) => match.id).slice(0, k);
    hits += ids.filter((id) => id !== q).slice(0, k).filter((id) => truth[q]!.has(id)).length;
    sameType += others.filter((id) => labels[id] === labels[q]).length / Math.max(1, others.length);
  }
  return { scalar, recall: hits / (n * k), selfFirst: selfFirst / n, p10: sameType / n, buildSeconds, searchMs: searchMs / n };
}

if (import.meta.main) {
  const info = runInfo(resolve(import.meta.dir, ".."));
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
      `Measured at commit ${info.commit}, ${info.date}, load average ${loadavg().map((value) => value.toFixed(2)).join(", ")}: times are upper bounds.`,
    "",
    "| graph scalar | recall@10 vs exact | finds itself first | P@10 | build s | search ms |",
    "|---|---|---|---|---|---|",
  ];
  for (const [scalar, rescore] of [["f32", false], ["f16", false], ["i8", false], ["f16", true], ["i8", true]] as const) {
    const r = measure(scalar, rescore);
    const name = rescore ? `${scalar}, ${k + 5} candidates ranked again in float32 (as the store searches)` : scalar;
    lines.push(`| ${name} | ${r.recall.toFixed(4)} | ${(r.selfFirst * 100).toFixed(2)}% | ${r.p10.toFixed(4)} | ${r.buildSeconds.toFixed(1)} | ${r.searchMs.toFixed(3)} |`);
  }
  console.log(lines.join("\n"));
  writeSection(join(resolve(import.meta.dir, ".."), "docs/performance.md"), { start: "<!-- store-scalar-kinds:start -->", end: "<!-- store-scalar-kinds:end -->", title: "# Performance" }, lines.join("\n"));
}
