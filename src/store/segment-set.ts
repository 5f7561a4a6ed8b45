// The live view of the index in memory: the sealed segments (oldest first), the mutable segment (and the one being
// sealed, until its file is listed), and which row of which segment holds each product's current vector. A product's
// current row is the newest it has; older rows of it are dead and skipped by searches until a merge drops them.
import type { JournalRecord } from "./journal.ts";
import { IdTable, type IdTableCopy } from "./id-table.ts";
import { MutableSegment, type MutableSegmentCopy } from "./mutable-segment.ts";
import type { SearchThreads, SegmentMatches } from "./search-threads.ts";
import { squaredDistance } from "./squared-distance.ts";
import type { RowMatch, SealedSegment, Segment, SegmentSource } from "./segment-file.ts";

export interface Neighbour {
  id: number;
  /** Squared L2 distance. */
  distance: number;
}

/** A change to the set, as a mirror on another thread replays it (store-mirror.ts). */
export type SetChange =
  | { kind: "apply"; record: JournalRecord }
  | { kind: "freeze"; number: number }
  | { kind: "replace"; inputs: number[]; output: SegmentSource; origins: { segment: number; row: number }[] };

/** The whole set as plain data, for another thread to rebuild it exactly (`SegmentSet.fromSnapshot`). */
export interface SetSnapshot {
  dimensions: number;
  sealed: SegmentSource[];
  sealing: MutableSegmentCopy | null;
  mutable: MutableSegmentCopy;
  current: IdTableCopy;
  liveRows: [number, number][];
}

const ROWS_PER_SEGMENT = 2 ** 32;
const locate = (segment: number, row: number) => segment * ROWS_PER_SEGMENT + row;
const segmentOf = (location: number) => Math.floor(location / ROWS_PER_SEGMENT);
const rowOf = (location: number) => location % ROWS_PER_SEGMENT;

export class SegmentSet {
  readonly #dimensions: number;
  sealed: SealedSegment[] = [];
  mutable: MutableSegment;
  /** The previous mutable segment while its sealed file is written. */
  sealing: MutableSegment | null = null;
  readonly #byNumber = new Map<number, Segment>();
  /** Product id -> the segment and row of its current vector. */
  #current = new IdTable();
  /** Segment number -> rows still current. */
  readonly #liveRows = new Map<number, number>();
  #sortedIds: Uint32Array | null = null;
  /** Searches answered with the sealed segments searched on threads (not redone here after a seal or merge). */
  searchesOnThreads = 0;
  /** Changes whenever sealed segments are added or replaced. */
  #layout = 0;
  /** Told of every change after it is applied (a mirror's feed). */
  onChange: ((change: SetChange) => void) | null = null;

  constructor(dimensions: number, mutableNumber: number) {
    this.#dimensions = dimensions;
    this.mutable = this.#register(new MutableSegment(mutableNumber, dimensions));
  }

  /** Rebuilds a set from `snapshot`, opening its sealed segments with `open`. */
  static fromSnapshot(snapshot: SetSnapshot, open: (source: SegmentSource) => SealedSegment): SegmentSet {
    const set = new SegmentSet(snapshot.dimensions, snapshot.mutable.number);
    set.sealed = snapshot.sealed.map((source) => set.#register(open(source)));
    if (snapshot.sealing) set.sealing = set.#register(MutableSegment.from(snapshot.sealing));
    set.mutable = set.#register(MutableSegment.from(snapshot.mutable));
    set.#current = IdTable.from(snapshot.current);
    for (const [segment, live] of snapshot.liveRows) set.#liveRows.set(segment, live);
    return set;
  }

  snapshot(): SetSnapshot {
    return {
      dimensions: this.#dimensions,
      sealed: this.sealed.map((segment) => segment.source),
      sealing: this.sealing?.copy() ?? null,
      mutable: this.mutable.copy(),
      current: this.#current.copy(),
      liveRows: [...this.#liveRows],
    };
  }

  get dimensions(): number {
    return this.#dimensions;
  }

  get count(): number {
    return this.#current.size;
  }

  has(id: number): boolean {
    return this.#current.has(id);
  }

  liveRowsOf(segment: number): number {
    return this.#liveRows.get(segment) ?? 0;
  }

  idAt(segment: number, row: number): number {
    return this.#byNumber.get(segment)!.idAt(row);
  }

  isCurrent(segment: Segment, row: number): boolean {
    return this.#current.get(segment.idAt(row)) === locate(segment.number, row);
  }

  vectorOf(id: number): Float32Array | undefined {
    const location = this.#current.get(id);
    return location === undefined ? undefined : this.#byNumber.get(segmentOf(location))!.vectorAt(rowOf(location));
  }

  listIds(offset: number, limit: number): { ids: number[]; total: number } {
    this.#sortedIds ??= this.#current.ids().sort();
    return { ids: Array.from(this.#sortedIds.subarray(offset, offset + limit)), total: this.#sortedIds.length };
  }

  apply(record: JournalRecord): void {
    const existed = this.#forget(record.id);
    if (record.op === "put") {
      this.#setCurrent(record.id, this.mutable, this.mutable.append(record.id, record.vector));
    } else {
      this.mutable.recordDeletion(record.id);
    }
    if (existed !== (record.op === "put")) this.#sortedIds = null;
    this.onChange?.({ kind: "apply", record });
  }

  /** Adds a sealed segment at the newest end, as loaded from the manifest: its rows and deletions override older ones. */
  loadSealed(segment: SealedSegment): void {
    this.#layout++;
    this.sealed.push(this.#register(segment));
    for (let row = 0; row < segment.rows; row++) {
      this.#forget(segment.ids[row]!);
      this.#setCurrent(segment.ids[row]!, segment, row);
    }
    for (const id of segment.deletions) this.#forget(id);
    this.#sortedIds = null;
  }

  /** Starts a new mutable segment; the current one is kept (searched) as `sealing` until `sealed` is called. */
  freeze(nextNumber: number): MutableSegment {
    this.sealing = this.mutable;
    this.mutable = this.#register(new MutableSegment(nextNumber, this.#dimensions));
    this.onChange?.({ kind: "freeze", number: nextNumber });
    return this.sealing;
  }

  /**
   * Replaces the segments numbered `inputs` (neighbours in `sealed`, or the frozen mutable segment) with `output`,
   * whose row i was row `origins[i]` of an input: rows that are still current move to the output, the others stay dead
   * in it.
   */
  replace(inputs: number[], output: SealedSegment, origins: { segment: number; row: number }[]): void {
    this.#layout++;
    const numbers = new Set(inputs);
    let live = 0;
    origins.forEach(({ segment, row }, outputRow) => {
      const id = output.ids[outputRow]!;
      if (this.#current.get(id) === locate(segment, row)) {
        this.#current.set(id, locate(output.number, outputRow));
        live++;
      }
    });
    // A sealed mutable segment keeps its number: forget the inputs before registering the output.
    for (const number of numbers) {
      this.#byNumber.delete(number);
      this.#liveRows.delete(number);
    }
    this.#register(output);
    this.#liveRows.set(output.number, live);
    const at = this.sealed.findIndex((segment) => numbers.has(segment.number));
    const kept = this.sealed.filter((segment) => !numbers.has(segment.number));
    if (at < 0) kept.push(output); // a seal: the newest sealed segment
    else kept.splice(at, 0, output);
    this.sealed = kept;
    if (this.sealing && numbers.has(this.sealing.number)) this.sealing = null;
    this.onChange?.({ kind: "replace", inputs, output: output.source, origins });
  }

  /** The `k` current vectors nearest to `vector`, nearest first, searched at once on this thread. */
  searchOne(vector: Float32Array, k: number): Neighbour[] {
    if (this.count === 0 || k <= 0) return [];
    return this.search(ownBuffer(vector), 1, Math.min(k, this.count), 1)[0]!;
  }

  /**
   * The `k` current vectors nearest to each of `count` queries laid end to end in `queries` (which must own its
   * buffer), nearest first, across all segments; each segment searches them all at once on up to `threads` threads.
   */
  search(queries: Float32Array, count: number, k: number, threads: number): Neighbour[][] {
    const plans = this.#plan([...this.#searchable()], k);
    return this.#gather(queries, count, k, plans, plans.map(({ segment, wanted }) => segment.nearest(queries, count, wanted, threads)));
  }

  /**
   * The same answer, with the sealed segments searched on `threads` while the event loop goes on; the in-memory
   * segments are scanned here once those answers are back, so changes made meanwhile are seen.
   */
  async searchOnThreads(queries: Float32Array, count: number, k: number, threads: SearchThreads): Promise<Neighbour[][]> {
    const layout = this.#layout;
    const sealed = this.#sealedPlan(k);
    if (sealed.length === 0) return this.search(queries, count, k, 1);
    let found: SegmentMatches;
    try {
      found = await threads.search({ queries, count, segments: sourcesOf(sealed) });
    } catch {
      return this.search(queries, count, k, 1);
    }
    // A seal or merge replaced segments meanwhile: the rows found may have moved to a segment not searched.
    if (layout !== this.#layout) return this.search(queries, count, k, 1);
    const inMemory = this.#plan(this.sealing ? [this.sealing, this.mutable] : [this.mutable], k);
    const local = inMemory.map(({ segment, wanted }) => segment.nearest(queries, count, wanted, 1));
    this.searchesOnThreads += count;
    return this.#gather(queries, count, k, [...sealed, ...inMemory], [...found, ...local]);
  }

  /** Starts the search threads that are stopped, opening the sealed segments there with a search of `query`. */
  warmUp(query: Float32Array, k: number, threads: SearchThreads): void {
    const sealed = this.#sealedPlan(k);
    if (sealed.length > 0) threads.warmUp({ queries: query, count: 1, segments: sourcesOf(sealed) });
  }

  /** The plan for the sealed segments alone: what the search threads are asked. */
  #sealedPlan(k: number): { segment: SealedSegment; wanted: number }[] {
    return this.#plan(this.sealed, k) as { segment: SealedSegment; wanted: number }[];
  }

  /** How many rows to ask each segment for: more than k in proportion to its dead rows. */
  #plan(segments: Segment[], k: number): { segment: Segment; wanted: number }[] {
    return segments
      .map((segment) => ({ segment, live: this.liveRowsOf(segment.number) }))
      .filter(({ live }) => live > 0)
      .map(({ segment, live }) => ({ segment, wanted: Math.min(segment.rows, Math.ceil((k * segment.rows) / live) + 4) }));
  }

  /** Each query's k nearest current rows from what each planned segment found (found[s][q]). */
  #gather(queries: Float32Array, count: number, k: number, plans: { segment: Segment; wanted: number }[], found: RowMatch[][][]): Neighbour[][] {
    const dimensions = this.#dimensions;
    const nearest: Neighbour[][] = Array.from({ length: count }, () => []);
    plans.forEach(({ segment, wanted }, s) => {
      const live = this.liveRowsOf(segment.number);
      for (let q = 0; q < count; q++) {
        let current = found[s]![q]!.filter((match) => this.isCurrent(segment, match.row));
        const query = queries.subarray(q * dimensions, (q + 1) * dimensions);
        // Too few current rows among those found: ask this segment again, alone, for twice as many.
        for (let more = wanted; current.length < Math.min(k, live) && more < segment.rows; ) {
          more = Math.min(segment.rows, more * 2);
          current = segment.nearest(query.slice(), 1, more, 1)[0]!.filter((match) => this.isCurrent(segment, match.row));
        }
        // A graph ranks by its f16 copy of the vectors: every score is recomputed from the stored float32 vector, so
        // a product scores the same whichever segment holds it, and before and after a seal.
        for (const match of current.slice(0, k)) {
          nearest[q]!.push({ id: segment.idAt(match.row), distance: squaredDistance(query, segment.vectorAt(match.row)) });
        }
      }
    });
    return nearest.map((neighbours) => neighbours.sort((a, b) => a.distance - b.distance || a.id - b.id).slice(0, k));
  }

  *#searchable(): Iterable<Segment> {
    yield* this.sealed;
    if (this.sealing) yield this.sealing;
    yield this.mutable;
  }

  #register<T extends Segment>(segment: T): T {
    this.#byNumber.set(segment.number, segment);
    return segment;
  }

  #setCurrent(id: number, segment: Segment, row: number): void {
    this.#current.set(id, locate(segment.number, row));
    this.#liveRows.set(segment.number, this.liveRowsOf(segment.number) + 1);
  }

  /** Marks the product's current row dead; whether it had one. */
  #forget(id: number): boolean {
    const location = this.#current.get(id);
    if (location === undefined) return false;
    this.#current.delete(id);
    const segment = segmentOf(location);
    this.#liveRows.set(segment, this.liveRowsOf(segment) - 1);
    return true;
  }
}

function sourcesOf(plans: { segment: SealedSegment; wanted: number }[]): { source: SegmentSource; wanted: number }[] {
  return plans.map(({ segment, wanted }) => ({ source: segment.source, wanted }));
}

/**
 * USearch's exact search reads a typed array from the start of its buffer, ignoring a view's offset: a view (stored
 * vectors are views into mapped files) is copied out before it is handed over.
 */
function ownBuffer(vector: Float32Array): Float32Array {
  return vector.byteOffset === 0 && vector.buffer.byteLength === vector.byteLength ? vector : vector.slice();
}
