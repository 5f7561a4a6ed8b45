// Indexes written before segments (format 1) open and are converted; the read-only open reads either format and
// writes nothing.
import { describe, expect, test } from "bun:test";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { JournalWriter } from "../../src/store/journal.ts";
import { VectorStore } from "../../src/store/vector-store.ts";
import { tempDir } from "../helpers/environment.ts";
import { DIMENSIONS, distinct, PIPELINE } from "../helpers/store-vectors.ts";

/** Format 1 as the store before segments wrote it: snapshot 3 (ids 1..count) and journal 3 holding `changes`. */
async function writeFormat1(dir: string, count: number): Promise<void> {
  const bytes = new Uint8Array(16 + count * 4 * (1 + DIMENSIONS));
  const header = new DataView(bytes.buffer);
  header.setUint32(0, 0x56504946, true);
  header.setUint32(4, 1, true);
  header.setUint32(8, DIMENSIONS, true);
  header.setUint32(12, count, true);
  const ids = new Uint32Array(bytes.buffer, 16, count);
  const vectors = new Float32Array(bytes.buffer, 16 + count * 4, count * DIMENSIONS);
  for (let i = 0; i < count; i++) {
    ids[i] = i + 1;
    vectors.set(distinct(i + 1), i * DIMENSIONS);
  }
  await writeFile(join(dir, "vectors-00000003.bin"), bytes);
  await writeFile(join(dir, "index-00000003.usearch"), "format 1's graph, keyed by product id: not read");
  const manifest = {
    format: 1,
    pipeline: PIPELINE,
    dimensions: DIMENSIONS,
    metric: "l2sq",
    snapshot: 3,
    count,
    vectors: "vectors-00000003.bin",
    index: "index-00000003.usearch",
    vectorsCrc32: Bun.hash.crc32(bytes),
    savedAt: new Date().toISOString(),
  };
  await writeFile(join(dir, "manifest.json"), JSON.stringify(manifest));
  const journal = await JournalWriter.create(join(dir, "journal-00000003.log"));
  await journal.append([
    { op: "delete", id: 2 },
    { op: "put", id: 1, vector: distinct(1001) },
    { op: "put", id: count + 1, vector: distinct(count + 1) },
  ]);
  await journal.close();
}

const expectContents = (store: VectorStore, count: number) => {
  expect(store.count).toBe(count);
  expect(store.has(2)).toBe(false);
  expect(store.search(distinct(1001), 1)).toEqual([{ id: 1, distance: 0 }]);
  for (const id of [3, count, count + 1]) expect(store.search(distinct(id), 1)).toEqual([{ id, distance: 0 }]);
};

describe("an index of format 1", () => {
  test("opens with every vector and journalled change, is converted to segments, and its old files go", async () => {
    await using dir = await tempDir();
    await writeFormat1(dir.path, 40);
    const store = await VectorStore.open({ dataDir: dir.path, dimensions: DIMENSIONS, pipeline: PIPELINE, exactBelow: 10, sealWhenIdleMs: 0 });
    expectContents(store, 40);
    await store.idle(); // the converted segment gets its graph
    // Rewritten without the journal's deleted and replaced products (their current rows are in the mutable segment).
    expect(store.stats().segments).toEqual([{ rows: 38, live: 38, graph: true }]);
    expectContents(store, 40);
    await store.close();
    const names = await readdir(dir.path);
    expect(names.filter((name) => /^(?:vectors|index)-|journal-00000003/.test(name))).toEqual([]);
    expect(JSON.parse(await readFile(join(dir.path, "manifest.json"), "utf8")).format).toBe(2);

    const reopened = await VectorStore.open({ dataDir: dir.path, dimensions: DIMENSIONS, pipeline: PIPELINE });
    expectContents(reopened, 40);
    await reopened.close();
  });

  test("a crash during the conversion (before the new manifest) converts again at the next start", async () => {
    await using dir = await tempDir();
    await writeFormat1(dir.path, 40);
    // What a conversion that died before its manifest leaves: a segment file beside the untouched format-1 index.
    await writeFile(join(dir.path, "segment-00000005.vectors"), "half written");
    const store = await VectorStore.open({ dataDir: dir.path, dimensions: DIMENSIONS, pipeline: PIPELINE });
    expectContents(store, 40);
    await store.close();
  });

  test("opens read-only as it is, nothing converted", async () => {
    await using dir = await tempDir();
    await writeFormat1(dir.path, 40);
    const before = (await readdir(dir.path)).sort();
    const store = await VectorStore.openReadOnly({ dataDir: dir.path, dimensions: DIMENSIONS, pipeline: PIPELINE });
    expectContents(store, 40);
    await store.close();
    expect((await readdir(dir.path)).sort()).toEqual(before);
  });
});

describe("the read-only open", () => {
  test("searches an index a writer holds open, takes no lock, writes nothing, refuses changes", async () => {
    await using dir = await tempDir();
    const writer = await VectorStore.open({ dataDir: dir.path, dimensions: DIMENSIONS, pipeline: PIPELINE, sealSize: 4, mergeFactor: 2, exactBelow: 3 });
    for (let id = 1; id <= 21; id++) await writer.put(id, distinct(id));
    await writer.delete(5);
    const before = (await readdir(dir.path)).sort();
    const reader = await VectorStore.openReadOnly({ dataDir: dir.path, dimensions: DIMENSIONS, pipeline: PIPELINE });
    expect(reader.count).toBe(20);
    expect(reader.has(5)).toBe(false);
    for (const id of [1, 12, 21]) expect(reader.search(distinct(id), 1)).toEqual([{ id, distance: 0 }]);
    expect(reader.put(30, distinct(30))).rejects.toThrow(/read-only/);
    expect(reader.delete(1)).rejects.toThrow(/read-only/);
    await reader.close();
    await writer.idle();
    await writer.close();
    expect(before).toContain("LOCK");
  });

  test("of a DATA_DIR with no index is an empty store", async () => {
    await using dir = await tempDir();
    const reader = await VectorStore.openReadOnly({ dataDir: join(dir.path, "never-made"), dimensions: DIMENSIONS, pipeline: PIPELINE });
    expect([reader.count, reader.search(distinct(1), 3)]).toEqual([0, []]);
    await reader.close();
    expect(await readdir(dir.path)).toEqual([]);
  });
});
