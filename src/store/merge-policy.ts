// Which sealed segments to merge next: pure, so its choices have exact-value tests.
// Segments are kept oldest first and only neighbours are merged, so a merged segment takes its inputs' place in that
// order. Like Lucene's LogMergePolicy: a segment's level is the whole number of times `factor` goes into its live rows over the seal size (log),
// and `factor` neighbours of one level are merged into one of the next, so each vector is rewritten about
// log_factor(N / sealSize) times. A segment that lost too many rows to replacements and deletions, or whose graph is
// missing, is rewritten alone; the rewrite drops dead rows and builds a fresh graph.

export interface SegmentShape {
  rows: number;
  live: number;
  /** The segment should have a graph (it is not small) but has none: searched exactly until rewritten. */
  lacksGraph: boolean;
}

export interface MergePolicy {
  sealSize: number;
  factor: number;
  /** Dead rows over rows above which a segment is rewritten alone. */
  maxDeadFraction: number;
}

/**
 * The first and last index (inclusive) of the neighbours to merge next, or null when nothing needs merging. At rest
 * (no change for a while), runs of two or more neighbours of one level are merged into one, lowest level first, even
 * when fewer than `factor`: a store that is not being written is then searched through at most one segment per level
 * below the top (plus the top level's), where a bulk ingest leaves up to `factor - 1` per level. A run of the top
 * level is merged at rest only while the result stays below level 2 (factor² seals: about a minute of graph building
 * here); beyond that its merge would rewrite most of the index.
 */
export function chooseMerge(segments: SegmentShape[], policy: MergePolicy, atRest = false): { first: number; last: number } | null {
  const levels = segments.map((segment) => levelOf(segment.live, policy));
  for (let first = 0; first + policy.factor <= segments.length; first++) {
    const last = first + policy.factor - 1;
    if (levels.slice(first, last + 1).every((level) => level === levels[first])) return { first, last };
  }
  const alone = segments.findIndex(
    (segment) => segment.lacksGraph || (segment.rows > 0 && (segment.rows - segment.live) / segment.rows > policy.maxDeadFraction),
  );
  if (alone >= 0) return { first: alone, last: alone };
  return atRest ? lowestRun(segments, levels, policy) : null;
}

/** The lowest-level run of two or more neighbours worth merging at rest, if any. */
function lowestRun(segments: SegmentShape[], levels: number[], policy: MergePolicy): { first: number; last: number } | null {
  const top = Math.max(...levels);
  const smallMerge = policy.sealSize * policy.factor ** 2;
  let best: { first: number; last: number } | null = null;
  for (let first = 0; first < levels.length; ) {
    let last = first;
    while (last + 1 < levels.length && levels[last + 1] === levels[first]) last++;
    const live = segments.slice(first, last + 1).reduce((sum, segment) => sum + segment.live, 0);
    const worth = last > first && (levels[first]! < top || live < smallMerge);
    if (worth && (!best || levels[first]! < levels[best.first]!)) best = { first, last };
    first = last + 1;
  }
  return best;
}

/** floor(log_factor(live / sealSize)), at least 0: a segment a little over the seal size is still level 0. */
export function levelOf(live: number, policy: Pick<MergePolicy, "sealSize" | "factor">): number {
  let level = 0;
  for (let size = policy.sealSize * policy.factor; live >= size; size *= policy.factor) level++;
  return level;
}
