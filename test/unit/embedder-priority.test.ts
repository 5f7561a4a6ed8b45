// An upload (interactive) photo goes ahead of a bulk ingest's photos at every stage of the Embedder: the decoding
// threads' queue, and the model's, where it runs in a batch of its own rather than waiting for a full batch of bulk
// photos to be computed with it. The real model and decoder, in-process.
import { describe, expect, test } from "bun:test";
import { Embedder } from "../../src/inference/embedder.ts";
import { openModelThread } from "../../src/inference/model-thread.ts";
import { loadPipelineProjection, PIPELINE, pipelineDecoding } from "../../src/services.ts";
import { samplePhotos } from "../helpers/app-under-test.ts";
import { INT8_MODEL_PATH, MODEL_PATH, requireInt8Model, requireModel, waitFor } from "../helpers/environment.ts";
import { enlargedJpeg } from "../helpers/images.ts";

const BATCH = 8;
const BULK = 48;

/** The real model in its thread, and an Embedder on it that records the size of each model run. */
async function openEmbedder(modelPath: string): Promise<AsyncDisposable & { embedder: Embedder; batches: number[] }> {
  const model = await openModelThread(
    { modelPath, backend: "native", threads: 2 },
    { normalisation: PIPELINE.normalisation, projection: loadPipelineProjection() },
  );
  const batches: number[] = [];
  const embedder = new Embedder(model, {
    maxBatchSize: BATCH,
    decode: pipelineDecoding(50_000_000),
    observer: { modelBatch: (size) => batches.push(size) },
  });
  return { embedder, batches, [Symbol.asyncDispose]: () => embedder.close().then(() => model.close()) };
}

describe.if(requireModel("the Embedder's priorities"))("an upload among a bulk ingest", () => {
  test("runs in a model run of its own, before the bulk photos queued ahead of it, whose batches stay full", async () => {
    await using opened = await openEmbedder(MODEL_PATH!);
    const { embedder, batches } = opened;
    const photos = await samplePhotos(BULK + 1);
    let bulkDone = 0;
    const bulk = photos.slice(0, BULK).map((photo) => embedder.embedImage(photo.bytes.slice()).then(() => bulkDone++));
    // Queued once the model is busy with the first bulk photos and the rest wait to be decoded.
    await waitFor(() => (embedder.queueDepths.decode < BULK - 4 ? true : undefined), { timeoutMs: 30_000, what: "the first bulk photos to be decoded" });
    const upload = await embedder.embedImage(photos[BULK]!.bytes.slice(), { interactive: true }).then(() => ({
      bulkDone,
      // Its own model run is the last one observed when it is answered.
      batch: batches.at(-1),
      runs: batches.length,
    }));
    await Promise.all(bulk);
    // Ahead of it only the run that was under way when it was decoded: it does not wait for a full batch of bulk
    // photos, and bulk photos queued before it are not run with it.
    expect(upload.batch).toBe(1);
    expect(upload.bulkDone).toBeLessThanOrEqual(BATCH + 4);
    expect(upload.bulkDone).toBeLessThan(BULK);
    // Once bulk photos have piled up, the model takes them a full batch at a time.
    expect(Math.max(...batches)).toBe(BATCH);
  }, 120_000);
});

describe.if(requireInt8Model("bulk batches fed by slow decodes"))("a bulk ingest of photos slower to decode than to embed", () => {
  test("still reaches the model in full batches, not one photo at a time", async () => {
    // 1200x1600 JPEGs take ~14 ms each to decode, the int8 model ~7 ms a photo in a batch of 8.
    await using opened = await openEmbedder(INT8_MODEL_PATH!);
    const { embedder, batches } = opened;
    const photos = await Promise.all((await samplePhotos(2 * BATCH + 3)).map((photo) => enlargedJpeg(photo.bytes, 1200, 1600)));
    await embedder.started();
    await Promise.all(photos.map((bytes) => embedder.embedImage(bytes)));
    // The last few may be split by when their decodes end; every batch before them is full.
    expect(batches.slice(0, 2)).toEqual([BATCH, BATCH]);
    expect(batches.reduce((sum, size) => sum + size, 0)).toBe(photos.length);
  }, 120_000);
});
