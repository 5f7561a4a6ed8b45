// The learned projection: what turns the model's square-rooted, L2-normalised 2048-d embedding (and the photo's colour
// descriptor) into the vector the index stores. Fitted on the labelled photos by `npm run fit` (bench/fit.ts) and
// shipped as a versioned data file; this module is the only one that knows its format.
//
// The stored vector is the concatenation of weighted unit-length parts, so it is unit length itself and the cosine of
// two stored vectors is Σ weight² · (cosine of the parts):
//   linear  rows of a matrix applied to (embedding - mean), then L2-normalised (discriminant axes, principal axes);
//   colour  the colour descriptor (src/inference/colour-descriptor.ts), already unit length.
//
// File: "FIPPROJ1", u32 LE header length, the header as UTF-8 JSON, zero padding to 4 bytes, then float32 LE: the
// mean (inputDims), then each linear part's rows (dims x inputDims), in the order of `parts`.
import { COLOUR_DIMENSIONS } from "./colour-descriptor.ts";

const MAGIC = "FIPPROJ1";

export type ProjectionPart = { kind: "linear"; name: string; dims: number; weight: number } | { kind: "colour"; dims: number; weight: number };

export interface ProjectionHeader {
  /** Names what was fitted; part of the pipeline name. */
  name: string;
  inputDims: number;
  parts: ProjectionPart[];
  /** How it was fitted (data, split, hyper-parameters): for people, not read by the code. */
  fitted: Record<string, string | number>;
}

export interface Projection extends ProjectionHeader {
  outputDims: number;
  mean: Float32Array;
  /** One matrix per linear part (dims x inputDims, row-major), in the order of `parts`. */
  matrices: Float32Array[];
  usesColour: boolean;
}

export function encodeProjection(header: ProjectionHeader, mean: Float32Array, matrices: Float32Array[]): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerEnd = 12 + json.length;
  const dataStart = Math.ceil(headerEnd / 4) * 4;
  const floats = mean.length + matrices.reduce((sum, m) => sum + m.length, 0);
  const out = new Uint8Array(dataStart + floats * 4);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  const view = new DataView(out.buffer, dataStart);
  let at = 0;
  for (const array of [mean, ...matrices]) for (const v of array) view.setFloat32(4 * at++, v, true);
  return out;
}

export function decodeProjection(bytes: Uint8Array): Projection {
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) throw new Error("not a projection file (bad magic)");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + length))) as ProjectionHeader;
  let at = Math.ceil((12 + length) / 4) * 4;
  const take = (count: number) => {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(at + 4 * i, true);
    at += count * 4;
    return out;
  };
  const mean = take(header.inputDims);
  const matrices = header.parts.filter((part) => part.kind === "linear").map((part) => take(part.dims * header.inputDims));
  if (at !== bytes.byteLength) throw new Error(`projection file: ${bytes.byteLength - at} bytes more than its header describes`);
  for (const part of header.parts) {
    if (part.kind === "colour" && part.dims !== COLOUR_DIMENSIONS) throw new Error(`projection file: colour part of ${part.dims} dims, expected ${COLOUR_DIMENSIONS}`);
  }
  return {
    ...header,
    outputDims: header.parts.reduce((sum, part) => sum + part.dims, 0),
    mean,
    matrices,
    usesColour: header.parts.some((part) => part.kind === "colour"),
  };
}

/** The stored vector for an embedding (sqrt-l2, inputDims) and, if the projection uses it, the colour descriptor. */
export function applyProjection(projection: Projection, embedding: Float32Array, colour?: Float32Array): Float32Array {
  const { inputDims, mean } = projection;
  if (embedding.length !== inputDims) throw new Error(`projection: expected ${inputDims} values, got ${embedding.length}`);
  const centred = new Float32Array(inputDims);
  for (let k = 0; k < inputDims; k++) centred[k] = embedding[k]! - mean[k]!;
  const out = new Float32Array(projection.outputDims);
  let offset = 0;
  let matrix = 0;
  for (const part of projection.parts) {
    const slot = out.subarray(offset, offset + part.dims);
    if (part.kind === "linear") {
      const rows = projection.matrices[matrix++]!;
      for (let j = 0; j < part.dims; j++) {
        let sum = 0;
        const row = j * inputDims;
        for (let k = 0; k < inputDims; k++) sum += rows[row + k]! * centred[k]!;
        slot[j] = sum;
      }
    } else {
      if (!colour) throw new Error("projection: this projection needs the photo's colour descriptor");
      slot.set(colour);
    }
    scaleToLength(slot, part.weight);
    offset += part.dims;
  }
  return out;
}

function scaleToLength(values: Float32Array, length: number): void {
  let sum = 0;
  for (const v of values) sum += v * v;
  const scale = sum > 0 ? length / Math.sqrt(sum) : 0;
  for (let i = 0; i < values.length; i++) values[i]! *= scale;
}
