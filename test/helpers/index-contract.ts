// The contract every VectorIndex keeps (put, delete, order of changes, search, list, count, reopen), written once and
// run against each implementation: the embedded store (test/unit/vector-store.test.ts) and PostgreSQL
// (test/unit/postgres-store.test.ts).
import { afterEach, describe, expect, test } from "bun:test";
import type { VectorIndex } from "../../src/store/vector-index.ts";
import { distinct, unit } from "./store-vectors.ts";

export interface ContractSubject {
  /** A new, empty place for an index: a DATA_DIR, or a database without the index's tables. */
  fresh(): Promise<AsyncDisposable & { place: string }>;
  /** Opens (or creates) the index at `place`; closed by the contract or after the test. */
  open(place: string, options?: { dimensions?: number }): Promise<VectorIndex>;
  /** Lets background work (seals, merges) finish, so a check sees it done . */
  settle(index: VectorIndex): Promise<void>;
  /** After each test, once every index it opened is closed. */
  afterEach?(): void;
}

export function describeIndexContract(name: string, subject: ContractSubject): void {
  describe(`VectorIndex contract: ${name}`, () => {
    const opened: VectorIndex[] = [];
    const open = async (place: string, options?: { dimensions?: number }) => {
      const index = await subject.open(place, options);
      opened.push(index);
      return index;
    };
    const closed = new Set<VectorIndex>();
    const close = async (index: VectorIndex) => {
      await subject.settle(index);
      await index.close();
      closed.add(index);
    };
    const ids = async (index: VectorIndex, query: Float32Array, k: number) => (await index.nearest(query, k)).map((n) => n.id);

    /** Settles and closes what the test left open: before its place is removed, and after it in any case. */
    const closeAll = async () => {
      for (const index of opened.splice(0)) {
        if (closed.has(index)) continue;
        await subject.settle(index);
        await index.close();
      }
      closed.clear();
    };
    const fresh = async () => {
      const place = await subject.fresh();
      return {
        place: place.place,
        async [Symbol.asyncDispose]() {
          await closeAll();
          await place[Symbol.asyncDispose]();
        },
      };
    };

    afterEach(async () => {
      await closeAll();
      subject.afterEach?.();
    });

    test("stores, finds nearest first, lists ascending and deletes", async () => {
      await using place = await fresh();
      const index = await open(place.place);
      await Promise.all([index.put(30, unit(0)), index.put(10, unit(0, 0.9)), index.put(20, unit(3))]);
      for (const id of [40, 50, 60, 70, 80, 40, 50]) await index.put(id, unit(5));
      for (const id of [40, 50, 60, 70, 80]) await index.delete(id);
      await subject.settle(index);
      expect(await index.count()).toBe(3);
      expect(await index.listIds(0, 10)).toEqual({ ids: [10, 20, 30], total: 3 });
      expect(await index.listIds(1, 1)).toEqual({ ids: [20], total: 3 });
      expect(await ids(index, unit(0), 2)).toEqual([30, 10]);
      expect((await index.nearest(unit(0), 1))[0]!.distance).toBe(0);
      expect(await index.delete(30)).toEqual({ applied: true, existed: true });
      expect(await index.delete(30)).toEqual({ applied: true, existed: false });
      expect(await index.has(30)).toBe(false);
      expect(await ids(index, unit(0), 5)).toEqual([10, 20]);
    });

    test("after many replacements and deletions every stored vector is still found, itself first", async () => {
      await using place = await fresh();
      const dimensions = 256;
      const index = await open(place.place, { dimensions });
      const random = (seed: number) => {
        const vector = Float32Array.from({ length: dimensions }, (_, k) => Math.abs(Math.sin(seed * 12.9898 + k * 78.233)));
        return vector.map((v) => v / Math.hypot(...vector));
      };
      const live = new Map<number, Float32Array>();
      for (let id = 1; id <= 150; id++) live.set(id, random(id));
      await Promise.all([...live].map(([id, vector]) => index.put(id, vector)));
      for (let round = 0; round < 3; round++) {
        for (let id = 1 + round; id <= 150; id += 4) {
          await index.delete(id);
          live.delete(id);
        }
        for (let id = 2 + round; id <= 150; id += 5) {
          live.set(id, random(id * 1000 + round));
          await index.put(id, live.get(id)!);
        }
      }
      for (const check of ["while background work runs", "after it"]) {
        if (check === "after it") await subject.settle(index);
        expect((await ids(index, random(1), 1000)).sort((a, b) => a - b)).toEqual([...live.keys()].sort((a, b) => a - b));
        for (const [id, vector] of live) expect((await index.nearest(vector, 3))[0]).toEqual({ id, distance: 0 });
      }
    });

    test("searches asked together are answered as each would be alone", async () => {
      await using place = await fresh();
      const index = await open(place.place);
      for (let id = 1; id <= 30; id++) await index.put(id, distinct(id));
      for (let id = 1; id <= 30; id += 3) await index.delete(id);
      await subject.settle(index);
      const queries = Array.from({ length: 12 }, (_, i) => distinct(100 + i));
      const together = await Promise.all(queries.map((query, i) => index.nearest(query, 1 + (i % 5))));
      const alone = [];
      for (const [i, query] of queries.entries()) alone.push(await index.nearest(query, 1 + (i % 5)));
      expect(together).toEqual(alone);
      expect(together[3]).toHaveLength(4);
      expect(await index.nearest(distinct(2), 1)).toEqual([{ id: 2, distance: 0 }]);
    });

    test("a product never has two vectors: put replaces", async () => {
      await using place = await fresh();
      const index = await open(place.place);
      await index.put(1, unit(0));
      await index.put(1, unit(4));
      await Promise.all([index.put(1, unit(5)), index.put(1, unit(5))]);
      for (let i = 0; i < 6; i++) await index.put(1, unit(i));
      await index.put(1, unit(5));
      await subject.settle(index);
      expect(await index.count()).toBe(1);
      expect(await index.nearest(unit(5), 10)).toEqual([{ id: 1, distance: 0 }]);
    });

    test("reopening gives back every vector, exactly, and stays writable", async () => {
      await using place = await fresh();
      const first = await open(place.place);
      for (let id = 1; id <= 50; id++) await first.put(id, distinct(id));
      await first.delete(7);
      await close(first);

      const second = await open(place.place);
      expect((await second.listIds(0, 100)).total).toBe(49);
      expect(await second.has(7)).toBe(false);
      expect([...(await second.vectorOf(12))!]).toEqual([...distinct(12)]);
      expect(await second.nearest(distinct(12), 1)).toEqual([{ id: 12, distance: 0 }]);
      expect(await second.nearest((await second.vectorOf(12))!, 1)).toEqual([{ id: 12, distance: 0 }]);
      await second.put(100, unit(2));
      await close(second);

      const third = await open(place.place);
      expect(await third.count()).toBe(50);
      expect(await third.has(100)).toBe(true);
    });

    test("a change requested earlier never overwrites one requested later", async () => {
      await using place = await fresh();
      const index = await open(place.place);
      for (let id = 10; id < 20; id++) await index.put(id, distinct(id));
      const early = index.takeSequence();
      const late = index.takeSequence();
      expect(late).toBeGreaterThan(early);
      expect(await index.delete(5, late)).toEqual({ applied: true, existed: false });
      expect(await index.put(5, unit(1), early)).toEqual({ applied: false });
      expect(await index.has(5)).toBe(false);
      const later = index.takeSequence();
      expect(await index.put(5, unit(1), later)).toEqual({ applied: true });
      expect(await index.has(5)).toBe(true);
      expect(await index.delete(5, late)).toEqual({ applied: false, existed: true });
      expect(await index.has(5)).toBe(true);
    });

    test("the revision changes with every applied change, and only then", async () => {
      await using place = await fresh();
      const index = await open(place.place);
      for (let id = 10; id < 20; id++) await index.put(id, distinct(id));
      const seen = [await index.revision()];
      const changed = async () => {
        const revision = await index.revision();
        const isNew = !seen.includes(revision);
        seen.push(revision);
        return isNew;
      };
      await index.put(1, unit(1));
      expect(await changed()).toBe(true);
      await index.put(1, unit(2));
      expect(await changed()).toBe(true);
      const stale = index.takeSequence();
      await index.delete(1);
      expect(await changed()).toBe(true);
      await index.put(1, unit(3), stale);
      expect(await changed()).toBe(false);
    });

    test("refuses a vector of the wrong size, and changes after close", async () => {
      await using place = await fresh();
      const index = await open(place.place);
      for (let id = 1; id <= 10; id++) await index.put(id, distinct(id));
      await expect(index.put(1, new Float32Array(3))).rejects.toThrow(/3 dimensions/);
      await close(index);
      await expect(index.put(1, unit(1))).rejects.toThrow(/closed/);
    });
  });
}
