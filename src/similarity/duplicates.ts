// Near-duplicates in a catalogue: products whose photos score at least `minScore` with each other, found from the
// index alone (no photo is fetched or embedded again). Each product asks the index for its nearest neighbours; pairs
// at or above the threshold join their products' groups, so a group is a connected component of the "scores at
// least minScore" graph (single linkage: A~B and B~C put A and C together even if A and C score lower, which the
// group's lowest score then shows).
import type { VectorIndex } from "../store/vector-index.ts";
import { similarityScore } from "./similarity.ts";

/** What the search needs from the index: its public reads. */
export type DuplicateSource = Pick<VectorIndex, "count" | "listIds" | "vectorOf" | "nearest">;

export interface DuplicateGroup {
  /** Ascending. */
  product_ids: number[];
  /** The lowest score between two products of the group: every pair, not only the links that joined them (in a group
   * of more than EXACT_PAIRS_UP_TO products, every pair with one of its first EXACT_PAIRS_UP_TO). */
  lowest_score: number;
}

export interface FindOptions {
  /** Neighbours asked per product; a product with more duplicates than this is still joined through theirs. */
  neighbours?: number;
  onProgress?: (done: number, total: number) => void;
  /** Stops the search (it rejects with the signal's reason). */
  signal?: AbortSignal;
}

export const DEFAULT_NEIGHBOURS = 16;
/**
 * Searches asked together: the embedded store runs them as one batch over every core, PostgreSQL over the pool's
 * connections; between two slices, requests keep being answered.
 */
const SEARCHES_PER_SLICE = 64;

/** Groups of at least two products, largest first (then highest lowest-score, then smallest first id). */
export async function findDuplicateGroups(source: DuplicateSource, minScore: number, options: FindOptions = {}): Promise<DuplicateGroup[]> {
  const k = (options.neighbours ?? DEFAULT_NEIGHBOURS) + 1; // the product itself comes back too
  const { ids } = await source.listIds(0, Number.MAX_SAFE_INTEGER);
  /** Union-find over the products that have at least one partner: id -> parent id (a root is its own parent). */
  const parent = new Map<number, number>();
  const find = (id: number): number => {
    let root = id;
    while (parent.get(root)! !== root) root = parent.get(root)!;
    let at = id; // path compression keeps later finds short
    while (at !== root) {
      const next = parent.get(at)!;
      parent.set(at, root);
      at = next;
    }
    return root;
  };
  const join = (a: number, b: number) => {
    if (!parent.has(a)) parent.set(a, a);
    if (!parent.has(b)) parent.set(b, b);
    const rootA = find(a);
    const rootB = find(b);
    if (rootA !== rootB) parent.set(Math.max(rootA, rootB), Math.min(rootA, rootB));
  };
  for (let start = 0; start < ids.length; start += SEARCHES_PER_SLICE) {
    options.signal?.throwIfAborted();
    options.onProgress?.(start, ids.length);
    const slice = ids.slice(start, start + SEARCHES_PER_SLICE);
    const found = await Promise.all(
      slice.map(async (id) => {
        const vector = await source.vectorOf(id);
        return vector ? source.nearest(vector, k) : []; // deleted meanwhile
      }),
    );
    slice.forEach((id, i) => {
      for (const neighbour of found[i]!) {
        if (neighbour.id !== id && similarityScore(neighbour.distance) >= minScore) join(id, neighbour.id);
      }
    });
  }
  options.onProgress?.(ids.length, ids.length);

  const members = new Map<number, number[]>();
  for (const id of parent.keys()) {
    const root = find(id);
    members.set(root, [...(members.get(root) ?? []), id]);
  }
  const groups: DuplicateGroup[] = [];
  for (const group of members.values()) {
    if (group.length < 2) continue;
    group.sort((a, b) => a - b);
    groups.push({ product_ids: group, lowest_score: await lowestScore(source, group) });
  }
  return groups.sort((a, b) => b.product_ids.length - a.product_ids.length || b.lowest_score - a.lowest_score || a.product_ids[0]! - b.product_ids[0]!);
}

/** Pairs are compared exactly among this many products of a group; a larger group compares only pairs with one of them. */
export const EXACT_PAIRS_UP_TO = 300;

/** The lowest score over the pairs of the group's stored vectors (see EXACT_PAIRS_UP_TO). */
async function lowestScore(source: DuplicateSource, ids: number[]): Promise<number> {
  const vectors = (await Promise.all(ids.map((id) => source.vectorOf(id)))).filter((vector) => vector !== undefined);
  let lowest = 1;
  for (let a = 0; a < Math.min(vectors.length, EXACT_PAIRS_UP_TO); a++) {
    for (let b = a + 1; b < vectors.length; b++) {
      const x = vectors[a]!;
      const y = vectors[b]!;
      let squared = 0;
      for (let k = 0; k < x.length; k++) squared += (x[k]! - y[k]!) ** 2;
      lowest = Math.min(lowest, similarityScore(squared));
    }
  }
  return lowest;
}
