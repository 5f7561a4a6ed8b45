// A second process for lock tests: opens the store in the DATA_DIR given as its argument, says "open" (or prints
// the refusal and exits 1), then holds the store until it is killed.
import { VectorStore } from "../../src/store/vector-store.ts";

try {
  await VectorStore.open({ dataDir: process.argv[2]!, dimensions: 8, pipeline: "test-pipeline/v1" });
} catch (error) {
  console.log((error as Error).message);
  process.exit(1);
}
console.log("open");
setInterval(() => {}, 1 << 30);
