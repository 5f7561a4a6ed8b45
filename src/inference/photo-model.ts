// The model and the steps after it, as one unit: model inputs in, stored vectors out. The steps after the model (the
// normalisation and the learned projection, ~1 ms a photo) run wherever the model runs, so in the service they run in
// the model's thread and the event loop only routes photos; in-thread for the benchmarks.
import { colourDescriptor } from "./colour-descriptor.ts";
import { EMBEDDING_DIMENSIONS, INPUT_FLOATS, type ModelSession } from "./model-session.ts";
import { normaliseEmbedding, type VectorNormalisation } from "./preprocess.ts";
import { applyProjection, type Projection } from "./projection.ts";

/** What turns the model's raw output into the stored vector: the normalisation, then the learned projection if any. */
export interface VectorSteps {
  normalisation: VectorNormalisation;
  projection?: Projection;
}

export interface PhotoModel {
  readonly backend: "native" | "wasm";
  /** Length of the vectors it returns. */
  readonly dimensions: number;
  /** Whether it needs each photo's colour descriptor (it computes a missing one from the input itself). */
  readonly usesColour: boolean;
  /**
   * One stored vector per input (3x224x224, RGB 0..255), in one model run; `modelSeconds` is the model's share.
   * The inputs' buffers may be taken (transferred to the model's thread).
   */
  embed(inputs: Float32Array[], colours: (Float32Array | null)[]): Promise<EmbeddedBatch>;
  close(): Promise<void>;
}

export interface EmbeddedBatch {
  vectors: Float32Array[];
  modelSeconds: number;
}

export function vectorDimensions(steps: VectorSteps): number {
  return steps.projection?.outputDims ?? EMBEDDING_DIMENSIONS;
}

/** The model and its steps on the calling thread. */
export function photoModel(session: ModelSession, steps: VectorSteps): PhotoModel {
  return {
    backend: session.backend,
    dimensions: vectorDimensions(steps),
    usesColour: steps.projection?.usesColour ?? false,
    async embed(inputs, colours) {
      let batch = inputs[0]!;
      if (inputs.length > 1 || batch.length !== INPUT_FLOATS) {
        batch = new Float32Array(inputs.length * INPUT_FLOATS);
        inputs.forEach((input, i) => batch.set(input.subarray(0, INPUT_FLOATS), i * INPUT_FLOATS));
      }
      // Before the model runs: a session in another thread may take the batch's buffer.
      const projection = steps.projection;
      const colourOf = projection?.usesColour ? inputs.map((input, i) => colours[i] ?? colourDescriptor(input)) : [];
      const startedAt = performance.now();
      const raw = await session.embed(batch, inputs.length);
      const modelSeconds = (performance.now() - startedAt) / 1000;
      const vectors = inputs.map((_, i) => {
        const vector = normaliseEmbedding(raw.slice(i * EMBEDDING_DIMENSIONS, (i + 1) * EMBEDDING_DIMENSIONS), steps.normalisation);
        return projection ? applyProjection(projection, vector, colourOf[i]) : vector;
      });
      return { vectors, modelSeconds };
    },
    close: () => session.close(),
  };
}
