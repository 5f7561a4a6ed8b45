// Folds each BatchNormalization into the Conv before it (new weights and bias), as onnxruntime does when it loads the
// fp32 model. The int8 model needs it done ahead: weights are quantized per output channel after the batch norm's
// scale is in them, and a Conv can only run as an int8 kernel when nothing sits between it and its quantized output.
import { onnx } from "onnx-proto";

const FLOAT = onnx.TensorProto.DataType.FLOAT;

/** A copy of the graph's nodes and initializers with every Conv -> BatchNormalization pair made one Conv. */
export function foldBatchNorms(graph: onnx.IGraphProto): { nodes: onnx.INodeProto[]; initializers: Map<string, onnx.ITensorProto> } {
  const initializers = new Map((graph.initializer ?? []).map((tensor) => [tensor.name as string, tensor]));
  const nodes = graph.node ?? [];
  const producer = new Map<string, onnx.INodeProto>();
  const consumers = new Map<string, number>();
  for (const node of nodes) {
    for (const output of node.output ?? []) producer.set(output, node);
    for (const input of node.input ?? []) consumers.set(input, (consumers.get(input) ?? 0) + 1);
  }

  const folded = new Map<onnx.INodeProto, onnx.INodeProto>();
  const removed = new Set<onnx.INodeProto>();
  for (const norm of nodes) {
    if (norm.opType !== "BatchNormalization") continue;
    const [source, gammaName, betaName, meanName, varianceName] = norm.input as string[];
    const conv = producer.get(source as string);
    if (conv?.opType !== "Conv" || consumers.get(source as string) !== 1) {
      throw new Error(`batch norm ${norm.name}: only a batch norm right after a conv of its own is folded`);
    }
    const epsilon = norm.attribute?.find((attribute) => attribute.name === "epsilon")?.f ?? 1e-5;
    const [gamma, beta, mean, variance] = [gammaName, betaName, meanName, varianceName].map((name) => floatsOf(initializers, name as string)) as [
      Float32Array,
      Float32Array,
      Float32Array,
      Float32Array,
    ];
    const [, weightName, biasName] = conv.input as string[];
    const weight = floatsOf(initializers, weightName as string);
    const bias = floatsOf(initializers, biasName as string);
    const channels = bias.length;
    const perChannel = weight.length / channels;
    const newWeight = new Float32Array(weight.length);
    const newBias = new Float32Array(channels);
    for (let c = 0; c < channels; c++) {
      const scale = (gamma[c] as number) / Math.sqrt((variance[c] as number) + epsilon);
      for (let k = c * perChannel; k < (c + 1) * perChannel; k++) newWeight[k] = (weight[k] as number) * scale;
      newBias[c] = ((bias[c] as number) - (mean[c] as number)) * scale + (beta[c] as number);
    }
    for (const name of [weightName, biasName, gammaName, betaName, meanName, varianceName]) initializers.delete(name as string);
    initializers.set(weightName as string, floatTensor(weightName as string, dimsOf(graph, weightName as string), newWeight));
    initializers.set(biasName as string, floatTensor(biasName as string, [channels], newBias));
    // The folded conv answers under the batch norm's output name, so calibration ranges keep their names.
    folded.set(conv, { ...conv, output: norm.output });
    removed.add(norm);
  }
  return { nodes: nodes.filter((node) => !removed.has(node)).map((node) => folded.get(node) ?? node), initializers };
}

export function floatsOf(initializers: Map<string, onnx.ITensorProto>, name: string): Float32Array {
  const tensor = initializers.get(name);
  if (tensor?.dataType !== FLOAT || !tensor.rawData) throw new Error(`initializer ${name} is not a float tensor with raw data`);
  // A copy: the raw bytes may not sit on a 4-byte boundary (or may be a view into a larger buffer).
  return new Float32Array(new Uint8Array(tensor.rawData).buffer);
}

export function floatTensor(name: string, dims: number[], values: Float32Array): onnx.ITensorProto {
  return { name, dims, dataType: FLOAT, rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

function dimsOf(graph: onnx.IGraphProto, name: string): number[] {
  const tensor = graph.initializer?.find((initializer) => initializer.name === name);
  if (!tensor) throw new Error(`initializer ${name} is missing`);
  return (tensor.dims ?? []).map(Number);
}
