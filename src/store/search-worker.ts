// A search thread of search-threads.ts: keeps its own mapped views of the segments it is asked about, and forgets
// those a request no longer lists (merged away), so their files can be released.
import { lowerThisThreadPriority, SEARCH_THREAD_NICE } from "../runtime/thread-priority.ts";
import type { SearchReply, ThreadSearch } from "./search-threads.ts";
import { SealedSegment, type SegmentSource } from "./segment-file.ts";

declare const self: Worker;

lowerThisThreadPriority(SEARCH_THREAD_NICE);

const segments = new Map<string, SealedSegment>();
const keyOf = (source: SegmentSource) => `${source.dir}/${source.entry.number}/${source.entry.rows}/${source.entry.hasGraph}`;

self.onmessage = (event: MessageEvent<ThreadSearch & { id: number }>) => {
  const { id, queries, count } = event.data;
  let reply: SearchReply;
  try {
    const listed = new Set(event.data.segments.map(({ source }) => keyOf(source)));
    for (const key of segments.keys()) if (!listed.has(key)) segments.delete(key);
    const found = event.data.segments.map(({ source, wanted }) => {
      const key = keyOf(source);
      let segment = segments.get(key);
      if (!segment) segments.set(key, (segment = SealedSegment.open(source.dir, source.entry, source.dimensions, source.graph)));
      return segment.nearest(queries, count, wanted, 1);
    });
    reply = { id, found };
  } catch (error) {
    reply = { id, error: error instanceof Error ? error.message : String(error) };
  }
  postMessage(reply);
};
