import { expect, test } from "bun:test";
import { similarityScore } from "../../src/similarity/similarity.ts";

test("score is the cosine similarity of unit vectors, 1 - d²/2", () => {
  expect(similarityScore(0)).toBe(1);
  expect(similarityScore(0.5)).toBe(0.75);
  expect(similarityScore(1)).toBe(0.5);
  expect(similarityScore(2)).toBe(0);
});

test("float noise on an identical photo still gives exactly 1.0", () => {
  expect(similarityScore(1e-7)).toBe(1);
  expect(similarityScore(-1e-7)).toBe(1);
});

test("stays within [0, 1] and never rises with distance", () => {
  let previous = Number.POSITIVE_INFINITY;
  for (let d2 = 0; d2 <= 4; d2 += 0.01) {
    const score = similarityScore(d2);
    expect(score).toBeGreaterThanOrEqual(0);
    expect(score).toBeLessThanOrEqual(1);
    expect(score).toBeLessThanOrEqual(previous);
    previous = score;
  }
});

test("rounds to 6 decimals", () => {
  expect(similarityScore(0.123456789)).toBe(0.938272);
});
