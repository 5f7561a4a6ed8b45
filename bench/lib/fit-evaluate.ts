// Retrieval measured within one subset of the labelled photos (a validation fold, or the 30% report set): queries
// and database are both that subset, and the shopper queries are the degraded copies whose original is in it.
import { similarityScore } from "../../src/similarity/similarity.ts";
import type { LabelledSet } from "./labelled-set.ts";
import { catalogueMetrics, exactNeighbours, shopperMetrics } from "./retrieval.ts";

export interface SubsetQueries {
  /** Photo indices of the database (and catalogue queries). */
  rows: number[];
  /** Shopper rows (into the shopper arrays) whose original is in `rows`, and those originals. */
  shopperRows: number[];
  shopperOrigins: number[];
}

export interface Scores {
  p10: number;
  p10TypeColour: number;
  recall1: number;
  recall5: number;
  p1: number;
  map10: number;
  medianTop1: number;
  sameTypeLow: number;
  sameTypeLowest: number;
}

export function subsetQueries(set: LabelledSet, rows: number[]): SubsetQueries {
  const inside = new Set(rows);
  const shopperRows = set.shopperOrigins.map((origin, row) => (inside.has(origin) ? row : -1)).filter((row) => row >= 0);
  return { rows, shopperRows, shopperOrigins: shopperRows.map((row) => set.shopperOrigins[row]!) };
}

/** `database` holds the subset's rows' vectors (in the order of subset.rows); `shopper` the subset's shopper rows'. */
export function scoreSubset(set: LabelledSet, subset: SubsetQueries, database: Float32Array, shopper: Float32Array, dims: number): Scores {
  const catalogue = catalogueMetrics(
    set.dataset,
    subset.rows,
    subset.rows,
    exactNeighbours(database, subset.rows, database, dims, 10 + set.dataset.largestGroup, similarityScore),
  );
  const uploads = shopperMetrics(set.dataset, subset.shopperOrigins, exactNeighbours(database, subset.rows, shopper, dims, 5, similarityScore));
  const sortedTop = catalogue.topScores.slice().sort();
  const sortedHits = catalogue.hitScores.slice().sort();
  return {
    p10: catalogue.p10,
    p10TypeColour: catalogue.p10TypeColour,
    recall1: uploads.recall1,
    recall5: uploads.recall5,
    p1: catalogue.p1,
    map10: catalogue.map10,
    medianTop1: sortedTop[Math.floor(sortedTop.length / 2)] ?? Number.NaN,
    sameTypeLow: sortedHits[Math.floor(sortedHits.length * 0.05)] ?? Number.NaN,
    sameTypeLowest: sortedHits[0] ?? Number.NaN,
  };
}

export function meanScores(list: Scores[]): Scores {
  const keys = Object.keys(list[0]!) as (keyof Scores)[];
  return Object.fromEntries(keys.map((key) => [key, list.reduce((sum, s) => sum + s[key], 0) / list.length])) as unknown as Scores;
}
