// Which precision an ONNX model file runs at, read from its operators: an int8 model quantizes its activations
// (QuantizeLinear / DequantizeLinear pairs, or QLinear* operators), an fp32 one has none. The stored vectors carry the
// precision's model in their pipeline name, so a MODEL_PATH of the other precision would file its vectors under the
// wrong name. Only the graph's node list is read: the weights, nearly all of the file, are skipped by their length.
import type { InferencePrecision } from "../config.ts";
import { isEmbedded } from "../runtime/standalone.ts";

// Field numbers of onnx.proto: ModelProto.graph, GraphProto.node, NodeProto.op_type.
const MODEL_GRAPH = 7;
const GRAPH_NODE = 1;
const NODE_OP_TYPE = 4;
const QUANTIZED_OPERATOR = /^(QuantizeLinear|DequantizeLinear|QLinear)/;

/** The precision of the ONNX model in `bytes`; throws if they are not a protobuf message. */
export function modelPrecisionOf(bytes: Uint8Array): InferencePrecision {
  const decoder = new TextDecoder();
  for (const graph of lengthDelimited(bytes, 0, bytes.length, MODEL_GRAPH)) {
    for (const node of lengthDelimited(bytes, graph.start, graph.end, GRAPH_NODE)) {
      for (const opType of lengthDelimited(bytes, node.start, node.end, NODE_OP_TYPE)) {
        if (QUANTIZED_OPERATOR.test(decoder.decode(bytes.subarray(opType.start, opType.end)))) return "int8";
      }
    }
  }
  return "fp32";
}

/** Throws, saying what to set, if the model file at `modelPath` is not of `precision` (the binary's own are). */
export function checkModelPrecision(modelPath: string, precision: InferencePrecision): void {
  if (isEmbedded(modelPath)) return;
  let found: InferencePrecision;
  try {
    found = modelPrecisionOf(Bun.mmap(modelPath));
  } catch {
    throw new Error(`the model at ${modelPath} (MODEL_PATH) is not an ONNX file`);
  }
  if (found !== precision) {
    throw new Error(
      `the model at ${modelPath} (MODEL_PATH) is an ${found} model, but INFERENCE_PRECISION is ${precision}: set ` +
        `INFERENCE_PRECISION=${found}, or unset MODEL_PATH`,
    );
  }
}

/** The payloads of field `wanted` (length-delimited) among the protobuf fields in bytes [start, end). */
function* lengthDelimited(bytes: Uint8Array, start: number, end: number, wanted: number): Generator<{ start: number; end: number }> {
  let at = start;
  const varint = (): number => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      if (at >= end || shift > 63) throw new Error("not a protobuf message");
      const byte = bytes[at++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  };
  while (at < end) {
    const key = varint();
    const wireType = key % 8;
    if (wireType === 0) varint();
    else if (wireType === 1) at += 8;
    else if (wireType === 5) at += 4;
    else if (wireType === 2) {
      const length = varint();
      if (at + length > end) throw new Error("not a protobuf message");
      if (Math.floor(key / 8) === wanted) yield { start: at, end: at + length };
      at += length;
    } else throw new Error("not a protobuf message");
  }
  if (at !== end) throw new Error("not a protobuf message");
}
