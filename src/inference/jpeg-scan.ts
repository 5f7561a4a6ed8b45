// Whether a JPEG's compressed image data covers the whole picture. A file cut off in transfer and then given an
// end-of-image marker (FFD9) has every marker a decoder looks for, and the canvas library decodes it with the missing
// rows blank; only walking the entropy-coded data, block by block, shows it ends early. Pure and dependency-free, so
// it runs wherever decoding runs (in the compiled binary too, with no native library).
//
// Baseline and extended JPEGs are walked in full. Progressive JPEGs are walked through their DC scans and first AC
// passes, which give every block its picture; AC refinement passes (extra precision bits) are not walked, so a file
// cut inside one still passes: it decodes to a slightly less precise photo, never a blank region.

const MARKER_SOF0 = 0xc0; // baseline
const MARKER_SOF1 = 0xc1; // extended, Huffman
const MARKER_SOF2 = 0xc2; // progressive, Huffman
const MARKER_DHT = 0xc4;
const MARKER_EOI = 0xd9;
const MARKER_SOS = 0xda;
const MARKER_DRI = 0xdd;

/** Codes up to this many bits are decoded by one table lookup. */
const LOOKUP_BITS = 9;

interface HuffmanTable {
  /** Indexed by the next LOOKUP_BITS bits: (code length << 8) | symbol, or 0 for a longer code. */
  lookup: Uint16Array;
  /** Per code length 1..16: the largest code of that length (-1 if none), and where its symbols start. */
  maxCode: Int32Array;
  valueOffset: Int32Array;
  values: Uint8Array;
}

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

/** The image data ran out (or stopped making sense) before the last block. */
class ScanEnded extends Error {}

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

function buildTable(counts: Uint8Array, values: Uint8Array): HuffmanTable {
  const lookup = new Uint16Array(1 << LOOKUP_BITS);
  const maxCode = new Int32Array(17).fill(-1);
  const valueOffset = new Int32Array(17);
  let code = 0;
  let k = 0;
  for (let length = 1; length <= 16; length++) {
    const n = counts[length - 1]!;
    valueOffset[length] = k - code;
    for (let j = 0; j < n; j++, code++, k++) {
      if (length <= LOOKUP_BITS) {
        const shift = LOOKUP_BITS - length;
        for (let fill = 0; fill < 1 << shift; fill++) lookup[(code << shift) | fill] = (length << 8) | values[k]!;
      }
    }
    if (n > 0) maxCode[length] = code - 1;
    code <<= 1;
  }
  return { lookup, maxCode, valueOffset, values };
}

/** Reads the entropy-coded bits of one scan; running past its end (a marker) throws ScanEnded. */
class BitReader {
  position: number;
  #bits = 0;
  #count = 0;
  /** Made-up 1-bits at the bottom of the buffer once a marker is reached: consuming one means the data ran out. */
  #padding = 0;
  #atMarker = false;

  constructor(
    private readonly bytes: Uint8Array,
    start: number,
  ) {
    this.position = start;
  }

  #fill(): void {
    while (this.#count <= 24) {
      let byte = 0xff;
      if (this.#atMarker || this.position >= this.bytes.length) {
        this.#padding += 8;
      } else if (this.bytes[this.position] === 0xff) {
        const next = this.bytes[this.position + 1];
        if (next === 0x00) {
          this.position += 2;
        } else {
          this.#atMarker = true;
          this.#padding += 8;
        }
      } else {
        byte = this.bytes[this.position++]!;
      }
      this.#bits = ((this.#bits << 8) | byte) >>> 0;
      this.#count += 8;
    }
  }

  #consume(n: number): void {
    this.#count -= n;
    this.#bits &= (1 << this.#count) - 1;
    if (this.#count < this.#padding) throw new ScanEnded();
  }

  skip(n: number): void {
    if (n === 0) return;
    this.#fill();
    this.#consume(n);
  }

  read(n: number): number {
    if (n === 0) return 0;
    this.#fill();
    const value = (this.#bits >>> (this.#count - n)) & ((1 << n) - 1);
    this.#consume(n);
    return value;
  }

  decode(table: HuffmanTable): number {
    this.#fill();
    const entry = table.lookup[(this.#bits >>> (this.#count - LOOKUP_BITS)) & ((1 << LOOKUP_BITS) - 1)]!;
    if (entry !== 0) {
      this.#consume(entry >> 8);
      return entry & 0xff;
    }
    for (let length = LOOKUP_BITS + 1; length <= 16; length++) {
      const code = (this.#bits >>> (this.#count - length)) & ((1 << length) - 1);
      if (code <= table.maxCode[length]!) {
        this.#consume(length);
        return table.values[table.valueOffset[length]! + code]!;
      }
    }
    throw new ScanEnded(); // no such code: the data is damaged
  }

  /** At a restart interval: drop the padding bits, and the RSTn marker must come next. */
  restart(): void {
    this.#skipToMarker();
    const marker = this.bytes[this.position + 1];
    if (marker === undefined || marker < 0xd0 || marker > 0xd7) throw new ScanEnded();
    this.position += 2;
    this.#bits = 0;
    this.#count = 0;
    this.#padding = 0;
    this.#atMarker = false;
  }

  /** The position of the marker that ends the scan's data. */
  end(): number {
    this.#skipToMarker();
    return this.position;
  }

  /** Moves to the next marker (past fill bytes), leaving any bytes before it unread. */
  #skipToMarker(): void {
    const { bytes } = this;
    let p = this.position;
    while (p + 1 < bytes.length && !(bytes[p] === 0xff && bytes[p + 1] !== 0x00)) p++;
    while (p + 2 < bytes.length && bytes[p + 1] === 0xff) p++;
    this.position = p + 1 < bytes.length ? p : bytes.length;
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
