import { describe, expect, test } from "bun:test";
import { cp, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { VectorStore } from "../../src/store/vector-store.ts";
import { tempDir } from "../helpers/environment.ts";

const DIMENSIONS = 8;
const PIPELINE = "test-pipeline/v1";
/** A put record on disk: length and checksum, op and id, the vector. */
const PUT_RECORD_BYTES = 8 + 5 + DIMENSIONS * 4;
const PRODUCTS = 30;

function distinct(id: number): Float32Array {
  const vector = Float32Array.from({ length: DIMENSIONS }, (_, k) => Math.abs(Math.sin(id * (k + 1.3))));
  const norm = Math.hypot(...vector);
  return vector.map((v) => v / norm);
}

/** What a crash leaves: a real store's directory with products 1..30 in its journal, one record each, no snapshot. */
async function crashedStore(target: string): Promise<string> {
  await using live = await tempDir();
  const store = await VectorStore.open({ dataDir: live.path, dimensions: DIMENSIONS, pipeline: PIPELINE, sealWhenIdleMs: 0 });
  for (let id = 1; id <= PRODUCTS; id++) await store.put(id, distinct(id));
  await cp(live.path, target, { recursive: true }); // as if the process died right now
  await store.close();
  const journal = (await readdir(target)).find((name) => name.startsWith("journal-"))!;
  expect((await readFile(join(target, journal))).length).toBe(PRODUCTS * PUT_RECORD_BYTES);
  return join(target, journal);
}

async function reopen(dataDir: string) {
  const warnings: string[] = [];
  const store = await VectorStore.open({
    dataDir,
    dimensions: DIMENSIONS,
    pipeline: PIPELINE,
    warn: (message) => warnings.push(message),
  });
  return { store, warnings };
}

const damagedCopies = async (dir: string) => (await readdir(dir)).filter((name) => name.startsWith("damaged-"));

describe("a journal damaged in the middle", () => {
  for (const [where, byteInRecord] of [
    ["vector", 20],
    ["length", 0],
  ] as const) {
    test(`a flipped byte in one record's ${where} loses that record only, keeps the file aside and says so`, async () => {
      await using dir = await tempDir();
      const journal = await crashedStore(dir.path);
      const damagedAt = 14 * PUT_RECORD_BYTES; // product 15's record
      const bytes = await readFile(journal);
      bytes[damagedAt + byteInRecord]! ^= 0x40;
      await writeFile(journal, bytes);

      const { store, warnings } = await reopen(dir.path);
      expect(store.count).toBe(PRODUCTS - 1);
      expect(store.has(15)).toBe(false);
      for (const id of [14, 16, 30]) expect(store.search(distinct(id), 1)).toEqual([{ id, distance: 0 }]);

      const [copy, ...others] = await damagedCopies(dir.path);
      expect(others).toEqual([]);
      expect(await readFile(join(dir.path, copy!))).toEqual(bytes);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(journal);
      expect(warnings[0]).toContain(`byte ${damagedAt}`);
      expect(warnings[0]).toContain("14 records before");
      expect(warnings[0]).toContain("15 after");
      expect(warnings[0]).toContain(join(dir.path, copy!));
      if (where === "vector") expect(warnings[0]).toContain("product 15");
      await store.close();

      // The evidence stays until an operator removes it; the replayed state is now a clean snapshot.
      const again = await reopen(dir.path);
      expect(again.store.count).toBe(PRODUCTS - 1);
      expect(again.warnings).toEqual([]);
      expect(await damagedCopies(dir.path)).toEqual([copy!]);
      await again.store.close();
    });
  }

  test("a record torn by a crash at the end is silent and every complete record is kept", async () => {
    await using dir = await tempDir();
    const journal = await crashedStore(dir.path);
    const bytes = await readFile(journal);
    await writeFile(journal, bytes.subarray(0, bytes.length - 10));
    const { store, warnings } = await reopen(dir.path);
    expect(store.count).toBe(PRODUCTS - 1);
    expect(store.has(PRODUCTS)).toBe(false);
    expect(warnings).toEqual([]);
    expect(await damagedCopies(dir.path)).toEqual([]);
    await store.close();
  });

  test("a last record whose checksum fails, with nothing after it, is a torn tail too", async () => {
    await using dir = await tempDir();
    const journal = await crashedStore(dir.path);
    const bytes = await readFile(journal);
    bytes[bytes.length - 3]! ^= 0x01;
    await writeFile(journal, Buffer.concat([bytes, new Uint8Array(100)])); // and zeros a crash may leave after it
    const { store, warnings } = await reopen(dir.path);
    expect(store.count).toBe(PRODUCTS - 1);
    expect(warnings).toEqual([]);
    expect(await damagedCopies(dir.path)).toEqual([]);
    await store.close();
  });
});
