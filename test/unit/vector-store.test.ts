import { describe, expect, test } from "bun:test";
import { cp, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { StoreError, VectorStore } from "../../src/store/vector-store.ts";
import { tempDir } from "../helpers/environment.ts";

const DIMENSIONS = 8;
const PIPELINE = "test-pipeline/v1";

function unit(index: number, weight = 1): Float32Array {
  const vector = new Float32Array(DIMENSIONS);
  vector[index % DIMENSIONS] = weight;
  vector[(index + 1) % DIMENSIONS] = 1 - weight;
  const norm = Math.hypot(...vector);
  return vector.map((v) => v / norm);
}

/** A vector of its own for every id. */
function distinct(id: number): Float32Array {
  const vector = Float32Array.from({ length: DIMENSIONS }, (_, k) => Math.abs(Math.sin(id * (k + 1.3))));
  const norm = Math.hypot(...vector);
  return vector.map((v) => v / norm);
}

const openStore = (dataDir: string, pipeline = PIPELINE) =>
  VectorStore.open({ dataDir, dimensions: DIMENSIONS, pipeline });

describe("VectorStore", () => {
  test("stores, finds nearest first, lists ascending and deletes", async () => {
    await using dir = await tempDir();
    const store = await openStore(dir.path);
    await Promise.all([store.put(30, unit(0)), store.put(10, unit(0, 0.9)), store.put(20, unit(3))]);
    expect(store.count).toBe(3);
    expect(store.listIds(0, 10)).toEqual({ ids: [10, 20, 30], total: 3 });
    expect(store.listIds(1, 1)).toEqual({ ids: [20], total: 3 });
    expect(store.search(unit(0), 2).map((n) => n.id)).toEqual([30, 10]);
    expect(store.search(unit(0), 1)[0]!.distance).toBe(0);
    expect(await store.delete(30)).toEqual({ applied: true, existed: true });
    expect(await store.delete(30)).toEqual({ applied: true, existed: false });
    expect(store.has(30)).toBe(false);
    expect(store.search(unit(0), 5).map((n) => n.id)).toEqual([10, 20]);
    await store.close();
  });

  test("after many replacements and deletions every stored vector is still found, itself first", async () => {
    await using dir = await tempDir();
    const dimensions = 256;
    const store = await VectorStore.open({ dataDir: dir.path, dimensions, pipeline: PIPELINE });
    const random = (seed: number) => {
      const vector = Float32Array.from({ length: dimensions }, (_, k) => Math.abs(Math.sin(seed * 12.9898 + k * 78.233)));
      return vector.map((v) => v / Math.hypot(...vector));
    };
    const live = new Map<number, Float32Array>();
    for (let id = 1; id <= 150; id++) live.set(id, random(id));
    await Promise.all([...live].map(([id, vector]) => store.put(id, vector)));
    for (let round = 0; round < 3; round++) {
      for (let id = 1 + round; id <= 150; id += 4) {
        await store.delete(id);
        live.delete(id);
      }
      for (let id = 2 + round; id <= 150; id += 5) {
        live.set(id, random(id * 1000 + round));
        await store.put(id, live.get(id)!);
      }
    }
    expect(store.search(random(1), 1000).map((n) => n.id).sort((a, b) => a - b)).toEqual([...live.keys()].sort((a, b) => a - b));
    for (const [id, vector] of live) expect(store.search(vector, 3)[0]).toEqual({ id, distance: 0 });
    await store.close();
  });

  test("beyond the exact-search limit the HNSW graph answers", async () => {
    await using dir = await tempDir();
    const store = await VectorStore.open({ dataDir: dir.path, dimensions: DIMENSIONS, pipeline: PIPELINE, exactSearchLimit: 2 });
    await Promise.all([1, 2, 3, 4].map((id) => store.put(id, distinct(id))));
    expect(store.search(distinct(3), 1)).toEqual([{ id: 3, distance: 0 }]);
    await store.close();
  });

  test("a product never has two vectors: put replaces", async () => {
    await using dir = await tempDir();
    const store = await openStore(dir.path);
    await store.put(1, unit(0));
    await store.put(1, unit(4));
    await Promise.all([store.put(1, unit(5)), store.put(1, unit(5))]);
    expect(store.count).toBe(1);
    expect(store.search(unit(5), 10)).toEqual([{ id: 1, distance: 0 }]);
    await store.close();
  });

  test("reopening gives back every vector, memory-mapped, and stays writable", async () => {
    await using dir = await tempDir();
    const first = await openStore(dir.path);
    for (let id = 1; id <= 50; id++) await first.put(id, distinct(id));
    await first.delete(7);
    await first.close();

    const second = await openStore(dir.path);
    expect(second.listIds(0, 100).total).toBe(49);
    expect(second.has(7)).toBe(false);
    expect([...second.vectorOf(12)!]).toEqual([...distinct(12)]);
    expect(second.search(distinct(12), 1)[0]).toEqual({ id: 12, distance: 0 });
    // Stored vectors come back as views into the file's buffer; searching with one must work too.
    expect(second.search(second.vectorOf(12)!, 1)[0]).toEqual({ id: 12, distance: 0 });
    await second.put(100, unit(2));
    await second.close();

    const third = await openStore(dir.path);
    expect(third.count).toBe(50);
    expect(third.has(100)).toBe(true);
    await third.close();
  });

  test("every acknowledged change survives a crash (no close), through the journal", async () => {
    await using dir = await tempDir();
    await using copy = await tempDir();
    const crashed = await openStore(dir.path);
    await Promise.all(Array.from({ length: 40 }, (_, i) => crashed.put(i + 1, distinct(i + 1))));
    await crashed.delete(3);
    // As if the process died right after the changes were acknowledged: the copy holds what is on disk.
    await cp(dir.path, copy.path, { recursive: true });
    const reopened = await openStore(copy.path);
    expect(reopened.count).toBe(39);
    expect(reopened.has(3)).toBe(false);
    expect(reopened.search(distinct(17), 1)).toEqual([{ id: 17, distance: 0 }]);
    await Promise.all([reopened.close(), crashed.close()]);
  });

  test("an answer decided by a change still in flight waits until that change is on disk", async () => {
    await using dir = await tempDir();
    await using copy = await tempDir();
    const store = await openStore(dir.path);
    const older = store.takeSequence();
    const newer = store.put(2, distinct(2), store.takeSequence());
    expect(await store.put(2, distinct(3), older)).toEqual({ applied: false });
    await store.put(1, distinct(1));
    const firstDelete = store.delete(1);
    expect(await store.delete(1)).toEqual({ applied: true, existed: false });
    // As if the process died right now: the copy holds what is on disk.
    await cp(dir.path, copy.path, { recursive: true });
    const crashed = await openStore(copy.path);
    expect([crashed.has(2), crashed.has(1)]).toEqual([true, false]);
    await Promise.all([newer, firstDelete, crashed.close(), store.close()]);
  });

  test("snapshots replace the journal as it grows, and old files are removed", async () => {
    await using dir = await tempDir();
    const store = await VectorStore.open({ dataDir: dir.path, dimensions: DIMENSIONS, pipeline: PIPELINE, snapshotAfter: 10 });
    for (let id = 1; id <= 35; id++) await store.put(id, distinct(id));
    const manifest = JSON.parse(await readFile(join(dir.path, "manifest.json"), "utf8"));
    expect(manifest.count).toBeGreaterThanOrEqual(30);
    const suffix = String(manifest.snapshot).padStart(8, "0");
    expect((await readdir(dir.path)).sort()).toEqual(
      ["LOCK", `index-${suffix}.usearch`, `journal-${suffix}.log`, "manifest.json", `vectors-${suffix}.bin`],
    );
    await store.close();
    const reopened = await openStore(dir.path);
    expect(reopened.count).toBe(35);
    await reopened.close();
  });

  test("a change requested earlier never overwrites one requested later", async () => {
    await using dir = await tempDir();
    const store = await openStore(dir.path);
    const early = store.takeSequence();
    const late = store.takeSequence();
    expect(await store.delete(5, late)).toEqual({ applied: true, existed: false });
    expect(await store.put(5, unit(1), early)).toEqual({ applied: false });
    expect(store.has(5)).toBe(false);
    const later = store.takeSequence();
    expect(await store.put(5, unit(1), later)).toEqual({ applied: true });
    expect(store.has(5)).toBe(true);
    await store.close();
  });

  test("files left by a save that crashed before its manifest are ignored and removed", async () => {
    await using dir = await tempDir();
    const store = await openStore(dir.path);
    await store.put(1, unit(1));
    await store.close();
    await writeFile(join(dir.path, "vectors-00000099.bin"), "half written");
    await writeFile(join(dir.path, "index-00000099.usearch"), "half written");
    await writeFile(join(dir.path, "vectors-00000000.bin"), "an old snapshot");
    await writeFile(join(dir.path, "manifest.json.abc.tmp"), "{");
    const reopened = await openStore(dir.path);
    expect(reopened.listIds(0, 10)).toEqual({ ids: [1], total: 1 });
    expect((await readdir(dir.path)).filter((name) => /99|00000000|\.tmp$/.test(name))).toEqual([]);
    await reopened.close();
  });

  test("a lost or damaged graph file is rebuilt from the vectors", async () => {
    await using dir = await tempDir();
    const store = await openStore(dir.path);
    await Promise.all([store.put(1, unit(1)), store.put(2, unit(2))]);
    await store.close();
    const indexFile = (await readdir(dir.path)).find((name) => name.endsWith(".usearch"))!;
    await writeFile(join(dir.path, indexFile), "garbage");
    const reopened = await VectorStore.open({ dataDir: dir.path, dimensions: DIMENSIONS, pipeline: PIPELINE, exactSearchLimit: 0 });
    expect(reopened.search(unit(2), 1)).toEqual([{ id: 2, distance: 0 }]);
    expect(reopened.search(unit(1), 1)).toEqual([{ id: 1, distance: 0 }]);
    await reopened.close();
  });

  test("a damaged vectors file is reported, not silently used", async () => {
    await using dir = await tempDir();
    const store = await openStore(dir.path);
    await store.put(1, unit(1));
    await store.close();
    const vectorsFile = join(dir.path, (await readdir(dir.path)).find((name) => name.endsWith(".bin"))!);
    const bytes = await readFile(vectorsFile);
    bytes[bytes.length - 1]! ^= 0xff;
    await writeFile(vectorsFile, bytes);
    expect(openStore(dir.path)).rejects.toThrow(/is corrupt \(checksum\)/);
  });

  test("vectors made by another pipeline are never mixed in", async () => {
    await using dir = await tempDir();
    const store = await openStore(dir.path);
    await store.put(1, unit(1));
    await store.close();
    expect(openStore(dir.path, "another-pipeline/v2")).rejects.toThrow(StoreError);
  });

  test("refuses a vector of the wrong size and changes after close", async () => {
    await using dir = await tempDir();
    const store = await openStore(dir.path);
    expect(store.put(1, new Float32Array(3))).rejects.toThrow(/3 dimensions/);
    await store.close();
    expect(store.put(1, unit(1))).rejects.toThrow(/closed/);
  });
});
