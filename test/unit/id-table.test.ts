import { describe, expect, test } from "bun:test";
import { IdTable } from "../../src/store/id-table.ts";

describe("the id table", () => {
  test("agrees with a Map through a long random run of sets and deletes, across resizes", () => {
    const table = new IdTable();
    const map = new Map<number, number>();
    let seed = 7;
    const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let step = 0; step < 200_000; step++) {
      // Few distinct ids, many collisions and removals; some ids with a large common stride.
      const id = step % 3 === 0 ? 1 + (random() % 5000) * 4096 : 1 + (random() % 20_000);
      if (random() % 3 === 0) expect(table.delete(id)).toBe(map.delete(id));
      else {
        table.set(id, step * 2 ** 32 + id);
        map.set(id, step * 2 ** 32 + id);
      }
      if (step % 10_000 === 0) expect(table.size).toBe(map.size);
    }
    expect(table.size).toBe(map.size);
    for (const [id, value] of map) expect(table.get(id)).toBe(value);
    expect([...table.ids()].sort((a, b) => a - b)).toEqual([...map.keys()].sort((a, b) => a - b));
    for (let id = 1; id <= 20_000; id++) expect(table.has(id)).toBe(map.has(id));
  });

  test("holds the largest product id, and refuses what is not an id", () => {
    const table = new IdTable();
    table.set(2 ** 31 - 1, 5);
    expect(table.get(2 ** 31 - 1)).toBe(5);
    expect(table.get(1)).toBeUndefined();
    for (const bad of [0, -1, 1.5, 2 ** 32]) expect(() => table.set(bad, 1)).toThrow(RangeError);
  });
});
