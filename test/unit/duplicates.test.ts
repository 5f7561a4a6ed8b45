// Near-duplicate groups from a real store: connected components of "scores at least min_score", largest first, with
// the lowest score over every pair; and the finder that answers at once for a small index and with a task otherwise.
import { describe, expect, test } from "bun:test";
import { DuplicateFinder } from "../../src/similarity/duplicate-finder.ts";
import { findDuplicateGroups } from "../../src/similarity/duplicates.ts";
import { similarityScore } from "../../src/similarity/similarity.ts";
import { EmbeddedIndex } from "../../src/store/embedded-index.ts";
import { TaskRegistry } from "../../src/tasks/task-registry.ts";
import { TaskRunner } from "../../src/tasks/task-runner.ts";
import { tempDir, waitFor } from "../helpers/environment.ts";

const DIMENSIONS = 4;

/** A unit vector at `degrees` from the x axis in the x-y plane, or along z / w. Cosine of two in the plane = cos(angle). */
const inPlane = (degrees: number) => Float32Array.of(Math.cos((degrees * Math.PI) / 180), Math.sin((degrees * Math.PI) / 180), 0, 0);
const cosine = (degrees: number) => similarityScore(2 - 2 * Math.cos((degrees * Math.PI) / 180));

async function storeWith(vectors: Record<number, Float32Array>, dir: string) {
  const store = await EmbeddedIndex.open({ dataDir: dir, dimensions: DIMENSIONS, pipeline: "test" });
  for (const [id, vector] of Object.entries(vectors)) await store.put(Number(id), vector);
  return store;
}

describe("findDuplicateGroups", () => {
  test("joins pairs at or above the threshold into connected components, largest first, with the lowest pair score", async () => {
    await using dir = await tempDir("fip-duplicates-");
    const store = await storeWith(
      {
        // A chain 1 ~ 2 ~ 3 (5 degrees apart, cos 0.9962), 1 and 3 10 degrees apart (cos 0.9848): one group.
        1: inPlane(0),
        2: inPlane(5),
        3: inPlane(10),
        // An exact pair, far from the chain.
        7: Float32Array.of(0, 0, 1, 0),
        8: Float32Array.of(0, 0, 1, 0),
        // Alone: its nearest is 3 at 30 degrees (cos 0.866).
        9: inPlane(40),
      },
      dir.path,
    );
    try {
      const progress: number[] = [];
      const groups = await findDuplicateGroups(store, 0.99, { onProgress: (done) => progress.push(done) });
      expect(groups).toEqual([
        { product_ids: [1, 2, 3], lowest_score: cosine(10) },
        { product_ids: [7, 8], lowest_score: 1 },
      ]);
      expect(progress.at(-1)).toBe(6);
      // Above the chain's links, only the exact pair is left.
      expect(await findDuplicateGroups(store, 0.999)).toEqual([{ product_ids: [7, 8], lowest_score: 1 }]);
      // Low enough, 9 joins the chain.
      expect((await findDuplicateGroups(store, 0.85))[0]).toEqual({ product_ids: [1, 2, 3, 9], lowest_score: cosine(40) });
    } finally {
      await store.close();
    }
  });

  test("a product with more duplicates than neighbours asked is still grouped with all of them", async () => {
    await using dir = await tempDir("fip-duplicates-");
    const same = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [i + 1, Float32Array.of(0, 1, 0, 0)]));
    const store = await storeWith(same, dir.path);
    try {
      expect(await findDuplicateGroups(store, 0.98, { neighbours: 3 })).toEqual([
        { product_ids: Array.from({ length: 12 }, (_, i) => i + 1), lowest_score: 1 },
      ]);
    } finally {
      await store.close();
    }
  });
});

describe("DuplicateFinder", () => {
  test("answers a small index at once, reuses the result while the index is unchanged, and searches again after a change", async () => {
    await using dir = await tempDir("fip-duplicates-");
    const store = await storeWith({ 1: inPlane(0), 2: inPlane(0), 3: inPlane(60) }, dir.path);
    const registry = new TaskRegistry();
    const runner = new TaskRunner(registry, { concurrency: 1 });
    try {
      const finder = new DuplicateFinder({ store, runner, registry });
      const first = await finder.find(0.98);
      expect(first).toMatchObject({ state: "ready", report: { groups: [{ product_ids: [1, 2], lowest_score: 1 }], productsScanned: 3 } });
      // The same report object: not searched again.
      const reportOf = (answer: Awaited<ReturnType<DuplicateFinder["find"]>>) => (answer.state === "ready" ? answer.report : null);
      expect(reportOf(await finder.find(0.98))).toBe(reportOf(first)!);
      await store.put(3, inPlane(0));
      expect(await finder.find(0.98)).toMatchObject({ state: "ready", report: { groups: [{ product_ids: [1, 2, 3] }] } });
    } finally {
      await runner.shutdown(1000);
      await store.close();
    }
  });

  test("a large index is searched by a find_duplicates task with progress; asking again after it answers from its result", async () => {
    await using dir = await tempDir("fip-duplicates-");
    const store = await storeWith({ 1: inPlane(0), 2: inPlane(0), 3: inPlane(60), 4: inPlane(61) }, dir.path);
    const registry = new TaskRegistry();
    const runner = new TaskRunner(registry, { concurrency: 1 });
    try {
      const finder = new DuplicateFinder({ store, runner, registry, inlineLimit: 2 });
      const answer = await finder.find(0.98);
      if (answer.state !== "pending") throw new Error("expected a task");
      expect(answer.task.kind).toBe("find_duplicates");
      // Asked again while it runs: the same task, not a second one.
      const again = await finder.find(0.98);
      expect(again.state === "pending" && again.task.task_id).toBe(answer.task.task_id);
      const done = await waitFor(() => (registry.get(answer.task.task_id)?.status === "succeeded" ? registry.get(answer.task.task_id) : undefined), {
        what: "the find_duplicates task",
      });
      expect(done!.progress).toEqual({ total: 4, done: 4, failed: 0 });
      expect(await finder.find(0.98)).toMatchObject({
        state: "ready",
        report: { groups: [{ product_ids: [1, 2], lowest_score: 1 }, { product_ids: [3, 4], lowest_score: cosine(1) }] },
      });
    } finally {
      await runner.shutdown(1000);
      await store.close();
    }
  });
});
