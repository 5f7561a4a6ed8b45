// Retrieval metrics from neighbour lists: the catalogue queries (every photo against the others, by articleType),
// and the shopper queries (a degraded photo against the whole catalogue, looking for its original). Neighbour lists
// come from an exact in-process search or from the running service; the metrics do not care which.
import { exactSearch, MetricKind } from "usearch";
import type { Dataset } from "./dataset.ts";

/** A result that is not one of the labelled photos (the service's catalogue may hold more): never a hit. */
export const UNLABELLED = -2;

export interface Neighbours {
  /** Results per query (rows of the arrays below). */
  k: number;
  /** Photo indices (into dataset.photos), nearest first; -1 where there are fewer than k results, UNLABELLED for a
   * product the labels do not know. */
  index: Int32Array;
  /** The score shown for each result (its formula depends on the variant). */
  score: Float32Array;
}

/**
 * Exact k nearest rows of `database` for every row of `queries` by squared L2 distance (USearch's brute-force
 * search), translated to photo indices and scores.
 */
export function exactNeighbours(
  database: Float32Array,
  databasePhotos: number[],
  queries: Float32Array,
  dims: number,
  k: number,
  score: (squaredDistance: number) => number,
): Neighbours {
  const queryCount = queries.length / dims;
  const count = Math.min(k, databasePhotos.length);
  const index = new Int32Array(queryCount * k).fill(-1);
  const scores = new Float32Array(queryCount * k);
  // In chunks, so memory for keys stays small. exactSearch (usearch 2.26 JS) reads a typed array from the start of its
  // buffer, ignoring byteOffset, so it gets copies, never subarray views. (Index.search, which the service uses,
  // honours the offset.)
  const own = (rows: Float32Array) => (rows.byteOffset === 0 && rows.buffer.byteLength === rows.byteLength ? rows : rows.slice());
  const data = own(database);
  const chunk = 1024;
  for (let start = 0; start < queryCount; start += chunk) {
    const end = Math.min(queryCount, start + chunk);
    const matches = exactSearch(data, queries.slice(start * dims, end * dims), dims, count, MetricKind.L2sq, 2);
    const keys = matches.keys;
    const distances = matches.distances;
    for (let q = start; q < end; q++) {
      for (let j = 0; j < count; j++) {
        const at = (q - start) * count + j;
        index[q * k + j] = databasePhotos[Number(keys[at]!)]!;
        scores[q * k + j] = score(Math.max(0, distances[at]!));
      }
    }
  }
  return { k, index, score: scores };
}

export interface GroupScore {
  queries: number;
  p10: number;
}

export interface CatalogueMetrics {
  queries: number;
  /** Queries left out because no other photo in the database has their articleType. */
  unanswerable: number;
  p1: number;
  p10: number;
  map10: number;
  p10TypeColour: number;
  byMasterCategory: Map<string, GroupScore>;
  byArticleType: Map<string, GroupScore>;
  /** Scores of the first result, and of every same-articleType result in a top 10. */
  topScores: Float32Array;
  hitScores: Float32Array;
}

/**
 * Every query photo looks for its articleType among the database photos, itself and its byte-identical copies left
 * out. P@k = hits in the first k / k; AP@10 = Σ P@i·hit_i over i ≤ 10 / min(10, photos of that type in the database).
 */
export function catalogueMetrics(dataset: Dataset, queryPhotos: number[], databasePhotos: number[], neighbours: Neighbours): CatalogueMetrics {
  const { photos } = dataset;
  const typeCount = new Map<string, number>();
  const groupTypeCount = new Map<string, number>();
  for (const i of databasePhotos) {
    const photo = photos[i]!;
    typeCount.set(photo.articleType, (typeCount.get(photo.articleType) ?? 0) + 1);
    const key = `${photo.group}|${photo.articleType}`;
    groupTypeCount.set(key, (groupTypeCount.get(key) ?? 0) + 1);
  }

  let answered = 0;
  let sumP1 = 0;
  let sumP10 = 0;
  let sumAp = 0;
  let sumTypeColour = 0;
  const byMaster = new Map<string, { queries: number; sum: number }>();
  const byType = new Map<string, { queries: number; sum: number }>();
  const topScores: number[] = [];
  const hitScores: number[] = [];

  queryPhotos.forEach((queryPhoto, q) => {
    const query = photos[queryPhoto]!;
    const relevant =
      (typeCount.get(query.articleType) ?? 0) - (groupTypeCount.get(`${query.group}|${query.articleType}`) ?? 0);
    if (relevant <= 0) return;
    answered++;
    let rank = 0;
    let hits = 0;
    let typeColourHits = 0;
    let ap = 0;
    let first = false;
    for (let j = 0; j < neighbours.k && rank < 10; j++) {
      const result = neighbours.index[q * neighbours.k + j]!;
      if (result === -1) break;
      const score = neighbours.score[q * neighbours.k + j]!;
      if (result === UNLABELLED) {
        if (++rank === 1) topScores.push(score);
        continue;
      }
      const photo = photos[result]!;
      if (photo.group === query.group) continue; // itself or a byte-identical copy
      rank++;
      if (rank === 1) topScores.push(score);
      if (photo.articleType === query.articleType) {
        hits++;
        ap += hits / rank;
        hitScores.push(score);
        if (rank === 1) first = true;
        if (photo.baseColour === query.baseColour) typeColourHits++;
      }
    }
    const p10 = hits / 10;
    sumP1 += first ? 1 : 0;
    sumP10 += p10;
    sumAp += ap / Math.min(10, relevant);
    sumTypeColour += typeColourHits / 10;
    for (const [map, key] of [
      [byMaster, query.masterCategory],
      [byType, query.articleType],
    ] as const) {
      const entry = map.get(key) ?? { queries: 0, sum: 0 };
      entry.queries++;
      entry.sum += p10;
      map.set(key, entry);
    }
  });

  const finish = (map: Map<string, { queries: number; sum: number }>) =>
    new Map([...map].map(([key, { queries, sum }]) => [key, { queries, p10: sum / queries }]));
  return {
    queries: answered,
    unanswerable: queryPhotos.length - answered,
    p1: sumP1 / answered,
    p10: sumP10 / answered,
    map10: sumAp / answered,
    p10TypeColour: sumTypeColour / answered,
    byMasterCategory: finish(byMaster),
    byArticleType: finish(byType),
    topScores: Float32Array.from(topScores),
    hitScores: Float32Array.from(hitScores),
  };
}

export interface ShopperMetrics {
  queries: number;
  recall1: number;
  recall5: number;
  /** Score of the original when it came first. */
  matchScores: Float32Array;
}

/** A degraded photo finds its original (or a byte-identical copy of it) at rank 1 / within the first 5. */
export function shopperMetrics(dataset: Dataset, originPhotos: number[], neighbours: Neighbours): ShopperMetrics {
  let at1 = 0;
  let at5 = 0;
  const matchScores: number[] = [];
  originPhotos.forEach((origin, q) => {
    const group = dataset.photos[origin]!.group;
    for (let j = 0; j < Math.min(5, neighbours.k); j++) {
      const result = neighbours.index[q * neighbours.k + j]!;
      if (result === -1) break;
      if (result !== UNLABELLED && dataset.photos[result]!.group === group) {
        if (j === 0) {
          at1++;
          matchScores.push(neighbours.score[q * neighbours.k]!);
        }
        at5++;
        break;
      }
    }
  });
  return {
    queries: originPhotos.length,
    recall1: at1 / originPhotos.length,
    recall5: at5 / originPhotos.length,
    matchScores: Float32Array.from(matchScores),
  };
}

/** The q-th quantile (0..1) of the values, by nearest rank. */
export function quantile(values: Float32Array, q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = values.slice().sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** The given rows of the neighbour lists, in that order. */
export function selectRows(neighbours: Neighbours, rows: number[]): Neighbours {
  const { k } = neighbours;
  const index = new Int32Array(rows.length * k);
  const score = new Float32Array(rows.length * k);
  rows.forEach((row, i) => {
    index.set(neighbours.index.subarray(row * k, (row + 1) * k), i * k);
    score.set(neighbours.score.subarray(row * k, (row + 1) * k), i * k);
  });
  return { k, index, score };
}

