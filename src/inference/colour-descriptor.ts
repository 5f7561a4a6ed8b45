// A photo's colours as a vector: a histogram of its product pixels (the near-white studio background left out) in
// CIELAB, a perceptual colour space, so that "red" and "dark red" are near and a red and a blue dress are not.
// Computed from the model input the photo was already decoded to, so it costs no second decode.
import { MODEL_INPUT_SIZE } from "./preprocess.ts";

const L_BINS = 4;
const A_BINS = 6;
const B_BINS = 6;
/** a* and b* beyond ±A_B_RANGE (rare in product photos) fall in the outermost bins. */
const A_B_RANGE = 60;
/** A pixel whose red, green and blue are all at least this is background (product shots are on white). */
const BACKGROUND_MIN = 240;

export const COLOUR_DIMENSIONS = L_BINS * A_BINS * B_BINS;

const PIXELS = MODEL_INPUT_SIZE * MODEL_INPUT_SIZE;

/** sRGB 0..255 -> linear light, by table. */
const LINEAR = Float64Array.from({ length: 256 }, (_, v) => {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
});

const labF = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 / 116) * t + 16 / 116);

/**
 * The square root of the soft (trilinear) L*a*b* histogram of the product's pixels, L2-normalised: the cosine of two
 * descriptors is then the Bhattacharyya coefficient of their colour distributions. `input` is the model input,
 * 3x224x224 RGB 0..255 (NCHW). A photo with no product pixel (all white) uses all of its pixels.
 */
export function colourDescriptor(input: Float32Array, offset = 0): Float32Array {
  const histogram = new Float64Array(COLOUR_DIMENSIONS);
  let counted = accumulate(input, offset, histogram, true);
  if (counted === 0) counted = accumulate(input, offset, histogram, false);
  const out = new Float32Array(COLOUR_DIMENSIONS);
  let sum = 0;
  for (let k = 0; k < COLOUR_DIMENSIONS; k++) sum += histogram[k]!;
  for (let k = 0; k < COLOUR_DIMENSIONS; k++) out[k] = Math.sqrt(histogram[k]! / sum);
  return out;
}

function accumulate(input: Float32Array, offset: number, histogram: Float64Array, skipBackground: boolean): number {
  let counted = 0;
  for (let p = 0; p < PIXELS; p++) {
    const r8 = clampByte(input[offset + p]!);
    const g8 = clampByte(input[offset + PIXELS + p]!);
    const b8 = clampByte(input[offset + 2 * PIXELS + p]!);
    if (skipBackground && r8 >= BACKGROUND_MIN && g8 >= BACKGROUND_MIN && b8 >= BACKGROUND_MIN) continue;
    counted++;
    const r = LINEAR[r8]!;
    const g = LINEAR[g8]!;
    const b = LINEAR[b8]!;
    // sRGB (D65) -> XYZ relative to the white point -> L*a*b*.
    const fx = labF((0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047);
    const fy = labF(0.2126729 * r + 0.7151522 * g + 0.072175 * b);
    const fz = labF((0.0193339 * r + 0.119192 * g + 0.9503041 * b) / 1.08883);
    const l = 116 * fy - 16;
    const a = 500 * (fx - fy);
    const bb = 200 * (fy - fz);
    addSoft(histogram, position(l / 100, L_BINS), position((a + A_B_RANGE) / (2 * A_B_RANGE), A_BINS), position((bb + A_B_RANGE) / (2 * A_B_RANGE), B_BINS));
  }
  return counted;
}

const clampByte = (v: number) => Math.min(255, Math.max(0, Math.round(v)));

/** Continuous bin coordinate of a value in [0, 1] among `bins` bin centres, clamped to the outer centres. */
function position(unit: number, bins: number): number {
  return Math.min(bins - 1, Math.max(0, unit * bins - 0.5));
}

function addSoft(histogram: Float64Array, l: number, a: number, b: number): void {
  const l0 = Math.floor(l);
  const a0 = Math.floor(a);
  const b0 = Math.floor(b);
  const wl = l - l0;
  const wa = a - a0;
  const wb = b - b0;
  for (let dl = 0; dl <= 1; dl++) {
    const li = Math.min(L_BINS - 1, l0 + dl);
    const fl = dl ? wl : 1 - wl;
    if (fl === 0) continue;
    for (let da = 0; da <= 1; da++) {
      const ai = Math.min(A_BINS - 1, a0 + da);
      const fa = da ? wa : 1 - wa;
      if (fa === 0) continue;
      for (let db = 0; db <= 1; db++) {
        const bi = Math.min(B_BINS - 1, b0 + db);
        const fb = db ? wb : 1 - wb;
        if (fb === 0) continue;
        histogram[(li * A_BINS + ai) * B_BINS + bi]! += fl * fa * fb;
      }
    }
  }
}
