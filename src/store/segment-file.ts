// A sealed segment on disk: written once, never changed, memory-mapped when opened.
//   segment-N.vectors   rows x dimensions float32 vectors, from byte 0 (so the mapped file is handed to USearch's
//                       exact search as it is: its native code ignores a typed array's offset), then rows x u32 ids,
//                       deletions x u32 ids (products this segment deletes from older ones), then a 32-byte footer:
//                       magic, version, dimensions, rows, deletions, CRC-32 of ids + deletions, CRC-32 of the vectors.
//   segment-N.usearch   the HNSW graph over the rows (keys are row numbers), absent for small segments, which are
//                       searched exactly. USearch's JS binding can return no vector, hence ours beside it.
//   segment-N.orphans   the rows the graph does not find from their own vector (HNSW's pruning can leave a node
//                       unreachable), in the same layout with row numbers as ids: scanned beside the graph (as int8
//                       codes, orphan-scan.ts), so that every stored vector is found from itself.
// The ids' checksum is checked at open (cheap); the vectors' whenever a merge reads them (reading 8 KB per product
// at every start would cost seconds at a million).
import { closeSync, fsyncSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { exactSearch, Index, MetricKind, ScalarKind } from "usearch";
import { OrphanScan } from "./orphan-scan.ts";
import type { SegmentEntry } from "./store-files.ts";
import { segmentGraphName, segmentOrphansName, segmentVectorsName } from "./store-files.ts";
import { StoreError } from "./store-error.ts";

const MAGIC = 0x53504946; // "FIPS" little-endian
const VERSION = 1;
const FOOTER_BYTES = 32;
const WRITE_CHUNK_ROWS = 256;

export type GraphScalar = "f32" | "f16" | "i8";

export interface GraphOptions {
  scalar: GraphScalar;
  connectivity: number;
  expansionAdd: number;
  expansionSearch: number;
}

/** f16 graphs: on the labelled photos, recall@10 and P@10 equal f32's (docs/performance.md), at half the size. */
export const DEFAULT_GRAPH: GraphOptions = { scalar: "f16", connectivity: 16, expansionAdd: 128, expansionSearch: 64 };

export function newGraph(dimensions: number, options: GraphOptions): Index {
  return new Index({
    dimensions,
    metric: MetricKind.L2sq,
    quantization: options.scalar as ScalarKind,
    connectivity: options.connectivity,
    expansion_add: options.expansionAdd,
    expansion_search: options.expansionSearch,
    multi: false,
  });
}

/** Vectors to copy into a new segment: `rows` of `vectors` (rows x dimensions), in that order. */
export interface RowSource {
  vectors: Float32Array;
  rows: Uint32Array;
}

/**
 * Writes and fsyncs a vectors file from the sources (the output's row i is the i-th row taken), with `ids` and
 * `deletions`; returns the mapped file's vectors, to build a graph from.
 */
export function writeVectorsFile(path: string, dimensions: number, sources: RowSource[], ids: Uint32Array, deletions: Uint32Array): Float32Array {
  const rowBytes = dimensions * 4;
  const descriptor = openSync(path, "w");
  try {
    const chunk = new Float32Array(WRITE_CHUNK_ROWS * dimensions);
    const chunkBytes = new Uint8Array(chunk.buffer);
    let inChunk = 0;
    let vectorsCrc = 0;
    const flush = () => {
      const bytes = chunkBytes.subarray(0, inChunk * rowBytes);
      vectorsCrc = crc32Continue(bytes, vectorsCrc);
      writeAll(descriptor, bytes);
      inChunk = 0;
    };
    for (const { vectors, rows } of sources) {
      for (const row of rows) {
        chunk.set(vectors.subarray(row * dimensions, (row + 1) * dimensions), inChunk * dimensions);
        if (++inChunk === WRITE_CHUNK_ROWS) flush();
      }
    }
    flush();
    const tail = new Uint8Array((ids.length + deletions.length) * 4 + FOOTER_BYTES);
    const words = new Uint32Array(tail.buffer, 0, ids.length + deletions.length);
    words.set(ids);
    words.set(deletions, ids.length);
    const footer = new DataView(tail.buffer, words.byteLength);
    footer.setUint32(0, MAGIC, true);
    footer.setUint32(4, VERSION, true);
    footer.setUint32(8, dimensions, true);
    footer.setUint32(12, ids.length, true);
    footer.setUint32(16, deletions.length, true);
    footer.setUint32(20, Bun.hash.crc32(new Uint8Array(tail.buffer, 0, words.byteLength)), true);
    footer.setUint32(24, vectorsCrc, true);
    writeAll(descriptor, tail);
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
  return mapVectorsFile(path, dimensions, ids.length).vectors;
}

/**
 * Builds, saves and fsyncs segment-N.usearch over the segment's vectors (keys are row numbers), then asks the graph
 * for every row's own vector and writes the rows it misses as segment-N.orphans. Returns how many.
 */
export function writeSegmentGraph(dir: string, number: number, dimensions: number, vectors: Float32Array, options: GraphOptions): number {
  const rows = vectors.length / dimensions;
  const graph = newGraph(dimensions, options);
  if (rows > 0) graph.add(BigUint64Array.from({ length: rows }, (_, row) => BigInt(row)), vectors, 0);
  const path = join(dir, segmentGraphName(number));
  graph.save(path);
  fsyncFile(path);
  const orphans: number[] = [];
  for (let first = 0; first < rows; first += WRITE_CHUNK_ROWS) {
    const count = Math.min(WRITE_CHUNK_ROWS, rows - first);
    // One nearest per query, so result i is query i's (a twin at distance 0 counts as found).
    const found = graph.search(vectors.slice(first * dimensions, (first + count) * dimensions), 1, 0);
    for (let i = 0; i < count; i++) {
      if (Number(found.keys[i]) !== first + i && !(found.distances[i]! <= 0)) orphans.push(first + i);
    }
  }
  if (orphans.length > 0) {
    const rowsOf = Uint32Array.from(orphans);
    writeVectorsFile(join(dir, segmentOrphansName(number)), dimensions, [{ vectors, rows: rowsOf }], rowsOf, new Uint32Array(0));
  }
  return orphans.length;
}

function fsyncFile(path: string): void {
  const descriptor = openSync(path, "r");
  fsyncSync(descriptor);
  closeSync(descriptor);
}

export interface MappedSegment {
  vectors: Float32Array;
  ids: Uint32Array;
  deletions: Uint32Array;
  vectorsCrc32: number;
}

export function mapVectorsFile(path: string, dimensions: number, expectedRows: number): MappedSegment {
  const file = Bun.mmap(path, { shared: true });
  if (file.byteLength < FOOTER_BYTES) throw new StoreError(`${path} is truncated`);
  const footer = new DataView(file.buffer, file.byteOffset + file.byteLength - FOOTER_BYTES, FOOTER_BYTES);
  const rows = footer.getUint32(12, true);
  const deletions = footer.getUint32(16, true);
  if (
    footer.getUint32(0, true) !== MAGIC ||
    footer.getUint32(8, true) !== dimensions ||
    rows !== expectedRows ||
    file.byteLength !== rows * dimensions * 4 + (rows + deletions) * 4 + FOOTER_BYTES
  ) {
    throw new StoreError(`${path} does not match its manifest`);
  }
  const idsStart = rows * dimensions * 4;
  if (Bun.hash.crc32(file.subarray(idsStart, idsStart + (rows + deletions) * 4)) !== footer.getUint32(20, true)) {
    throw new StoreError(`${path} is corrupt (checksum of its ids)`);
  }
  return {
    vectors: new Float32Array(file.buffer, file.byteOffset, rows * dimensions),
    ids: new Uint32Array(file.buffer, file.byteOffset + idsStart, rows),
    deletions: new Uint32Array(file.buffer, file.byteOffset + idsStart + rows * 4, deletions),
    vectorsCrc32: footer.getUint32(24, true),
  };
}

/** Checks the vectors' checksum (a merge reads every vector anyway). */
export function verifyVectors(segment: { vectors: Float32Array; vectorsCrc32: number }, path: string): void {
  const bytes = new Uint8Array(segment.vectors.buffer, segment.vectors.byteOffset, segment.vectors.byteLength);
  if (crc32Continue(bytes, 0) !== segment.vectorsCrc32) throw new StoreError(`${path} is corrupt (checksum of its vectors)`);
}

/** A row of a segment and its squared L2 distance to a query. */
export interface RowMatch {
  row: number;
  distance: number;
}

/** What every segment, sealed or mutable, answers. */
export interface Segment {
  readonly number: number;
  readonly rows: number;
  idAt(row: number): number;
  vectorAt(row: number): Float32Array;
  /**
   * The nearest `k` rows (live or not) to each of `count` queries laid end to end in `queries` (which must own its
   * buffer), searched by up to `threads` threads.
   */
  nearest(queries: Float32Array, count: number, k: number, threads: number): RowMatch[][];
}

/** USearch answers one query with Matches and several with BatchMatches (k slots a query, `counts` of them used). */
export function splitMatches(found: { keys: BigUint64Array; distances: Float32Array; counts?: BigUint64Array }, queries: number, k: number): RowMatch[][] {
  if (queries === 1) return [toRowMatches(found.keys, found.distances)];
  return Array.from({ length: queries }, (_, q) => {
    const used = found.counts ? Number(found.counts[q]) : k;
    return toRowMatches(found.keys.subarray(q * k, q * k + used), found.distances.subarray(q * k, q * k + used));
  });
}

/** What opens a sealed segment: enough for another thread to map the same files (search-threads.ts). */
export interface SegmentSource {
  dir: string;
  entry: SegmentEntry;
  dimensions: number;
  graph: GraphOptions;
}

export class SealedSegment implements Segment {
  readonly number: number;
  readonly source: SegmentSource;
  readonly rows: number;
  readonly ids: Uint32Array;
  readonly deletions: Uint32Array;
  readonly vectors: Float32Array;
  readonly vectorsCrc32: number;
  /** Whether the manifest lists a graph file for it (`graph` may still be null, if the file could not be read). */
  readonly hasGraphFile: boolean;
  readonly #dimensions: number;
  /** Null for a segment searched exactly: a small one, or one whose graph is missing or unreadable. */
  readonly graph: Index | null;
  /** Rows the graph misses, scanned beside it. */
  readonly #orphans: OrphanScan | null;

  private constructor(source: SegmentSource, mapped: MappedSegment, graph: Index | null, orphans: OrphanScan | null) {
    this.source = source;
    this.number = source.entry.number;
    this.#orphans = orphans;
    this.hasGraphFile = source.entry.hasGraph;
    this.#dimensions = source.dimensions;
    this.ids = mapped.ids;
    this.rows = mapped.ids.length;
    this.deletions = mapped.deletions;
    this.vectors = mapped.vectors;
    this.vectorsCrc32 = mapped.vectorsCrc32;
    this.graph = graph;
  }

  static open(dir: string, entry: SegmentEntry, dimensions: number, graphOptions: GraphOptions): SealedSegment {
    const mapped = mapVectorsFile(join(dir, segmentVectorsName(entry.number)), dimensions, entry.rows);
    let graph: Index | null = null;
    let orphans: OrphanScan | null = null;
    if (entry.hasGraph) {
      try {
        graph = newGraph(dimensions, graphOptions);
        graph.view(join(dir, segmentGraphName(entry.number))); // the file says its own scalar kind
        if (entry.orphans > 0) {
          const file = mapVectorsFile(join(dir, segmentOrphansName(entry.number)), dimensions, entry.orphans);
          orphans = new OrphanScan(file.vectors, file.ids, dimensions);
        }
        if (graph.size() !== entry.rows) graph = null;
      } catch {
        graph = null; // searched exactly until a merge rewrites it
      }
    }
    return new SealedSegment({ dir, entry, dimensions, graph: graphOptions }, mapped, graph, graph && orphans);
  }

  get orphans(): number {
    return this.#orphans?.size ?? 0;
  }

  idAt(row: number): number {
    return this.ids[row]!;
  }

  vectorAt(row: number): Float32Array {
    return this.vectors.subarray(row * this.#dimensions, (row + 1) * this.#dimensions);
  }

  nearest(queries: Float32Array, count: number, k: number, threads: number): RowMatch[][] {
    const wanted = Math.min(k, this.rows);
    if (wanted === 0) return Array.from({ length: count }, () => []);
    if (!this.graph) return splitMatches(exactSearch(this.vectors, queries, this.#dimensions, wanted, MetricKind.L2sq, threads), count, wanted);
    const found = splitMatches(this.graph.search(queries, wanted, threads), count, wanted);
    if (!this.#orphans) return found;
    const scanned = this.#orphans.nearest(queries, count, wanted, threads);
    return found.map((matches, q) => {
      const seen = new Set(matches.map((match) => match.row));
      for (const match of scanned[q]!) if (!seen.has(match.row)) matches.push(match);
      return matches.sort((a, b) => a.distance - b.distance).slice(0, wanted);
    });
  }
}

export function toRowMatches(keys: BigUint64Array, distances: Float32Array): RowMatch[] {
  const out: RowMatch[] = [];
  for (let i = 0; i < keys.length; i++) out.push({ row: Number(keys[i]), distance: Math.max(0, distances[i]!) });
  return out;
}

function writeAll(descriptor: number, bytes: Uint8Array): void {
  for (let written = 0; written < bytes.length; ) written += writeSync(descriptor, bytes, written, bytes.length - written);
}

/** CRC-32 of `bytes` continuing from `crc`, the CRC of the bytes before them. */
function crc32Continue(bytes: Uint8Array, crc: number): number {
  return Bun.hash.crc32(bytes, crc);
}
