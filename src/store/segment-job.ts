// Writing a segment (a seal or a merge) in a worker thread: building an HNSW graph takes seconds to minutes, and
// searches must not wait behind it. The worker writes and fsyncs the files; the store then lists them in a manifest.
import { join } from "node:path";
import { workerEntry } from "../runtime/standalone.ts";
import { type GraphOptions, mapVectorsFile, type RowSource, verifyVectors, writeSegmentGraph, writeVectorsFile } from "./segment-file.ts";
import type { MutableSegment } from "./mutable-segment.ts";
import type { SealedSegment } from "./segment-file.ts";
import type { SegmentSet } from "./segment-set.ts";
import { segmentVectorsName } from "./store-files.ts";

const SEGMENT_WORKER = workerEntry("store/segment-worker.ts");

export interface SegmentJob {
  dir: string;
  number: number;
  dimensions: number;
  /** Rows taken from sealed segments (read from their files) or from vectors sent along, in output order. */
  sources: ({ segment: { number: number; rows: number }; rows: Uint32Array } | { vectors: Float32Array; rows: Uint32Array })[];
  ids: Uint32Array;
  deletions: Uint32Array;
  /** Null: no graph, the segment is small enough to search exactly. */
  graph: GraphOptions | null;
}

export function rowNumbers(count: number): Uint32Array {
  return Uint32Array.from({ length: count }, (_, row) => row);
}

/** Writes the segment's files and says how many orphan rows its graph has; runs in the worker (or in-process). */
export function runSegmentJob(job: SegmentJob, vectorsWritten: () => void = () => {}): { orphans: number } {
  const sources: RowSource[] = job.sources.map((source) => {
    if ("vectors" in source) return source;
    const path = join(job.dir, segmentVectorsName(source.segment.number));
    const mapped = mapVectorsFile(path, job.dimensions, source.segment.rows);
    verifyVectors(mapped, path);
    return { vectors: mapped.vectors, rows: source.rows };
  });
  const vectors = writeVectorsFile(join(job.dir, segmentVectorsName(job.number)), job.dimensions, sources, job.ids, job.deletions);
  vectorsWritten();
  return { orphans: job.graph ? writeSegmentGraph(job.dir, job.number, job.dimensions, vectors, job.graph) : 0 };
}

/**
 * A job running in its own worker; `cancel` stops it (its half-written files are removed at the next open).
 * `vectorsWritten` is called once its vectors file is on disk, as its graph is being built.
 */
export function startSegmentJob(job: SegmentJob, vectorsWritten: () => void): { done: Promise<{ orphans: number }>; cancel(): void } {
  const worker = new Worker(SEGMENT_WORKER);
  let settle: { resolve: (result: { orphans: number }) => void; reject: (error: Error) => void };
  const done = new Promise<{ orphans: number }>((resolve, reject) => (settle = { resolve, reject }));
  worker.onmessage = (event: MessageEvent<{ error?: string; orphans?: number; vectorsWritten?: true }>) => {
    if (event.data.vectorsWritten) return vectorsWritten();
    worker.terminate();
    if (event.data.error) settle.reject(new Error(event.data.error));
    else settle.resolve({ orphans: event.data.orphans ?? 0 });
  };
  worker.onerror = (event) => {
    worker.terminate();
    settle.reject(new Error(event.message));
  };
  worker.postMessage(job);
  return {
    done,
    cancel() {
      worker.terminate();
      settle.reject(new Error("cancelled"));
    },
  };
}

interface PlanOptions {
  dataDir: string;
  dimensions: number;
  exactBelow: number;
  graph: GraphOptions;
}

/** Sealing the frozen mutable segment: its current rows (a copy sent to the worker) and its deletions. */
export function planSeal(set: SegmentSet, frozen: MutableSegment, options: PlanOptions): { job: SegmentJob; rows: number[] } {
  const { dimensions } = options;
  const rows: number[] = [];
  for (let row = 0; row < frozen.rows; row++) if (set.isCurrent(frozen, row)) rows.push(row);
  const vectors = new Float32Array(rows.length * dimensions);
  rows.forEach((row, i) => vectors.set(frozen.vectorAt(row), i * dimensions));
  const job: SegmentJob = {
    dir: options.dataDir,
    number: frozen.number,
    dimensions,
    sources: [{ vectors, rows: rowNumbers(rows.length) }],
    ids: Uint32Array.from(rows, (row) => frozen.idAt(row)),
    deletions: Uint32Array.from(frozen.deletions),
    graph: rows.length >= options.exactBelow ? options.graph : null,
  };
  return { job, rows };
}

/**
 * Merging neighbouring sealed segments into segment `number`: their rows still current, in order (`origins` says
 * where each came from), and their deletions, which matter only while an older segment may hold the product (none is
 * older than the oldest) and never for a product the merged segment holds.
 */
export function planMerge(set: SegmentSet, inputs: SealedSegment[], includesOldest: boolean, number: number, options: PlanOptions): { job: SegmentJob; origins: { segment: number; row: number }[] } {
  const origins: { segment: number; row: number }[] = [];
  const sources = inputs.map((segment) => {
    const rows: number[] = [];
    for (let row = 0; row < segment.rows; row++) if (set.isCurrent(segment, row)) rows.push(row);
    for (const row of rows) origins.push({ segment: segment.number, row });
    return { segment: { number: segment.number, rows: segment.rows }, rows: Uint32Array.from(rows) };
  });
  const ids = Uint32Array.from(origins, ({ segment, row }) => set.idAt(segment, row));
  const kept = new Set(ids);
  const deletions = includesOldest ? [] : [...new Set(inputs.flatMap((segment) => [...segment.deletions]))].filter((id) => !kept.has(id));
  const job: SegmentJob = {
    dir: options.dataDir,
    number,
    dimensions: options.dimensions,
    sources,
    ids,
    deletions: Uint32Array.from(deletions),
    graph: ids.length >= options.exactBelow ? options.graph : null,
  };
  return { job, origins };
}
