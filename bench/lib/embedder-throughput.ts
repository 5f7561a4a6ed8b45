// Throughput of the service's own Embedder (decode + batched inference, the pipeline's fit mode, normalisation and
// projection), as the quality report's throughput section shows it.
import { Embedder } from "../../src/inference/embedder.ts";
import type { ModelSession } from "../../src/inference/model-session.ts";
import { photoModel } from "../../src/inference/photo-model.ts";
import { loadPipelineProjection, PIPELINE, pipelineDecoding } from "../../src/services.ts";

/** Photos per second over `photos`, after one warm-up photo; the session stays open. */
export async function measureEmbedderRate(session: ModelSession, photos: Uint8Array[]): Promise<number> {
  const embedder = new Embedder(photoModel(session, { normalisation: PIPELINE.normalisation, projection: loadPipelineProjection() }), {
    maxBatchSize: 16,
    decode: pipelineDecoding(50_000_000),
  });
  // The Embedder takes the bytes it is given (hands them to its decoding thread): it gets copies.
  await embedder.embedImage(photos[0]!.slice()); // warm-up
  const started = performance.now();
  await Promise.all(photos.map((bytes) => embedder.embedImage(bytes.slice())));
  const rate = photos.length / ((performance.now() - started) / 1000);
  await embedder.close();
  return rate;
}
