// Huffman decoding of a JPEG's entropy-coded data, for the scan walk in jpeg-scan.ts: code tables from a DHT
// segment, and a bit reader that undoes byte stuffing and stops at the marker that ends the data.

/** Codes up to this many bits are decoded by one table lookup. */
const LOOKUP_BITS = 9;

export interface HuffmanTable {
  /** Indexed by the next LOOKUP_BITS bits: (code length << 8) | symbol, or 0 for a longer code. */
  lookup: Uint16Array;
  /** Per code length 1..16: the largest code of that length (-1 if none), and where its symbols start. */
  maxCode: Int32Array;
  valueOffset: Int32Array;
  values: Uint8Array;
}

/** The image data ran out (or stopped making sense) before the last block. */
export class ScanEnded extends Error {}

export function buildTable(counts: Uint8Array, values: Uint8Array): HuffmanTable {
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
export class BitReader {
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

