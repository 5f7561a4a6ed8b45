// Writes the int8 model: the fp32 graph with batch norms folded, each Conv's weights stored as per-channel symmetric
// int8 (bias as int32 at the input scale times the weight scale), and QuantizeLinear/DequantizeLinear pairs on the
// activations the quantized operators read, with ranges calibrated on real photos (scripts/calibrate-int8.ts).
// onnxruntime recognises DQ -> Conv -> Q (a Relu before the Q is dropped, as the range starts at 0) and runs
// QLinearConv, its int8 kernel, in its place; DQ -> Add -> Q becomes QLinearAdd; DQ -> MaxPool -> Q with one scale
// runs MaxPool on the bytes. Activations are u8 and weights s8, onnxruntime's fast path on x86 (see models/README.md).
// Measured at batch 16 on 2 threads (docs/performance.md): with Conv alone quantized, the last conv of each block
// has no Q after it (its output goes to the residual Add) and stays float: 1.4x fp32; with the Adds, 2.7x. MaxPool
// and the first conv in int8 change neither speed nor embeddings measurably, and keep the graph uniform.
import { onnx } from "onnx-proto";
import type { CalibrationTable } from "./calibration-table.ts";
import { floatsOf, floatTensor, foldBatchNorms } from "./fold-batch-norm.ts";

const { DataType } = onnx.TensorProto;
const { AttributeType } = onnx.AttributeProto;
const WEIGHT_LEVELS = 127;
/** GlobalAveragePool and the classifier stay float: the embedding is read from the pool's output. */
const QUANTIZED_OPERATORS = new Set(["Conv", "Add", "MaxPool"]);

interface ActivationParams {
  scale: string;
  zeroPoint: string;
  scaleValue: number;
}

export function quantizeToQdq(fp32: onnx.IModelProto, calibration: CalibrationTable): onnx.IModelProto {
  const graph = fp32.graph as onnx.IGraphProto;
  const { nodes, initializers } = foldBatchNorms(graph);
  const quantized = (node: onnx.INodeProto) => QUANTIZED_OPERATORS.has(node.opType as string);

  const out: onnx.INodeProto[] = [];
  const added: onnx.ITensorProto[] = [];
  const params = new Map<string, ActivationParams>();
  const producer = new Map<string, onnx.INodeProto>();
  for (const node of nodes) for (const output of node.output ?? []) producer.set(output, node);
  const activationInputs = (node: onnx.INodeProto) =>
    (node.input ?? []).filter((name, index) => !initializers.has(name) && (node.opType !== "Conv" || index === 0));
  const needsQdq = new Set(nodes.filter(quantized).flatMap(activationInputs));

  /** u8 parameters of a tensor. A max pool's output lies in its input's range and shares its parameters, which lets
   * a quantized MaxPool run on the bytes. */
  const paramsOf = (tensor: string): ActivationParams => {
    const known = params.get(tensor);
    if (known) return known;
    const from = producer.get(tensor);
    if (from?.opType === "MaxPool") return paramsOf((from.input as string[])[0] as string);
    const [low, high] = rangeOf(tensor, calibration, from, initializers);
    const lo = Math.min(0, low);
    const hi = Math.max(0, high);
    const scaleValue = Math.fround(hi > lo ? (hi - lo) / 255 : 1);
    const zero = Math.min(255, Math.max(0, roundHalfEven(-lo / scaleValue)));
    const made = { scale: `${tensor}_scale`, zeroPoint: `${tensor}_zero_point`, scaleValue };
    added.push(scalarFloat(made.scale, scaleValue), { name: made.zeroPoint, dims: [], dataType: DataType.UINT8, rawData: Uint8Array.of(zero) });
    params.set(tensor, made);
    return made;
  };
  const quantizeActivation = (tensor: string) => {
    const { scale, zeroPoint } = paramsOf(tensor);
    out.push(node("QuantizeLinear", [tensor, scale, zeroPoint], `${tensor}_quantized`));
    out.push(node("DequantizeLinear", [`${tensor}_quantized`, scale, zeroPoint], `${tensor}_dequantized`));
  };

  for (const input of graph.input ?? []) if (needsQdq.has(input.name as string)) quantizeActivation(input.name as string);
  for (const original of nodes) {
    let current = original;
    if (quantized(original)) {
      const inputs = (original.input ?? []).map((name) => (needsQdq.has(name) ? `${name}_dequantized` : name));
      if (original.opType === "Conv") {
        const inputScale = paramsOf((original.input as string[])[0] as string).scaleValue;
        const [weight, bias] = quantizeConvParameters(original, inputScale, initializers, added, out);
        inputs[1] = weight;
        inputs[2] = bias;
      }
      current = { ...original, input: inputs };
    }
    out.push(current);
    for (const output of original.output ?? []) if (needsQdq.has(output)) quantizeActivation(output);
  }

  const used = new Set(out.flatMap((n) => n.input ?? []));
  return {
    ...fp32,
    producerName: "fashion-image-processor scripts/model/quantize-qdq.ts",
    docString: `${fp32.docString ?? ""}; int8 QDQ (u8 activations calibrated on ${calibration.photos} photos, s8 per-channel weights)`,
    metadataProps: [...(fp32.metadataProps ?? []), { key: "quantization", value: `int8 QDQ: ${[...QUANTIZED_OPERATORS].join(", ")}` }],
    graph: {
      ...graph,
      node: out,
      initializer: [...[...initializers.values()].filter((tensor) => used.has(tensor.name as string)), ...added],
    },
  };
}

/** Int8 weights (symmetric, one scale per output channel) and int32 bias, each behind a DequantizeLinear. */
function quantizeConvParameters(
  conv: onnx.INodeProto,
  inputScale: number,
  initializers: Map<string, onnx.ITensorProto>,
  added: onnx.ITensorProto[],
  out: onnx.INodeProto[],
): [string, string] {
  const [, weightName, biasName] = conv.input as string[];
  const weightTensor = initializers.get(weightName as string) as onnx.ITensorProto;
  const weight = floatsOf(initializers, weightName as string);
  const bias = floatsOf(initializers, biasName as string);
  const channels = bias.length;
  const perChannel = weight.length / channels;
  const weightScales = new Float32Array(channels);
  const biasScales = new Float32Array(channels);
  const weightBytes = new Int8Array(weight.length);
  const biasValues = new Int32Array(channels);
  for (let c = 0; c < channels; c++) {
    let largest = 0;
    for (let k = c * perChannel; k < (c + 1) * perChannel; k++) largest = Math.max(largest, Math.abs(weight[k] as number));
    const scale = Math.fround(largest > 0 ? largest / WEIGHT_LEVELS : 1);
    weightScales[c] = scale;
    for (let k = c * perChannel; k < (c + 1) * perChannel; k++) {
      weightBytes[k] = Math.max(-WEIGHT_LEVELS, Math.min(WEIGHT_LEVELS, roundHalfEven((weight[k] as number) / scale)));
    }
    biasScales[c] = Math.fround(inputScale * scale);
    biasValues[c] = roundHalfEven((bias[c] as number) / (biasScales[c] as number));
  }
  const name = conv.name as string;
  const channelAxis = [{ name: "axis", i: 0, type: AttributeType.INT }];
  added.push(
    { name: `${name}_W_quantized`, dims: weightTensor.dims, dataType: DataType.INT8, rawData: new Uint8Array(weightBytes.buffer) },
    floatTensor(`${name}_W_scale`, [channels], weightScales),
    { name: `${name}_W_zero_point`, dims: [channels], dataType: DataType.INT8, rawData: new Uint8Array(channels) },
    { name: `${name}_B_quantized`, dims: [channels], dataType: DataType.INT32, rawData: new Uint8Array(biasValues.buffer) },
    floatTensor(`${name}_B_scale`, [channels], biasScales),
    { name: `${name}_B_zero_point`, dims: [channels], dataType: DataType.INT32, rawData: new Uint8Array(4 * channels) },
  );
  out.push({ ...node("DequantizeLinear", [`${name}_W_quantized`, `${name}_W_scale`, `${name}_W_zero_point`], `${name}_W_dequantized`), attribute: channelAxis });
  out.push({ ...node("DequantizeLinear", [`${name}_B_quantized`, `${name}_B_scale`, `${name}_B_zero_point`], `${name}_B_dequantized`), attribute: channelAxis });
  return [`${name}_W_dequantized`, `${name}_B_dequantized`];
}

/** The calibrated range; the first conv's input (pixels 0..255 minus the channel means) has a known one. */
function rangeOf(
  tensor: string,
  calibration: CalibrationTable,
  from: onnx.INodeProto | undefined,
  initializers: Map<string, onnx.ITensorProto>,
): [number, number] {
  if (from?.opType === "Sub" && from.input?.[0] === "input") {
    const mean = [...floatsOf(initializers, (from.input as string[])[1] as string)];
    return [-Math.max(...mean), 255 - Math.min(...mean)];
  }
  const range = calibration.ranges[tensor];
  if (!range) throw new Error(`the calibration table has no range for ${tensor}: run npm run calibrate`);
  return range;
}

function node(opType: string, input: string[], output: string): onnx.INodeProto {
  return { input, output: [output], name: `${output}_${opType}`, opType };
}

function scalarFloat(name: string, value: number): onnx.ITensorProto {
  return floatTensor(name, [], Float32Array.of(value));
}

/** ONNX rounds to nearest, ties to even, when it quantizes; the weights are rounded the same way. */
function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction !== 0.5) return Math.round(value);
  return floor % 2 === 0 ? floor : floor + 1;
}
