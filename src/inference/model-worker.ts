// The model's worker thread: it owns the inference session and the steps after it (normalisation, projection), so
// that neither a model run (seconds for a batch, and onnxruntime-node runs it on the calling thread) nor the
// projection holds up the event loop that answers searches. Inside the compiled binary it is bundled as an entrypoint
// of its own (scripts/build-binary.ts).
import { type ModelSessionOptions, openModelSession } from "./model-session.ts";
import { type EmbeddedBatch, type PhotoModel, photoModel, type VectorSteps } from "./photo-model.ts";

declare var self: Worker;

export type ModelRequest =
  | { type: "open"; options: ModelSessionOptions; steps: VectorSteps }
  | { type: "embed"; id: number; inputs: Float32Array[]; colours: (Float32Array | null)[] }
  | { type: "close" };

export type ModelReply =
  | { type: "opened" }
  | ({ type: "embedded"; id: number } & EmbeddedBatch)
  | { type: "failed"; id: number | null; name: string; message: string }
  | { type: "closed" };

let model: PhotoModel | null = null;

self.onmessage = async (event: MessageEvent<ModelRequest>) => {
  const request = event.data;
  const id = request.type === "embed" ? request.id : null;
  try {
    switch (request.type) {
      case "open":
        model = photoModel(await openModelSession(request.options), request.steps);
        return reply({ type: "opened" });
      case "embed": {
        if (!model) throw new Error("the model is not loaded");
        const { vectors, modelSeconds } = await model.embed(request.inputs, request.colours);
        const transfer = vectors.map((vector) => vector.buffer as ArrayBuffer);
        return reply({ type: "embedded", id: request.id, vectors, modelSeconds }, transfer);
      }
      case "close":
        await model?.close();
        model = null;
        return reply({ type: "closed" });
    }
  } catch (error) {
    const { name, message } = error instanceof Error ? error : new Error(String(error));
    reply({ type: "failed", id, name, message });
  }
};

function reply(message: ModelReply, transfer: ArrayBuffer[] = []): void {
  postMessage(message, transfer);
}
