import { describe, expect, test } from "bun:test";
import { chooseMerge, levelOf } from "../../src/store/merge-policy.ts";

const policy = { sealSize: 100, factor: 4, maxDeadFraction: 0.3 };
const full = (rows: number) => ({ rows, live: rows, lacksGraph: false });

describe("the merge policy", () => {
  test("a segment's level is log_factor of its live rows over the seal size", () => {
    expect([0, 99, 100, 399, 400, 1599, 1600, 6400].map((live) => levelOf(live, policy))).toEqual([0, 0, 0, 0, 1, 1, 2, 3]);
  });

  test("merges the first `factor` neighbours of one level, oldest first", () => {
    expect(chooseMerge([full(400), full(100), full(100), full(100)], policy)).toBeNull();
    expect(chooseMerge([full(400), full(100), full(100), full(100), full(120)], policy)).toEqual({ first: 1, last: 4 });
    expect(chooseMerge([full(100), full(100), full(100), full(1600), full(100)], policy)).toBeNull();
    expect(chooseMerge([full(1600), full(400), full(400), full(400), full(400), full(100)], policy)).toEqual({ first: 1, last: 4 });
  });

  test("at rest, merges the newest level-0 segments into one even when fewer than `factor`", () => {
    const segments = [full(1600), full(400), full(100), full(30), full(5)];
    expect(chooseMerge(segments, policy)).toBeNull();
    expect(chooseMerge(segments, policy, true)).toEqual({ first: 2, last: 4 });
    expect(chooseMerge([full(1600), full(100)], policy, true)).toBeNull();
  });

  test("at rest, merges each run of neighbours of one level, lowest first; the top level's only while small", () => {
    const levels = [full(1600), full(1600), full(400), full(400), full(400), full(100), full(30)];
    expect(chooseMerge(levels, policy)).toBeNull();
    expect(chooseMerge(levels, policy, true)).toEqual({ first: 5, last: 6 });
    expect(chooseMerge([full(1600), full(1600), full(400), full(400), full(400), full(130)], policy, true)).toEqual({ first: 2, last: 4 });
    // The top level is left alone (its merges would rewrite most of the index); one level-1 segment is not a run.
    expect(chooseMerge([full(1600), full(1600), full(1200), full(130)], policy, true)).toBeNull();
    // A run of the top level merges while the result stays below level 2 (16 seals here).
    expect(chooseMerge([full(100), full(30), full(5)], policy, true)).toEqual({ first: 0, last: 2 });
    expect(chooseMerge([full(400), full(400), full(400), full(100)], policy, true)).toEqual({ first: 0, last: 2 });
    expect(chooseMerge([full(1000), full(700), full(50)], policy, true)).toBeNull();
  });

  test("rewrites alone a segment that lost too many rows, or lacks its graph", () => {
    expect(chooseMerge([full(1600), { rows: 400, live: 279, lacksGraph: false }], policy)).toEqual({ first: 1, last: 1 });
    expect(chooseMerge([full(1600), { rows: 400, live: 281, lacksGraph: false }], policy)).toBeNull();
    expect(chooseMerge([full(1600), { ...full(400), lacksGraph: true }], policy)).toEqual({ first: 1, last: 1 });
  });
});
