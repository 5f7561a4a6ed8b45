// The service's embeddings of the labelled fashion photos (../shared/data/fashion), through the embedding cache, so
// the store benchmark and the scalar-kind measurement start from real vectors without re-running the model.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { EMBEDDING_DIMENSIONS, openModelSession } from "../../src/inference/model-session.ts";
import { normaliseEmbedding } from "../../src/inference/preprocess.ts";
import { PIPELINE } from "../../src/services.ts";
import { loadDataset } from "./dataset.ts";
import { EmbeddingCache } from "./embedding-cache.ts";
import { embedPhotos, sha256 } from "./embed-photos.ts";

const REPO_ROOT = resolve(import.meta.dir, "../..");
const SHARED = resolve(REPO_ROOT, "../shared");

/** photos x 2048 unit vectors, as the service stores them, with each photo's articleType. */
export async function labelledEmbeddings(options: { threads?: number } = {}): Promise<{ vectors: Float32Array; labels: string[] }> {
  const dataset = await loadDataset(resolve(process.env.FASHION_DIR ?? join(SHARED, "data/fashion")));
  const modelPath = resolve(
    process.env.MODEL_PATH ?? [join(SHARED, "models/resnet50.onnx"), join(REPO_ROOT, "models/resnet50.onnx")].find(existsSync)!,
  );
  const cache = EmbeddingCache.open(sha256(new Uint8Array(readFileSync(modelPath))));
  const session = await openModelSession({ modelPath, backend: "native", threads: options.threads ?? 2 });
  try {
    const run = await embedPhotos(session, cache, dataset.photos.map((photo) => photo.bytes), {
      fitMode: PIPELINE.fitMode,
      smoothing: PIPELINE.smoothing,
    }, { batchSize: 16, label: "labelled photos" });
    for (let i = 0; i < dataset.photos.length; i++) {
      const row = run.vectors.subarray(i * EMBEDDING_DIMENSIONS, (i + 1) * EMBEDDING_DIMENSIONS);
      row.set(normaliseEmbedding(row.slice(), PIPELINE.normalisation));
    }
    return { vectors: run.vectors, labels: dataset.photos.map((photo) => photo.articleType) };
  } finally {
    await session.close();
  }
}

if (import.meta.main) {
  const { vectors } = await labelledEmbeddings({ threads: 1 });
  console.log(`${vectors.length / EMBEDDING_DIMENSIONS} labelled embeddings ready`);
}
