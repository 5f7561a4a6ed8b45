// An upload (interactive) photo goes ahead of a bulk ingest's photos at every stage of the Embedder: the decoding
// threads' queue, and the model's, where it runs in a batch of its own rather than waiting for a full batch of bulk
// photos to be computed with it. The real model and decoder, in-process.
import { describe, expect, test } from "bun:test";
import { Embedder } from "../../src/inference/embedder.ts";
import { openModelThread } from "../../src/inference/model-thread.ts";
import { loadPipelineProjection, PIPELINE, pipelineDecoding } from "../../src/services.ts";
import { samplePhotos } from "../helpers/app-under-test.ts";
import { MODEL_PATH, requireModel, waitFor } from "../helpers/environment.ts";

const BATCH = 8;
const BULK = 48;

describe.if(requireModel("the Embedder's priorities"))("an upload among a bulk ingest", () => {
  test("runs in a model run of its own, before the bulk photos queued ahead of it, whose batches stay full", async () => {
    const model = await openModelThread(
      { modelPath: MODEL_PATH!, backend: "native", threads: 2 },
      { normalisation: PIPELINE.normalisation, projection: loadPipelineProjection() },
    );
    const batches: number[] = [];
    const embedder = new Embedder(model, {
      maxBatchSize: BATCH,
      decode: pipelineDecoding(50_000_000),
      observer: { modelBatch: (size) => batches.push(size) },
    });
    try {
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
    } finally {
      await embedder.close();
      await model.close();
    }
  }, 120_000);
});
