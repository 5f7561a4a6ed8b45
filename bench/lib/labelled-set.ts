// The labelled photos and the shopper set as the fitting script sees them: raw 2048-d embeddings of the catalogue
// and of the degraded shopper copies (through the service's preprocessing, from the embedding cache when it has
// them), and each photo's 3x224x224 model input reduced to what the colour descriptor needs.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { decodeToModelInput } from "../../src/inference/image-decoder.ts";
import { INPUT_FLOATS, openModelSession } from "../../src/inference/model-session.ts";
import { colourDescriptor, COLOUR_DIMENSIONS } from "../../src/inference/colour-descriptor.ts";
import { PIPELINE, pipelineDecoding } from "../../src/services.ts";
import { type Dataset, evenSample, loadDataset } from "./dataset.ts";
import { DEGRADATIONS, decodePhoto } from "./degrade.ts";
import { embedPhotos, sha256 } from "./embed-photos.ts";
import { EmbeddingCache } from "./embedding-cache.ts";
import { startProgress } from "./progress.ts";

export interface LabelledSet {
  dataset: Dataset;
  /** Photo indices of the shopper originals (one per shopper photo, for each degradation). */
  sample: number[];
  /** shopperOrigins[row] = the original of shopper row `row` (rows are degradation-major). */
  shopperOrigins: number[];
  catalogueRaw: Float32Array;
  shopperRaw: Float32Array;
  catalogueColour: Float32Array;
  shopperColour: Float32Array;
  modelSha256: string;
}

export function modelPath(repoRoot: string): string {
  const shared = resolve(repoRoot, "../shared");
  return resolve(
    process.env.MODEL_PATH ??
      [join(shared, "models/resnet50.onnx"), join(repoRoot, "models/resnet50.onnx")].find(existsSync) ??
      join(shared, "models/resnet50.onnx"),
  );
}

export async function loadLabelledSet(options: { fashionDir: string; modelPath: string; shopperCount: number; log: (line: string) => void }): Promise<LabelledSet> {
  const dataset = await loadDataset(options.fashionDir);
  const n = dataset.photos.length;
  const sample = evenSample(n, options.shopperCount);
  const shopperBytes: Uint8Array[] = [];
  for (const degradation of DEGRADATIONS) {
    for (const i of sample) shopperBytes.push(degradation.make(await decodePhoto(dataset.photos[i]!.bytes)));
  }
  const shopperOrigins = DEGRADATIONS.flatMap(() => sample);
  options.log(`${n} labelled photos, ${dataset.duplicatePhotos} byte-identical to another; shopper set ${sample.length} x ${DEGRADATIONS.length}`);

  const modelSha256 = sha256(new Uint8Array(readFileSync(options.modelPath)));
  const cache = EmbeddingCache.open(modelSha256);
  const preprocessing = { fitMode: PIPELINE.fitMode, smoothing: PIPELINE.smoothing };
  const session = await openModelSession({ modelPath: options.modelPath, backend: "native", threads: 2 });
  const catalogueBytes = dataset.photos.map((photo) => photo.bytes);
  const catalogue = await embedPhotos(session, cache, catalogueBytes, preprocessing, { batchSize: 16, label: "catalogue" });
  const shopper = await embedPhotos(session, cache, shopperBytes, preprocessing, { batchSize: 16, label: "shopper set" });
  await session.close();

  return {
    dataset,
    sample,
    shopperOrigins,
    catalogueRaw: catalogue.vectors,
    shopperRaw: shopper.vectors,
    catalogueColour: await colourDescriptors(catalogueBytes, "catalogue colours"),
    shopperColour: await colourDescriptors(shopperBytes, "shopper colours"),
    modelSha256,
  };
}

/** The colour descriptor of each photo, from the same model input the service computes it from. */
async function colourDescriptors(photos: Uint8Array[], label: string): Promise<Float32Array> {
  const out = new Float32Array(photos.length * COLOUR_DIMENSIONS);
  const input = new Float32Array(INPUT_FLOATS);
  const progress = startProgress(label, photos.length);
  for (let i = 0; i < photos.length; i++) {
    await decodeToModelInput(photos[i]!, pipelineDecoding(50_000_000), input, 0);
    out.set(colourDescriptor(input), i * COLOUR_DIMENSIONS);
    if (i % 200 === 0) progress.update(i);
  }
  progress.finish();
  return out;
}
