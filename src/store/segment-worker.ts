// The worker thread of segment-job.ts: runs one job and says how it went.
import { runSegmentJob, type SegmentJob } from "./segment-job.ts";

declare const self: Worker;

self.onmessage = (event: MessageEvent<SegmentJob>) => {
  try {
    postMessage(runSegmentJob(event.data, () => postMessage({ vectorsWritten: true })));
  } catch (error) {
    postMessage({ error: error instanceof Error ? error.message : String(error) });
  }
};
