// Search quality across segments after churn: a merged graph is built fresh, so replacements and deletions must not
// thin it out. Recall is measured against an exact search over the same live vectors.
import { expect, test } from "bun:test";
import { VectorStore } from "../../src/store/vector-store.ts";
import { tempDir } from "../helpers/environment.ts";

const DIMENSIONS = 64;
const PRODUCTS = 3000;

/** Deterministic vectors in 60 clusters, like products of a few types photographed alike. */
function clustered(seed: number): Float32Array {
  let state = seed * 2654435761 >>> 0;
  const random = () => ((state = (state * 1664525 + 1013904223) >>> 0) / 2 ** 32) - 0.5;
  const cluster = seed % 60;
  const vector = Float32Array.from({ length: DIMENSIONS }, (_, k) => Math.sin(cluster * 7.1 + k * 1.9) + random() * 0.8);
  const norm = Math.hypot(...vector);
  return vector.map((v) => v / norm);
}

function exactNearest(live: Map<number, Float32Array>, query: Float32Array, k: number): number[] {
  const scored: { id: number; distance: number }[] = [];
  for (const [id, vector] of live) {
    let distance = 0;
    for (let i = 0; i < DIMENSIONS; i++) distance += (vector[i]! - query[i]!) ** 2;
    scored.push({ id, distance });
  }
  return scored.sort((a, b) => a.distance - b.distance).slice(0, k).map((entry) => entry.id);
}

test("after 30% of products are replaced and 10% deleted, recall@10 against exact search is at least 0.98, and every product finds itself", async () => {
  await using dir = await tempDir();
  const store = await VectorStore.open({ dataDir: dir.path, dimensions: DIMENSIONS, pipeline: "test/v1", sealSize: 150, mergeFactor: 3, exactBelow: 40 });
  const live = new Map<number, Float32Array>();
  for (let id = 1; id <= PRODUCTS; id++) live.set(id, clustered(id));
  for (let start = 1; start <= PRODUCTS; start += 100) {
    await Promise.all([...live].slice(start - 1, start + 99).map(([id, vector]) => store.put(id, vector)));
  }
  for (let id = 1; id <= PRODUCTS; id++) {
    if (id % 10 === 3) {
      await store.delete(id);
      live.delete(id);
    } else if (id % 10 < 3) {
      live.set(id, clustered(id + 100_000));
      await store.put(id, live.get(id)!);
    }
  }
  await store.idle();
  const { segments, merges } = store.stats();
  expect(merges).toBeGreaterThan(3);
  expect(segments.every((segment) => segment.graph)).toBe(true);

  let hits = 0;
  let asked = 0;
  for (let q = 0; q < 300; q++) {
    const query = clustered(500_000 + q);
    const expected = new Set(exactNearest(live, query, 10));
    hits += store.search(query, 10).filter((neighbour) => expected.has(neighbour.id)).length;
    asked += 10;
  }
  const recall = hits / asked;
  console.log(`recall@10 after churn: ${recall.toFixed(4)} over ${segments.length} segments (${merges} merges)`);
  expect(recall).toBeGreaterThanOrEqual(0.98);

  const missed = [...live].filter(([id, vector]) => store.search(vector, 1)[0]?.id !== id).map(([id]) => id);
  expect(missed).toEqual([]);
  await store.close();
}, 120_000);
