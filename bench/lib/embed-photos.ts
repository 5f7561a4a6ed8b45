// Photos -> raw 2048-d embeddings through the service's own code: decodeToModelInput (the service's decoder and
// preprocessing, with the fit mode and filter under test, large JPEGs as the pipeline decodes them) and the service's ModelSession, in batches, decoding the
// next batch while the model runs the current one. Raw, not normalised: the vector variants are applied afterwards.
import { type DecodeOptions, decodeToModelInput, type Preprocessing as DecoderPreprocessing } from "../../src/inference/image-decoder.ts";
import { EMBEDDING_DIMENSIONS, INPUT_FLOATS, type ModelSession } from "../../src/inference/model-session.ts";
import { PIPELINE } from "../../src/services.ts";
import type { EmbeddingCache } from "./embedding-cache.ts";
import { startProgress } from "./progress.ts";

export type Smoothing = NonNullable<DecodeOptions["smoothing"]>;

/** The variants the evaluation compares; large JPEGs are decoded as the pipeline decodes them. */
export type Preprocessing = Pick<DecoderPreprocessing, "fitMode" | "smoothing">;

export const preprocessingName = (p: Preprocessing) => `${p.fitMode}/${p.smoothing}`;

export interface EmbedRun {
  /** photos.length x 2048 raw embeddings, in the order of the photos. */
  vectors: Float32Array;
  /** Photos that went through the model in this run (the rest came from the cache). */
  computed: number;
  seconds: number;
}

const MAX_PIXELS = 50_000_000;

export async function embedPhotos(
  session: ModelSession,
  cache: EmbeddingCache,
  photos: Uint8Array[],
  preprocessing: Preprocessing,
  options: { batchSize: number; label: string },
): Promise<EmbedRun> {
  const vectors = new Float32Array(photos.length * EMBEDDING_DIMENSIONS);
  const decodeOptions: DecodeOptions = { ...preprocessing, largeJpegs: PIPELINE.largeJpegs, maxPixels: MAX_PIXELS };
  const todo: number[] = [];
  const recipes: string[] = [];
  photos.forEach((bytes, i) => {
    const recipe = `${sha256(bytes)}|${preprocessing.fitMode}|${preprocessing.smoothing}|${decodeOptions.largeJpegs}`;
    recipes.push(recipe);
    const key = cache.inputKeyOf(recipe);
    const cached = key === undefined ? undefined : cache.embeddingOf(key);
    if (cached) vectors.set(cached, i * EMBEDDING_DIMENSIONS);
    else todo.push(i);
  });
  if (todo.length === 0) return { vectors, computed: 0, seconds: 0 };

  const started = performance.now();
  const progress = startProgress(options.label, todo.length);
  let done = 0;
  let computed = 0;
  let running: Promise<void> = Promise.resolve();
  let batch = newBatch(options.batchSize);

  const runBatch = (current: Batch) => {
    const previous = running;
    running = (async () => {
      await previous;
      const output = await session.embed(current.inputs, current.targets.length);
      current.targets.forEach((target, slot) => {
        const embedding = output.subarray(slot * EMBEDDING_DIMENSIONS, (slot + 1) * EMBEDDING_DIMENSIONS);
        vectors.set(embedding, target * EMBEDDING_DIMENSIONS);
        cache.store(current.keys[slot]!, embedding);
      });
      cache.flush();
      computed += current.targets.length;
      done += current.targets.length;
      progress.update(done);
    })();
  };

  for (const i of todo) {
    const slot = batch.targets.length;
    const offset = slot * INPUT_FLOATS;
    await decodeToModelInput(photos[i]!, decodeOptions, batch.inputs, offset);
    const key = sha256(new Uint8Array(batch.inputs.buffer, offset * 4, INPUT_FLOATS * 4));
    cache.rememberRecipe(recipes[i]!, key);
    const cached = cache.embeddingOf(key);
    if (cached) {
      // Another variant already produced these exact pixels.
      vectors.set(cached, i * EMBEDDING_DIMENSIONS);
      progress.update(++done);
      continue;
    }
    batch.targets.push(i);
    batch.keys.push(key);
    if (batch.targets.length === options.batchSize) {
      // Wait for the batch before the previous one at most: one runs, one is being filled.
      await running;
      runBatch(batch);
      batch = newBatch(options.batchSize);
    }
  }
  if (batch.targets.length > 0) runBatch(batch);
  await running;
  cache.flush();
  const seconds = (performance.now() - started) / 1000;
  progress.finish(`${computed} through the model, ${todo.length - computed} reused`);
  return { vectors, computed, seconds };
}

interface Batch {
  inputs: Float32Array;
  targets: number[];
  keys: string[];
}

function newBatch(size: number): Batch {
  return { inputs: new Float32Array(size * INPUT_FLOATS), targets: [], keys: [] };
}

export function sha256(bytes: Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
}
