import { describe, expect, test } from "bun:test";
import { ExactSearch } from "../../src/store/exact-search.ts";
import { VectorStore } from "../../src/store/vector-store.ts";
import { tempDir } from "../helpers/environment.ts";

const DIMENSIONS = 16;

/** A unit vector of its own for every seed. */
function vectorOf(seed: number): Float32Array {
  const vector = Float32Array.from({ length: DIMENSIONS }, (_, k) => Math.abs(Math.sin(seed * 12.9898 + k * 78.233)));
  const norm = Math.hypot(...vector);
  return vector.map((v) => v / norm);
}

/** The k nearest by brute force over `live`, nearest first (ties by id), squared L2 distances. */
function bruteForce(live: Map<number, Float32Array>, query: Float32Array, k: number) {
  return [...live]
    .map(([id, vector]) => ({ id, distance: vector.reduce((sum, v, i) => sum + (v - query[i]!) ** 2, 0) }))
    .sort((a, b) => a.distance - b.distance || a.id - b.id)
    .slice(0, k);
}

function expectSameNeighbours(actual: { id: number; distance: number }[], expected: { id: number; distance: number }[]) {
  expect(actual.map((n) => n.id)).toEqual(expected.map((n) => n.id));
  actual.forEach((n, i) => expect(n.distance).toBeCloseTo(expected[i]!.distance, 5));
}

/** A deterministic mix of puts, replacements and deletions over ids 1..60, checked against `live` after each step. */
function* changes(steps: number): Generator<{ op: "put"; id: number; vector: Float32Array } | { op: "delete"; id: number }> {
  for (let step = 0; step < steps; step++) {
    const id = 1 + ((step * 37) % 60);
    if (step % 3 === 2) yield { op: "delete", id };
    else yield { op: "put", id, vector: vectorOf(step * 1000 + id) };
  }
}

describe("ExactSearch", () => {
  test("stays equal to a brute-force search through puts, replacements and deletions", () => {
    const exact = new ExactSearch(DIMENSIONS);
    const live = new Map<number, Float32Array>();
    for (const change of changes(400)) {
      if (change.op === "put") {
        exact.set(change.id, change.vector);
        live.set(change.id, change.vector);
      } else {
        exact.delete(change.id);
        live.delete(change.id);
      }
      expect(exact.size).toBe(live.size);
      if (live.size === 0) continue;
      const query = vectorOf(change.id + 0.5);
      const k = Math.min(5, live.size);
      expectSameNeighbours(exact.search(query, k), bruteForce(live, query, k));
    }
  });

  test("a query that is a view into a larger buffer is read at its own offset", () => {
    const exact = new ExactSearch(DIMENSIONS);
    exact.set(1, vectorOf(1));
    exact.set(2, vectorOf(2));
    const shared = new Float32Array(DIMENSIONS * 2);
    shared.set(vectorOf(2), DIMENSIONS);
    expect(exact.search(shared.subarray(DIMENSIONS), 1)).toEqual([{ id: 2, distance: 0 }]);
  });
});

describe("the store's exact search", () => {
  test("is built once, then kept up to date in place: no rebuild after put, replace or delete", async () => {
    await using dir = await tempDir();
    const store = await VectorStore.open({ dataDir: dir.path, dimensions: DIMENSIONS, pipeline: "test/v1" });
    const live = new Map<number, Float32Array>();
    for (let id = 1; id <= 30; id++) {
      live.set(id, vectorOf(id));
      await store.put(id, live.get(id)!);
    }
    expectSameNeighbours(store.search(vectorOf(7), 4), bruteForce(live, vectorOf(7), 4));
    expect(store.exactSearchBuilds).toBe(1);
    for (const change of changes(120)) {
      if (change.op === "put") {
        live.set(change.id, change.vector);
        await store.put(change.id, change.vector);
      } else {
        live.delete(change.id);
        await store.delete(change.id);
      }
      const query = vectorOf(change.id + 0.25);
      expectSameNeighbours(store.search(query, 6), bruteForce(live, query, 6));
    }
    expect(store.exactSearchBuilds).toBe(1);
    // Every stored vector finds itself first.
    for (const [id, vector] of live) expect(store.search(vector, 1)).toEqual([{ id, distance: 0 }]);
    await store.close();
  });

  test("past the exact-search limit the copy is dropped, and rebuilt once when the store shrinks back", async () => {
    await using dir = await tempDir();
    const store = await VectorStore.open({ dataDir: dir.path, dimensions: DIMENSIONS, pipeline: "test/v1", exactSearchLimit: 3 });
    for (const id of [1, 2, 3]) await store.put(id, vectorOf(id));
    expect(store.search(vectorOf(2), 1)).toEqual([{ id: 2, distance: 0 }]);
    await store.put(4, vectorOf(4));
    expect(store.search(vectorOf(4), 1)).toEqual([{ id: 4, distance: 0 }]); // the HNSW graph answers
    await store.delete(1);
    expect(store.search(vectorOf(3), 1)).toEqual([{ id: 3, distance: 0 }]);
    expect(store.exactSearchBuilds).toBe(2);
    await store.close();
  });
});
