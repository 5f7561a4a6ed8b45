// A store writer to kill: opens the store in the DATA_DIR given as its argument with small segments, then stores
// products 1, 2, 3, ... one after another (deleting every seventh product's predecessor by three), printing
// "put N" or "deleted N" once each change is acknowledged, and "seal" or "merge" when a segment write starts.
import { VectorStore } from "../../src/store/vector-store.ts";
import { distinct } from "./store-vectors.ts";

export const WRITER_DIMENSIONS = 256;
export const WRITER_SIZES = { sealSize: 300, mergeFactor: 2, exactBelow: 50 };

if (import.meta.main) {
  const store = await VectorStore.open({
    dataDir: process.argv[2]!,
    dimensions: WRITER_DIMENSIONS,
    pipeline: "test-pipeline/v1",
    ...WRITER_SIZES,
    onSegmentWrite: (kind) => console.log(kind),
  });
  for (let id = 1; ; id++) {
    await store.put(id, distinct(id, WRITER_DIMENSIONS));
    console.log(`put ${id}`);
    if (id % 7 === 0) {
      await store.delete(id - 3);
      console.log(`deleted ${id - 3}`);
    }
  }
}
