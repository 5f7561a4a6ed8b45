// The service's vectors of the labelled fashion photos (../shared/data/fashion): the model's embeddings (through the
// embedding cache), normalised and projected exactly as the pipeline does, so the store benchmarks start from real
// vectors without running the service.
import { join, resolve } from "node:path";
import { COLOUR_DIMENSIONS } from "../../src/inference/colour-descriptor.ts";
import { EMBEDDING_DIMENSIONS } from "../../src/inference/model-session.ts";
import { applyProjection } from "../../src/inference/projection.ts";
import { loadPipelineProjection } from "../../src/services.ts";
import { sqrtL2Rows } from "./fit-vectors.ts";
import { type LabelledSet, loadLabelledSet, modelPath } from "./labelled-set.ts";

const REPO_ROOT = resolve(import.meta.dir, "../..");

/** Each catalogue photo's vector as the service stores it (the pipeline's projection of its embedding and colours). */
export function pipelineVectors(set: LabelledSet): Float32Array[] {
  const projection = loadPipelineProjection();
  const D = EMBEDDING_DIMENSIONS;
  const base = sqrtL2Rows(set.catalogueRaw, D);
  return set.dataset.photos.map((_, i) =>
    applyProjection(projection, base.subarray(i * D, (i + 1) * D), set.catalogueColour.subarray(i * COLOUR_DIMENSIONS, (i + 1) * COLOUR_DIMENSIONS)),
  );
}

/** photos x `dimensions` unit vectors, one row per labelled photo, with each photo's articleType. */
export async function labelledEmbeddings(): Promise<{ vectors: Float32Array; dimensions: number; labels: string[] }> {
  const set = await loadLabelledSet({
    fashionDir: resolve(process.env.FASHION_DIR ?? join(REPO_ROOT, "../shared/data/fashion")),
    modelPath: modelPath(REPO_ROOT),
    shopperCount: 0,
    log: console.log,
  });
  const rows = pipelineVectors(set);
  const dimensions = rows[0]!.length;
  const vectors = new Float32Array(rows.length * dimensions);
  rows.forEach((row, i) => vectors.set(row, i * dimensions));
  return { vectors, dimensions, labels: set.dataset.photos.map((photo) => photo.articleType) };
}

if (import.meta.main) {
  const { vectors, dimensions } = await labelledEmbeddings();
  console.log(`${vectors.length / dimensions} labelled vectors of ${dimensions} dimensions ready`);
}
