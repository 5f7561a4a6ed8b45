// The model's worker thread: it owns the inference session, so that a model run (seconds for a batch, and
// onnxruntime-node runs it on the calling thread) never holds up the event loop that answers searches. Inside the
// compiled binary it is bundled as an entrypoint of its own (scripts/build-binary.ts).
import { type ModelSession, type ModelSessionOptions, openModelSession } from "./model-session.ts";

declare var self: Worker;

export type ModelRequest =
  | { type: "open"; options: ModelSessionOptions }
  | { type: "embed"; id: number; inputs: Float32Array; count: number }
  | { type: "close" };

export type ModelReply =
  | { type: "opened" }
  | { type: "embedded"; id: number; embeddings: Float32Array }
  | { type: "failed"; id: number | null; name: string; message: string }
  | { type: "closed" };

let session: ModelSession | null = null;

self.onmessage = async (event: MessageEvent<ModelRequest>) => {
  const request = event.data;
  const id = request.type === "embed" ? request.id : null;
  try {
    switch (request.type) {
      case "open":
        session = await openModelSession(request.options);
        return reply({ type: "opened" });
      case "embed": {
        if (!session) throw new Error("the model is not loaded");
        const embeddings = await session.embed(request.inputs, request.count);
        return reply({ type: "embedded", id: request.id, embeddings }, [embeddings.buffer as ArrayBuffer]);
      }
      case "close":
        await session?.close();
        session = null;
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
