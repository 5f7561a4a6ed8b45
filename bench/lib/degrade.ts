// Photos as shoppers upload them, made from the catalogue's own photos: smaller, cropped, recompressed, mirrored, or
// at the products' real 3:4 shape (the labelled photos are 3:4 shots squeezed to 224x224). Made in memory, never
// written to disk; deterministic for a given canvas library version. The shopper set is such photos, every
// degradation of an even sample of the catalogue.
import { type Canvas, createCanvas, type Image, loadImage } from "@napi-rs/canvas";
import { type Dataset, evenSample, range } from "./dataset.ts";
import { type Neighbours, selectRows } from "./retrieval.ts";

export interface Degradation {
  name: string;
  description: string;
  make(photo: Image): Uint8Array;
}

/** Draws the whole photo (or its `crop` fraction around the centre) into a new width x height canvas. */
function redraw(photo: Image | Canvas, width: number, height: number, options: { crop?: number; flip?: boolean } = {}): Canvas {
  const canvas = createCanvas(width, height);
  const context = canvas.getContext("2d");
  context.imageSmoothingEnabled = true;
  context.imageSmoothingQuality = "high";
  const crop = options.crop ?? 1;
  const sw = photo.width * crop;
  const sh = photo.height * crop;
  if (options.flip) {
    context.translate(width, 0);
    context.scale(-1, 1);
  }
  context.drawImage(photo, (photo.width - sw) / 2, (photo.height - sh) / 2, sw, sh, 0, 0, width, height);
  return canvas;
}

const jpeg = (canvas: Canvas, quality: number) => new Uint8Array(canvas.toBuffer("image/jpeg", quality));

/** The catalogue photo at its original 3:4 shape (224 wide, 299 high), as a shop's own catalogue would hold it. */
export function toPortrait(photo: Image): Uint8Array {
  return jpeg(redraw(photo, 224, 299), 95);
}

export const DEGRADATIONS: Degradation[] = [
  {
    name: "small-60x80",
    description: "shrunk to 60x80 (3:4) and scaled back up to 224x224, JPEG q90: a thumbnail-sized upload",
    make: (photo) => jpeg(redraw(redraw(photo, 60, 80), 224, 224), 90),
  },
  {
    name: "crop-85",
    description: "centre 85% (190x190), JPEG q90: the product fills more of the frame",
    make: (photo) => jpeg(redraw(photo, 190, 190, { crop: 0.85 }), 90),
  },
  {
    name: "jpeg-q40",
    description: "re-encoded at JPEG quality 40",
    make: (photo) => jpeg(redraw(photo, photo.width, photo.height), 40),
  },
  {
    name: "flip",
    description: "mirrored left-right, JPEG q90",
    make: (photo) => jpeg(redraw(photo, photo.width, photo.height, { flip: true }), 90),
  },
  {
    name: "portrait-3x4",
    description: "at its real 3:4 shape, 480x640 (a phone photo's proportions), JPEG q90",
    make: (photo) => jpeg(redraw(photo, 480, 640), 90),
  },
  {
    name: "phone",
    description: "3:4 at 306x408, centre 85% crop, JPEG q50: all of the above at once but the flip",
    make: (photo) => jpeg(redraw(photo, 306, 408, { crop: 0.85 }), 50),
  },
];

export async function decodePhoto(bytes: Uint8Array): Promise<Image> {
  return loadImage(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

export interface ShopperSet {
  /** The catalogue photos the set is made from (indices into dataset.photos). */
  sample: number[];
  /** Every degradation of every sampled photo, degradation-major. */
  bytes: Uint8Array[];
  /** The catalogue photo each upload was made from. */
  origins: number[];
}

/** Every k-th photo (`count` of them), each made into every degradation. */
export async function makeShopperSet(dataset: Dataset, count: number): Promise<ShopperSet> {
  const sample = evenSample(dataset.photos.length, count);
  const bytes: Uint8Array[] = [];
  for (const degradation of DEGRADATIONS) {
    for (const i of sample) bytes.push(degradation.make(await decodePhoto(dataset.photos[i]!.bytes)));
  }
  return { sample, bytes, origins: DEGRADATIONS.flatMap(() => sample) };
}

/** The shopper neighbour lists, one Neighbours per degradation (rows are degradation-major), `k` results each. */
export function splitByDegradation(neighbours: Neighbours, k: number, photos: number): Neighbours[] {
  return DEGRADATIONS.map((_, d) => selectRows({ ...neighbours, k }, range(photos).map((i) => d * photos + i)));
}
