// Writing a segment (a seal or a merge) in a worker thread: building an HNSW graph takes seconds to minutes, and
// searches must not wait behind it. The worker writes and fsyncs the files; the store then lists them in a manifest.
import { join } from "node:path";
import { type GraphOptions, mapSegment, type RowSource, verifyVectors, writeSegmentGraph, writeSegmentVectors } from "./segment-file.ts";
import { segmentVectorsName } from "./store-files.ts";

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

/** Writes the segment's files; runs in the worker (or in-process, for tests of the format). */
export function runSegmentJob(job: SegmentJob): void {
  const sources: RowSource[] = job.sources.map((source) => {
    if ("vectors" in source) return source;
    const mapped = mapSegment(job.dir, source.segment.number, job.dimensions, source.segment.rows);
    verifyVectors(mapped, join(job.dir, segmentVectorsName(source.segment.number)));
    return { vectors: mapped.vectors, rows: source.rows };
  });
  const vectors = writeSegmentVectors(job.dir, job.number, job.dimensions, sources, job.ids, job.deletions);
  if (job.graph) writeSegmentGraph(job.dir, job.number, job.dimensions, vectors, job.graph);
}

/** A job running in its own worker; `cancel` stops it (its half-written files are removed at the next open). */
export function startSegmentJob(job: SegmentJob): { done: Promise<void>; cancel(): void } {
  const worker = new Worker(new URL("./segment-worker.ts", import.meta.url).href);
  let settle: { resolve: () => void; reject: (error: Error) => void };
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  worker.onmessage = (event: MessageEvent<{ error?: string }>) => {
    worker.terminate();
    if (event.data.error) settle.reject(new Error(event.data.error));
    else settle.resolve();
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
