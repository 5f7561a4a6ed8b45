// The index contract (test/helpers/index-contract.ts) run on the embedded store twice: with the service's segment
// sizes, and with tiny ones so that seals and merges happen in every test; then what only the embedded store has.
import { afterEach, describe, expect, test } from "bun:test";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { EmbeddedIndex } from "../../src/store/embedded-index.ts";
import { levelOf } from "../../src/store/merge-policy.ts";
import { type StoreOptions, StoreError, VectorStore } from "../../src/store/vector-store.ts";
import { describeIndexContract } from "../helpers/index-contract.ts";
import { eventLoopNice, threadPriorities } from "../helpers/thread-priorities.ts";
import { BULK_THREAD_NICE, SEARCH_THREAD_NICE } from "../../src/runtime/thread-priority.ts";
import { SEARCH_THREAD_NAME } from "../../src/store/search-threads.ts";
import { tempDir, waitFor } from "../helpers/environment.ts";
import { copyAsCrash, distinct, DIMENSIONS, PIPELINE, unit } from "../helpers/store-vectors.ts";

const TINY: Partial<StoreOptions> = { sealSize: 4, mergeFactor: 2, exactBelow: 3 };

/** Until every search thread has started and answered. */
async function searchThreadsReady(store: VectorStore): Promise<void> {
  const ready = () => {
    const { searchThreads, searchThreadsReady } = store.stats();
    return searchThreadsReady > 0 && searchThreadsReady === searchThreads;
  };
  await waitFor(() => (ready() ? true : undefined), { timeoutMs: 5_000, what: "the search threads to start" });
}

/** Overlapping searches start the search threads; later ones go to them once they are ready. */
async function startSearchThreads(store: VectorStore): Promise<void> {
  await Promise.all([store.nearest(distinct(1), 1), store.nearest(distinct(2), 1)]);
  await searchThreadsReady(store);
}

for (const [name, sizes] of [
  ["the service's segment sizes", {}],
  ["tiny segments (a merge in every test)", TINY],
] as const) {
  let merges = 0;
  const opened: EmbeddedIndex[] = [];
  describeIndexContract(`the embedded store with ${name}`, {
    fresh: () => tempDir().then((dir) => ({ place: dir.path, [Symbol.asyncDispose]: dir[Symbol.asyncDispose] })),
    async open(dataDir, options) {
      const index = await EmbeddedIndex.open({ dataDir, dimensions: DIMENSIONS, pipeline: PIPELINE, ...sizes, ...options });
      opened.push(index);
      return index;
    },
    settle: (index) => (index as EmbeddedIndex).store.idle(),
    afterEach() {
      for (const index of opened.splice(0)) merges += index.store.stats().merges;
      if (sizes === TINY) expect(merges).toBeGreaterThan(0);
      merges = 0;
    },
  });
}

/** What only the embedded store has: its journal and files, crashes in the middle, the DATA_DIR's pipeline. */
describe("VectorStore durability", () => {
  const stores: VectorStore[] = [];
  const open = async (dataDir: string, options: Partial<StoreOptions> = {}) => {
    const store = await VectorStore.open({ dataDir, dimensions: DIMENSIONS, pipeline: PIPELINE, ...TINY, ...options });
    stores.push(store);
    return store;
  };
  const settleAndClose = async (store: VectorStore) => {
    await store.idle();
    await store.close();
  };
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
  });

  test("every acknowledged change survives a crash (no close), through the journal", async () => {
    await using dir = await tempDir();
    await using copy = await tempDir();
    const crashed = await open(dir.path);
    await Promise.all(Array.from({ length: 20 }, (_, i) => crashed.put(i + 1, distinct(i + 1))));
    for (let id = 21; id <= 40; id++) await crashed.put(id, distinct(id));
    await crashed.delete(3);
    // As if the process died right after the changes were acknowledged: the copy holds what is on disk.
    await copyAsCrash(dir.path, copy.path);
    const reopened = await open(copy.path);
    expect(reopened.count).toBe(39);
    expect(reopened.has(3)).toBe(false);
    expect(reopened.search(distinct(17), 1)).toEqual([{ id: 17, distance: 0 }]);
    await settleAndClose(reopened);
    await settleAndClose(crashed);
  });

  test("an answer decided by a change still in flight waits until that change is on disk", async () => {
    await using dir = await tempDir();
    await using copy = await tempDir();
    const store = await open(dir.path);
    for (let id = 10; id < 20; id++) await store.put(id, distinct(id));
    const older = store.takeSequence();
    const newer = store.put(2, distinct(2), store.takeSequence());
    expect(await store.put(2, distinct(3), older)).toEqual({ applied: false });
    await store.put(1, distinct(1));
    const firstDelete = store.delete(1);
    expect(await store.delete(1)).toEqual({ applied: true, existed: false });
    // As if the process died right now: the copy holds what is on disk.
    await copyAsCrash(dir.path, copy.path);
    const crashed = await open(copy.path);
    expect([crashed.has(2), crashed.has(1)]).toEqual([true, false]);
    await Promise.all([newer, firstDelete]);
    await settleAndClose(crashed);
    await settleAndClose(store);
  });

  test("refuses an index made by another pipeline", async () => {
    await using dir = await tempDir();
    const store = await open(dir.path);
    for (let id = 1; id <= 10; id++) await store.put(id, distinct(id));
    await store.close();
    await expect(open(dir.path, { pipeline: "another-pipeline/v2" })).rejects.toThrow(StoreError);
  });
});

describe("VectorStore segments", () => {
  const open = (dataDir: string, options: Partial<StoreOptions> = {}) =>
    VectorStore.open({ dataDir, dimensions: DIMENSIONS, pipeline: PIPELINE, ...TINY, sealWhenIdleMs: 0, ...options });

  /** 100 products in sealed segments with graphs (and a few in memory), settled: what the search threads search. */
  async function openWithSegments(dataDir: string, options: Partial<StoreOptions> = {}): Promise<VectorStore> {
    const store = await open(dataDir, { sealSize: 16, exactBelow: 8, ...options });
    for (let id = 1; id <= 100; id++) await store.put(id, distinct(id));
    await store.idle();
    return store;
  }

  test("a store at rest seals its recent changes, so it is searched through graphs", async () => {
    await using dir = await tempDir();
    const store = await open(dir.path, { sealSize: 1000, exactBelow: 2, sealWhenIdleMs: 50 });
    for (let id = 1; id <= 5; id++) await store.put(id, distinct(id));
    await store.delete(2);
    await waitFor(() => (store.stats().seals === 1 ? true : undefined), { timeoutMs: 10_000, what: "the idle seal" });
    expect(store.stats()).toMatchObject({ segments: [{ rows: 4, live: 4, graph: true }], mutableRows: 0 });
    for (const id of [1, 3, 4, 5]) expect(store.search(distinct(id), 1)).toEqual([{ id, distance: 0 }]);
    await store.close();
    const reopened = await open(dir.path);
    expect(reopened.listIds(0, 10).ids).toEqual([1, 3, 4, 5]);
    await reopened.close();
  });

  test("the sealed segments are searched on the search threads, with the same answers, while changes go on", async () => {
    await using dir = await tempDir();
    const store = await openWithSegments(dir.path);
    expect(store.stats().segments.length).toBeGreaterThan(0);
    await startSearchThreads(store);
    const queries = Array.from({ length: 40 }, (_, i) => distinct(500 + i));
    const pending = queries.map((query) => store.nearest(query, 5));
    // Changes made while the threads search: the answers must reflect them, as a search made afterwards does.
    const changes = [store.put(7, distinct(501)), store.delete(8), store.put(101, distinct(502))];
    const answers = await Promise.all(pending);
    await Promise.all(changes);
    expect(answers).toEqual(queries.map((query) => store.search(query, 5)));
    expect(store.stats().searchesOnThreads).toBe(queries.length - 1); // the first, alone when it came, ran here
    await store.close();
  });

  test("searches that overlap go to the threads in batches, each answered as if alone", async () => {
    await using dir = await tempDir();
    const store = await openWithSegments(dir.path);
    await startSearchThreads(store);
    const queries = Array.from({ length: 40 }, (_, i) => distinct(500 + i));
    // Two sizes of answer: a batch holds one k, so each search explores as much as it would alone.
    const answers = await Promise.all(queries.map((query, i) => store.nearest(query, i % 2 === 0 ? 3 : 7)));
    expect(answers).toEqual(queries.map((query, i) => store.search(query, i % 2 === 0 ? 3 : 7)));
    const { searchesOnThreads, batchesOnThreads } = store.stats();
    expect(searchesOnThreads).toBe(queries.length - 1);
    expect(batchesOnThreads).toBeGreaterThanOrEqual(2); // the two sizes never share one
    expect(batchesOnThreads).toBeLessThan(searchesOnThreads / 2);
    await store.close();
  });

  test("the search threads run below the event loop and above bulk work", async () => {
    await using dir = await tempDir();
    const store = await openWithSegments(dir.path);
    await startSearchThreads(store);
    const search = threadPriorities().filter(({ name }) => name === SEARCH_THREAD_NAME);
    expect(search).toHaveLength(store.stats().searchThreads);
    expect(search.map(({ nice }) => nice)).toEqual(search.map(() => SEARCH_THREAD_NICE));
    expect(eventLoopNice()).toBeLessThan(SEARCH_THREAD_NICE);
    expect(SEARCH_THREAD_NICE).toBeLessThan(BULK_THREAD_NICE);
    await store.close();
  });

  test("an idle search thread stops; searches that come while the threads start again are answered here meanwhile", async () => {
    await using dir = await tempDir();
    // Long enough an idle time for the test to see the threads ready before they stop again.
    const store = await openWithSegments(dir.path, { searchThreadIdleMs: 500 });
    const queries = Array.from({ length: 8 }, (_, i) => distinct(500 + i));
    const expected = queries.map((query) => store.search(query, 5));
    let onThreads = 0;
    for (let round = 0; round < 2; round++) {
      // Threads stopped: starting one maps every segment (~0.5 s on a million products), so these overlapping
      // searches do not wait for that; they are answered on this thread while the threads start.
      expect(await Promise.all(queries.map((query) => store.nearest(query, 5)))).toEqual(expected);
      expect(store.stats().searchesOnThreads).toBe(onThreads);
      await searchThreadsReady(store);
      // Started: all but the first of overlapping searches go to them.
      expect(await Promise.all(queries.map((query) => store.nearest(query, 5)))).toEqual(expected);
      onThreads += queries.length - 1;
      expect(store.stats().searchesOnThreads).toBe(onThreads);
      await waitFor(() => (store.stats().searchThreadsRunning === 0 ? true : undefined), { timeoutMs: 5_000, what: "idle threads to stop" });
      expect(store.stats().searchThreadsReady).toBe(0);
    }
    await store.close();
  });

  test("scores are exact float32 distances, whether a segment is searched through its f16 graph or scanned", async () => {
    await using dir = await tempDir();
    const store = await open(dir.path, { sealSize: 1000, exactBelow: 2, sealWhenIdleMs: 50 });
    const query = distinct(1000);
    const exactDistance = (id: number) => distinct(id).reduce((sum, v, k) => sum + (v - query[k]!) ** 2, 0);
    for (let id = 1; id <= 40; id++) await store.put(id, distinct(id));
    const scanned = store.search(query, 5);
    await waitFor(() => (store.stats().seals === 1 ? true : undefined), { timeoutMs: 10_000, what: "the idle seal" });
    expect(store.stats().segments[0]?.graph).toBe(true);
    const throughGraph = store.search(query, 5);
    expect(throughGraph).toEqual(scanned);
    for (const { id, distance } of throughGraph) expect(distance).toBeCloseTo(exactDistance(id), 6);
    await store.close();
  });

  test("an index at rest merges each run of one level below the top into one segment, one run after another", async () => {
    await using dir = await tempDir();
    const sizes = { sealSize: 4, mergeFactor: 4, exactBelow: 3 };
    const levels = (store: VectorStore) => store.stats().segments.map((segment) => levelOf(segment.live, { sealSize: 4, factor: 4 }));
    const writing = await open(dir.path, sizes);
    let products = 0;
    while (products < 200) await writing.put(++products, distinct(products));
    await writing.idle();
    // Seals of 4-5 changes merged by fours: two segments of level 2, at least two of level 1; and one of level 0.
    while (!levels(writing).includes(0)) {
      while (writing.stats().mutableRows > 0) await writing.put(++products, distinct(products));
      await writing.idle();
    }
    const before = writing.stats().segments;
    expect(levels(writing).filter((level) => level === 1).length).toBeGreaterThanOrEqual(2);
    const queries = Array.from({ length: 10 }, (_, i) => distinct(300 + i));
    const answers = queries.map((query) => writing.search(query, 5));
    await writing.close();

    const resting = await open(dir.path, { ...sizes, sealWhenIdleMs: 50 });
    // One more change, sealed at rest: a second run, of level 0, to merge before the one of level 1.
    await resting.put(++products, distinct(products));
    answers.forEach((answer, q) => expect(resting.search(queries[q]!, 5)).toEqual(answer));
    const settled = () => levels(resting).filter((level) => level === 1).length === 1 && resting.stats().mutableRows === 0;
    await waitFor(() => (settled() ? true : undefined), { timeoutMs: 10_000, what: "the merges at rest" });
    await resting.idle();
    const after = levels(resting);
    expect(after.filter((level) => level === 2).length).toBe(2);
    expect(resting.stats().segments.slice(0, 2)).toEqual(before.slice(0, 2)); // the top level is not rewritten
    expect(after.filter((level) => level === 1).length).toBe(1);
    expect(after.filter((level) => level === 0).length).toBeLessThanOrEqual(1);
    expect(resting.count).toBe(products);
    expect(queries.map((query) => resting.search(query, 5))).toEqual(answers);
    await resting.close();
  });

  test("once merges are done the directory holds the manifest's segments, one journal and nothing else", async () => {
    await using dir = await tempDir();
    const store = await open(dir.path);
    for (let id = 1; id <= 35; id++) await store.put(id, distinct(id));
    await store.idle();
    const manifest = JSON.parse(await readFile(join(dir.path, "manifest.json"), "utf8"));
    const segmentFiles = manifest.segments.flatMap((segment: { number: number; hasGraph: boolean }) => {
      const name = `segment-${String(segment.number).padStart(8, "0")}`;
      return segment.hasGraph ? [`${name}.usearch`, `${name}.vectors`] : [`${name}.vectors`];
    });
    const journal = `journal-${String(manifest.journal).padStart(8, "0")}.log`;
    expect((await readdir(dir.path)).sort()).toEqual(["LOCK", journal, "manifest.json", ...segmentFiles].sort());
    expect(store.stats().segments.length).toBeLessThanOrEqual(4); // 35 products in segments of 4, merged by twos
    expect(store.stats().merges).toBeGreaterThan(0);
    await store.close();
    const reopened = await open(dir.path);
    expect(reopened.count).toBe(35);
    await reopened.close();
  });

  test("files left by a seal or merge that crashed before its manifest are ignored and removed", async () => {
    await using dir = await tempDir();
    const store = await open(dir.path);
    for (let id = 1; id <= 9; id++) await store.put(id, distinct(id));
    await store.idle();
    await store.close();
    for (const name of ["segment-00009999.vectors", "segment-00009999.usearch", "vectors-00000001.bin", "journal-00000000.log", "manifest.json.abc.tmp"]) {
      await writeFile(join(dir.path, name), "half written");
    }
    const reopened = await open(dir.path);
    expect(reopened.count).toBe(9);
    expect((await readdir(dir.path)).filter((name) => /9999|00000001\.bin|00000000|\.tmp$/.test(name))).toEqual([]);
    await reopened.close();
  });

  test("a lost or damaged graph file: that segment is searched exactly, then rewritten with a new graph", async () => {
    await using dir = await tempDir();
    const store = await open(dir.path, { sealSize: 8, mergeFactor: 100 });
    for (let id = 1; id <= 8; id++) await store.put(id, distinct(id));
    await store.idle();
    await store.close();
    const graph = (await readdir(dir.path)).find((name) => name.endsWith(".usearch"))!;
    await writeFile(join(dir.path, graph), "garbage");
    const reopened = await open(dir.path, { sealSize: 8, mergeFactor: 100 });
    for (let id = 1; id <= 8; id++) expect(reopened.search(distinct(id), 1)).toEqual([{ id, distance: 0 }]);
    await reopened.idle();
    expect(reopened.stats()).toMatchObject({ segments: [{ rows: 8, live: 8, graph: true }], merges: 1 });
    for (let id = 1; id <= 8; id++) expect(reopened.search(distinct(id), 1)).toEqual([{ id, distance: 0 }]);
    await reopened.close();
  });

  test("a segment whose ids are damaged is reported at open, not silently used", async () => {
    await using dir = await tempDir();
    const store = await open(dir.path, { sealSize: 4, mergeFactor: 100 });
    for (let id = 1; id <= 4; id++) await store.put(id, distinct(id));
    await store.idle();
    await store.close();
    const file = join(dir.path, (await readdir(dir.path)).find((name) => name.endsWith(".vectors"))!);
    const bytes = await readFile(file);
    bytes[bytes.length - 40]! ^= 0xff; // inside the ids, before the 32-byte footer
    await writeFile(file, bytes);
    expect(open(dir.path)).rejects.toThrow(/corrupt \(checksum of its ids\)/);
  });

  test("a segment whose vectors are damaged is reported by the merge that reads them, and left as it is", async () => {
    await using dir = await tempDir();
    const store = await open(dir.path, { sealSize: 4, mergeFactor: 100 });
    for (let id = 1; id <= 4; id++) await store.put(id, distinct(id));
    await store.idle();
    await store.close();
    const file = join(dir.path, (await readdir(dir.path)).find((name) => name.endsWith(".vectors"))!);
    const bytes = await readFile(file);
    bytes[5]! ^= 0xff;
    await writeFile(file, bytes);
    const warnings: string[] = [];
    const reopened = await open(dir.path, { sealSize: 4, mergeFactor: 2, warn: (message) => warnings.push(message) });
    for (let id = 5; id <= 8; id++) await reopened.put(id, distinct(id));
    await reopened.idle();
    expect(warnings.join("\n")).toContain("corrupt (checksum of its vectors)");
    expect(reopened.count).toBe(8);
    await reopened.close();
  });
});
