// The scan of the rows a graph misses: it must find every orphan from its own vector, answer in segment rows, and
// give the same answer as a float32 exact search although it reads int8 codes.
import { expect, test } from "bun:test";
import { exactSearch, MetricKind } from "usearch";
import { OrphanScan } from "../../src/store/orphan-scan.ts";

const DIMENSIONS = 64;
const ORPHANS = 1500;

/** Deterministic unit vectors in 30 tight clusters: near neighbours are close, as with near-duplicate photos. */
function clusteredRows(count: number): Float32Array {
  let state = 12345;
  const random = () => ((state = (state * 1664525 + 1013904223) >>> 0) / 2 ** 32) - 0.5;
  const vectors = new Float32Array(count * DIMENSIONS);
  for (let row = 0; row < count; row++) {
    const vector = vectors.subarray(row * DIMENSIONS, (row + 1) * DIMENSIONS);
    for (let k = 0; k < DIMENSIONS; k++) vector[k] = Math.sin((row % 30) * 7.1 + k * 1.9) + random() * 0.3;
    const norm = Math.hypot(...vector);
    for (let k = 0; k < DIMENSIONS; k++) vector[k]! /= norm;
  }
  return vectors;
}

const vectors = clusteredRows(ORPHANS);
/** Segment rows of the orphans: scattered, as a graph's misses are. */
const rows = Uint32Array.from({ length: ORPHANS }, (_, i) => 7 + i * 13);
const scan = new OrphanScan(vectors, rows, DIMENSIONS);
const vectorOf = (i: number) => vectors.slice(i * DIMENSIONS, (i + 1) * DIMENSIONS);

test("every orphan is found first from its own vector, as its segment row", () => {
  expect(scan.size).toBe(ORPHANS);
  for (let i = 0; i < ORPHANS; i++) {
    const [first] = scan.nearest(vectorOf(i), 1, 5, 1)[0]!;
    expect(first).toEqual({ row: rows[i]!, distance: 0 });
  }
});

test("it answers as a float32 exact search does, with the same distances", () => {
  let agreed = 0;
  let compared = 0;
  for (let i = 0; i < ORPHANS; i += 7) {
    // A query near an orphan, not on it: the hard case for a coarse code.
    const query = vectorOf(i).map((value, k) => value + Math.sin(i + k) * 0.02);
    const exact = exactSearch(vectors, query, DIMENSIONS, 10, MetricKind.L2sq, 1);
    const expected = new Set(Array.from(exact.keys, (key) => rows[Number(key)]!));
    const found = scan.nearest(query, 1, 10, 1)[0]!;
    agreed += found.filter((match) => expected.has(match.row)).length;
    compared += 10;
    found.forEach((match, i) => expect(match.distance).toBeCloseTo(exact.distances[i]!, 5));
  }
  expect(agreed / compared).toBeGreaterThanOrEqual(0.995);
});

test("several queries at once answer as each alone", () => {
  const queries = new Float32Array([...vectorOf(3), ...vectorOf(900)]);
  const both = scan.nearest(queries, 2, 4, 2);
  expect(both).toEqual([scan.nearest(vectorOf(3), 1, 4, 1)[0]!, scan.nearest(vectorOf(900), 1, 4, 1)[0]!]);
});
