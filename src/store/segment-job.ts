// Writing a segment (a seal or a merge) in a worker thread: building an HNSW graph takes seconds to minutes, and
// searches must not wait behind it. The worker writes and fsyncs the files; the store then lists them in a manifest.
import { join } from "node:path";
import { type GraphOptions, mapVectorsFile, type RowSource, verifyVectors, writeSegmentGraph, writeVectorsFile } from "./segment-file.ts";
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
  const worker = new Worker(new URL("./segment-worker.ts", import.meta.url).href);
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
