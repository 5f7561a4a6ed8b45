// INFERENCE_PRECISION=int8: the quantized model, run through the service's own Embedder (decoding, normalisation,
// projection), gives vectors close to the fp32 ones for real photos, and the service stores them under a pipeline
// name of their own, which carries the int8 model's checksum (so a recalibration is a new pipeline).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { INT8_REFERENCE_SHA256 } from "../../scripts/model/keras-to-onnx.ts";
import { parseConfig } from "../../src/config.ts";
import { Embedder } from "../../src/inference/embedder.ts";
import { photoModel } from "../../src/inference/photo-model.ts";
import { openModelSession } from "../../src/inference/model-session.ts";
import { createServices, loadPipelineProjection, PIPELINE, pipelineDecoding, pipelineName } from "../../src/services.ts";
import { samplePhotos } from "../helpers/app-under-test.ts";
import { INT8_MODEL_PATH, MODEL_PATH, requireFashionPhotos, requireInt8Model, requireModel, tempDir } from "../helpers/environment.ts";
import { cosine } from "../../bench/lib/linalg.ts";

const READY = [requireModel("int8 inference test"), requireInt8Model("int8 inference test"), requireFashionPhotos("int8 inference test")].every(Boolean);

/** The service's Embedder on the given model; with the projection, its stored vectors, without, the 2048-d embedding. */
async function openEmbedder(modelPath: string, withProjection: boolean): Promise<AsyncDisposable & { embedder: Embedder }> {
  const session = photoModel(await openModelSession({ modelPath, backend: "native", threads: 2 }), {
    normalisation: PIPELINE.normalisation,
    projection: withProjection ? loadPipelineProjection() : undefined,
  });
  const embedder = new Embedder(session, {
    maxBatchSize: 16,
    decode: pipelineDecoding(50_000_000),
  });
  await embedder.started();
  return { embedder, [Symbol.asyncDispose]: () => embedder.close().then(() => session.close()) };
}

describe.skipIf(!READY)("int8 inference", () => {
  const cleanup = new AsyncDisposableStack();
  // [precision][projected or not][photo]
  const vectors = { fp32: [[], []] as Float32Array[][], int8: [[], []] as Float32Array[][] };
  let photos: { id: number; bytes: Uint8Array }[];

  beforeAll(async () => {
    photos = await samplePhotos(8);
    for (const [precision, path] of [["fp32", MODEL_PATH!], ["int8", INT8_MODEL_PATH!]] as const) {
      for (const projected of [0, 1]) {
        const { embedder } = cleanup.use(await openEmbedder(path, projected === 1));
        // A copy for each: the Embedder hands the bytes to its decoding thread.
        vectors[precision][projected] = await Promise.all(photos.map((photo) => embedder.embedImage(photo.bytes.slice())));
      }
    }
  }, 120_000);

  afterAll(() => cleanup.disposeAsync(), 30_000);

  test("the Embedder's int8 embeddings are within cosine 0.99 of its fp32 ones, and are not the same vectors", () => {
    const cosines = vectors.fp32[0]!.map((vector, i) => cosine(vector, vectors.int8[0]![i]!));
    expect(cosines.filter((value) => !(value >= 0.99))).toEqual([]);
    // The int8 model really ran: its vectors differ from fp32 ones by more than rounding.
    expect(Math.min(...cosines)).toBeLessThan(0.99999);
  });

  test("the stored (projected) int8 vectors: median cosine to fp32 at least 0.99, none below 0.98", () => {
    // The learned projection stretches the directions that tell products apart, and the int8 error with them.
    const cosines = vectors.fp32[1]!.map((vector, i) => cosine(vector, vectors.int8[1]![i]!)).sort((a, b) => a - b);
    expect({ median: cosines[cosines.length >> 1]! >= 0.99, minimum: cosines[0]! >= 0.98 }).toEqual({ median: true, minimum: true });
  });

  test("INFERENCE_PRECISION=int8 stores int8 vectors under the int8 pipeline, named for the int8 model", async () => {
    await using root = await tempDir("fip-int8-");
    const catalogDir = join(root.path, "catalog");
    await mkdir(catalogDir);
    await writeFile(join(catalogDir, `${photos[0]!.id}.jpg`), photos[0]!.bytes);
    const env = { CATALOG_DIR: catalogDir, DATA_DIR: join(root.path, "data"), INFERENCE_PRECISION: "int8", MODEL_PATH: INT8_MODEL_PATH! };
    const services = await createServices(parseConfig(env));
    try {
      expect(services.store.pipeline).toBe(pipelineName("int8"));
      expect(pipelineName("int8")).toStartWith(`resnet50-imagenet-int8-${INT8_REFERENCE_SHA256.slice(0, 12)}/`);
      expect(pipelineName("int8")).not.toBe(pipelineName("fp32"));
      const vector = await services.embedder.embedImage(photos[0]!.bytes.slice());
      expect(cosine(vector, vectors.int8[1]![0]!)).toBeGreaterThan(0.99999);
    } finally {
      await services.close(10_000);
    }
  }, 120_000);
});
