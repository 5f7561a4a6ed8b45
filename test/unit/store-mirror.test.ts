// A mirror of the store on the other end of a message port (store-mirror.ts) answers exactly as the store does, through
// puts, replacements, deletions, seals and merges, and a write settles only once the mirror has it.
import { expect, test } from "bun:test";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { StoreMirror } from "../../src/store/store-mirror.ts";
import { type StoreOptions, VectorStore } from "../../src/store/vector-store.ts";
import { tempDir, waitFor } from "../helpers/environment.ts";
import { DIMENSIONS, distinct, PIPELINE } from "../helpers/store-vectors.ts";

const TINY: Partial<StoreOptions> = { sealSize: 4, mergeFactor: 2, exactBelow: 3 };

function open(dataDir: string): Promise<VectorStore> {
  return VectorStore.open({ dataDir, dimensions: DIMENSIONS, pipeline: PIPELINE, sealWhenIdleMs: 0, ...TINY });
}

function expectSameView({ view }: StoreMirror, store: VectorStore, ids: number[]): void {
  expect(view.count).toBe(store.count);
  expect(view.listIds(0, 1000)).toEqual(store.listIds(0, 1000));
  for (const id of ids) {
    expect(view.has(id)).toBe(store.has(id));
    expect(view.vectorOf(id)).toEqual(store.vectorOf(id));
  }
  for (let query = 0; query < 10; query++) {
    expect(view.searchOne(distinct(900 + query), 7)).toEqual(store.search(distinct(900 + query), 7));
  }
}

test("a mirror answers as the store does through changes, seals and merges, and has each write once it settles", async () => {
  await using dir = await tempDir();
  const store = await open(dir.path);
  for (let id = 1; id <= 30; id++) await store.put(id, distinct(id));
  await store.idle();
  const { seals, merges } = store.stats();
  const channel = new MessageChannel();
  const feed = store.mirrorTo(channel.port1);
  const mirror = await StoreMirror.attach(channel.port2);
  const ids = Array.from({ length: 80 }, (_, i) => i + 1);
  expectSameView(mirror, store, ids);

  // Each settled write is seen by the mirror at once, before any other turn of the event loop.
  await store.put(31, distinct(31));
  expect(mirror.view.vectorOf(31)).toEqual(distinct(31));
  await store.delete(5);
  expect(mirror.view.has(5)).toBe(false);

  for (let round = 0; round < 6; round++) {
    const writes: Promise<unknown>[] = [];
    for (let id = 1; id <= 60; id++) {
      if ((id + round) % 3 === 0) writes.push(store.put(id, distinct(id * 7 + round)));
      else if ((id + round) % 7 === 0) writes.push(store.delete(id));
    }
    await Promise.all(writes);
    expectSameView(mirror, store, ids);
    await store.idle();
  }
  await feed.caughtUp();
  expect(store.stats().seals).toBeGreaterThan(seals);
  expect(store.stats().merges).toBeGreaterThan(merges);
  expectSameView(mirror, store, ids);

  // A closed feed (its thread gone) holds no write back.
  feed.close();
  await store.put(70, distinct(70));
  expect(mirror.view.has(70)).toBe(false);
  await store.close();
});

test("a write is durable before a mirror has it, but settles only once the mirror has applied it", async () => {
  await using dir = await tempDir();
  const store = await open(dir.path);
  await store.put(1, distinct(1));
  const channel = new MessageChannel();
  store.mirrorTo(channel.port1);
  const journalBytes = async () => {
    const journals = (await readdir(dir.path)).filter((name) => name.startsWith("journal-"));
    return (await Promise.all(journals.map((name) => stat(join(dir.path, name))))).reduce((sum, file) => sum + file.size, 0);
  };
  const before = await journalBytes();
  const put = store.put(2, distinct(2));
  // The mirror's end is not listening yet: the record reaches the journal, the put waits for the mirror. (Without
  // the wait it settles as soon as the journal is fsynced, within milliseconds.)
  await waitFor(async () => ((await journalBytes()) > before ? true : undefined), { timeoutMs: 10_000, what: "the journal record" });
  expect(await Promise.race([put.then(() => "settled"), Bun.sleep(300).then(() => "waiting")])).toBe("waiting");
  const mirror = await StoreMirror.attach(channel.port2);
  await put;
  expect(mirror.view.vectorOf(2)).toEqual(distinct(2));
  await store.close();
});
