// Whether a JPEG's compressed image data covers the whole picture. A file cut off in transfer and then given an
// end-of-image marker (FFD9) has every marker a decoder looks for, and the canvas library decodes it with the missing
// rows blank; only walking the entropy-coded data, block by block, shows it ends early. Pure and dependency-free, so
// it runs wherever decoding runs (in the compiled binary too, with no native library).
//
// Baseline and extended JPEGs are walked in full. Progressive JPEGs are walked through their DC scans and first AC
// passes, which give every block its picture; AC refinement passes (extra precision bits) are not walked, so a file
// cut inside one still passes: it decodes to a slightly less precise photo, never a blank region.
import { BitReader, buildTable, type HuffmanTable, ScanEnded } from "./jpeg-huffman.ts";

const MARKER_SOF0 = 0xc0; // baseline
const MARKER_SOF1 = 0xc1; // extended, Huffman
const MARKER_SOF2 = 0xc2; // progressive, Huffman
const MARKER_DHT = 0xc4;
const MARKER_EOI = 0xd9;
const MARKER_SOS = 0xda;
const MARKER_DRI = 0xdd;

interface FrameComponent {
  id: number;
  h: number;
  v: number;
}

interface Frame {
  progressive: boolean;
  width: number;
  height: number;
  components: FrameComponent[];
  maxH: number;
  maxV: number;
}

/**
 * True when every scan the check understands decodes to its last block before the data ends. Files it cannot judge
 * (arithmetic-coded, lossless, hierarchical, a height given later by DNL) are not refused here.
 */
export function jpegScansAreComplete(bytes: Uint8Array): boolean {
  const dcTables: (HuffmanTable | undefined)[] = [];
  const acTables: (HuffmanTable | undefined)[] = [];
  let frame: Frame | null = null;
  let restartInterval = 0;
  let scans = 0;
  let i = 2;
  while (i + 1 < bytes.length) {
    if (bytes[i] !== 0xff) return false;
    const marker = bytes[i + 1]!;
    if (marker === 0xff) {
      i++;
      continue;
    }
    if (marker === MARKER_EOI) return scans > 0;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    if (i + 3 >= bytes.length) return false;
    const segmentEnd = i + 2 + ((bytes[i + 2]! << 8) | bytes[i + 3]!);
    const segment = bytes.subarray(i + 4, segmentEnd);
    if (marker === MARKER_SOF0 || marker === MARKER_SOF1 || marker === MARKER_SOF2) {
      frame = readFrame(segment, marker === MARKER_SOF2);
      if (!frame) return true;
    } else if (marker >= 0xc3 && marker <= 0xcf && marker !== MARKER_DHT && marker !== 0xc8 && marker !== 0xcc) {
      return true; // lossless, hierarchical or arithmetic-coded: not ours to judge
    } else if (marker === MARKER_DHT) {
      readHuffmanTables(segment, dcTables, acTables);
    } else if (marker === MARKER_DRI) {
      restartInterval = (segment[0]! << 8) | segment[1]!;
    } else if (marker === MARKER_SOS) {
      if (!frame) return false;
      i = walkScan(bytes, segmentEnd, segment, frame, dcTables, acTables, restartInterval);
      if (i < 0) return false;
      scans++;
      continue;
    }
    i = segmentEnd;
  }
  return false;
}

function readFrame(segment: Uint8Array, progressive: boolean): Frame | null {
  const height = (segment[1]! << 8) | segment[2]!;
  const width = (segment[3]! << 8) | segment[4]!;
  const count = segment[5]!;
  const components: FrameComponent[] = [];
  for (let c = 0; c < count; c++) {
    const sampling = segment[7 + c * 3]!;
    components.push({ id: segment[6 + c * 3]!, h: sampling >> 4, v: sampling & 15 });
  }
  if (height === 0 || width === 0 || components.some((c) => c.h === 0 || c.v === 0)) return null;
  return {
    progressive,
    width,
    height,
    components,
    maxH: Math.max(...components.map((c) => c.h)),
    maxV: Math.max(...components.map((c) => c.v)),
  };
}

function readHuffmanTables(segment: Uint8Array, dc: (HuffmanTable | undefined)[], ac: (HuffmanTable | undefined)[]) {
  for (let p = 0; p + 17 <= segment.length; ) {
    const tableClass = segment[p]! >> 4;
    const id = segment[p]! & 15;
    const counts = segment.subarray(p + 1, p + 17);
    const total = counts.reduce((sum, n) => sum + n, 0);
    const values = segment.slice(p + 17, p + 17 + total);
    (tableClass === 0 ? dc : ac)[id] = buildTable(counts, values);
    p += 17 + total;
  }
}

/**
 * Walks one scan's data from `start`; answers where the data ends (the next marker), or -1 when it ends before the
 * scan's last block.
 */
function walkScan(
  bytes: Uint8Array,
  start: number,
  header: Uint8Array,
  frame: Frame,
  dcTables: (HuffmanTable | undefined)[],
  acTables: (HuffmanTable | undefined)[],
  restartInterval: number,
): number {
  const count = header[0]!;
  const scanComponents = [];
  for (let c = 0; c < count; c++) {
    const component = frame.components.find((fc) => fc.id === header[1 + c * 2]);
    if (!component) return -1;
    const tables = header[2 + c * 2]!;
    scanComponents.push({ ...component, dc: dcTables[tables >> 4], ac: acTables[tables & 15] });
  }
  const p = 1 + count * 2;
  const spectralStart = header[p]!;
  const spectralEnd = header[p + 1]!;
  const refinement = header[p + 2]! >> 4 !== 0;
  const reader = new BitReader(bytes, start);

  // AC refinement passes are not walked (see the top of the file): find where their data ends.
  if (frame.progressive && spectralStart > 0 && refinement) return reader.end();

  // One unit is an MCU of an interleaved scan, or one block of a single-component scan.
  const blocksOf: { dc: HuffmanTable | undefined; ac: HuffmanTable | undefined }[] = [];
  let units: number;
  if (count > 1) {
    for (const component of scanComponents) {
      for (let b = 0; b < component.h * component.v; b++) blocksOf.push(component);
    }
    units = Math.ceil(frame.width / (8 * frame.maxH)) * Math.ceil(frame.height / (8 * frame.maxV));
  } else {
    const component = scanComponents[0]!;
    blocksOf.push(component);
    const columns = Math.ceil(Math.ceil((frame.width * component.h) / frame.maxH) / 8);
    const rows = Math.ceil(Math.ceil((frame.height * component.v) / frame.maxV) / 8);
    units = columns * rows;
  }
  const needsDc = spectralStart === 0 && !(frame.progressive && refinement);
  const needsAc = !frame.progressive || spectralStart > 0;
  if (blocksOf.some((block) => (needsDc && !block.dc) || (needsAc && !block.ac))) return -1;

  let endOfBandRun = 0;
  try {
    for (let unit = 0; unit < units; unit++) {
      if (restartInterval > 0 && unit > 0 && unit % restartInterval === 0) {
        reader.restart();
        endOfBandRun = 0;
      }
      for (const block of blocksOf) {
        if (!frame.progressive) {
          reader.skip(reader.decode(block.dc!));
          for (let k = 1; k < 64; ) {
            const symbol = reader.decode(block.ac!);
            const size = symbol & 15;
            if (size === 0) {
              if (symbol !== 0xf0) break; // end of block
              k += 16;
            } else {
              reader.skip(size);
              k += (symbol >> 4) + 1;
            }
          }
        } else if (spectralStart === 0) {
          if (refinement) reader.skip(1);
          else reader.skip(reader.decode(block.dc!));
        } else if (endOfBandRun > 0) {
          endOfBandRun--;
        } else {
          for (let k = spectralStart; k <= spectralEnd; ) {
            const symbol = reader.decode(block.ac!);
            const run = symbol >> 4;
            const size = symbol & 15;
            if (size === 0) {
              if (run < 15) {
                endOfBandRun = (1 << run) - 1 + reader.read(run);
                break;
              }
              k += 16;
            } else {
              reader.skip(size);
              k += run + 1;
            }
          }
        }
      }
    }
  } catch (error) {
    if (error instanceof ScanEnded) return -1;
    throw error;
  }
  return reader.end();
}
