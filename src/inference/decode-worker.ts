// A decode pool's worker thread: photo bytes in, the model's input tensor out (or the refusal, as plain data: an
// error's class does not cross threads), so decoding, resizing and tensor conversion never hold up the event loop
// that answers searches. Inside the compiled binary it is bundled as an entrypoint of its own (scripts/build-binary.ts).
import { AppError, type ErrorCode } from "../errors.ts";
import { colourDescriptor } from "./colour-descriptor.ts";
import { type DecodeOptions, decodeToModelInput } from "./image-decoder.ts";
import { INPUT_FLOATS } from "./preprocess.ts";
import { lowerThisThreadPriority } from "../runtime/thread-priority.ts";

declare var self: Worker;

export interface DecodeRequest {
  id: number;
  bytes: Uint8Array;
  options: DecodeOptions;
  /** Also describe the photo's colours (the learned projection's colour part), here rather than on the event loop. */
  withColour: boolean;
}

export type DecodeFailure =
  | { kind: "app"; code: ErrorCode; status: number; message: string; details?: unknown }
  | { kind: "other"; name: string; message: string };

export type DecodeReply =
  | { id: number; input: Float32Array; colour: Float32Array | null }
  | { id: number; failure: DecodeFailure };

/** Sent once, when the decoder and its native addon have loaded (imports are done before this module's body runs). */
export interface DecoderLoaded {
  loaded: true;
}

self.onmessage = async (event: MessageEvent<DecodeRequest>) => {
  const { id, bytes, options, withColour } = event.data;
  try {
    const input = new Float32Array(INPUT_FLOATS);
    await decodeToModelInput(bytes, options, input);
    const colour = withColour ? colourDescriptor(input) : null;
    const transfer: ArrayBuffer[] = [input.buffer];
    if (colour) transfer.push(colour.buffer as ArrayBuffer);
    postMessage({ id, input, colour } satisfies DecodeReply, transfer);
  } catch (error) {
    postMessage({ id, failure: describeFailure(error) } satisfies DecodeReply);
  }
};

lowerThisThreadPriority();
postMessage({ loaded: true } satisfies DecoderLoaded);

function describeFailure(error: unknown): DecodeFailure {
  if (error instanceof AppError) {
    return { kind: "app", code: error.code, status: error.status, message: error.message, details: error.details };
  }
  if (error instanceof Error) return { kind: "other", name: error.name, message: error.message };
  return { kind: "other", name: "Error", message: String(error) };
}
