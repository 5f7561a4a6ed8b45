// Rewrites a baseline JPEG as a progressive one without touching its pixels (what `jpegtran -progressive` does, with
// a simpler scan script: the DC of every component, then each component's AC coefficients in one pass), so tests can
// have a progressive JPEG, which @napi-rs/canvas cannot write. Test-only, and only for files with no restart markers.

interface Segment {
  marker: number;
  payload: Uint8Array;
}

interface Code {
  code: number;
  length: number;
}

interface HuffmanCodes {
  bySymbol: Map<number, Code>;
  byCode: Map<string, number>;
}

/** One coded value: a Huffman symbol and the `size` extra bits after it. */
interface Coded {
  symbol: number;
  size: number;
  bits: number;
}

export function toProgressive(jpeg: Uint8Array): Uint8Array {
  const segments: Segment[] = [];
  let i = 2;
  while (jpeg[i + 1] !== 0xda) {
    const length = (jpeg[i + 2]! << 8) | jpeg[i + 3]!;
    segments.push({ marker: jpeg[i + 1]!, payload: jpeg.subarray(i + 4, i + 2 + length) });
    i += 2 + length;
  }
  const scanLength = (jpeg[i + 2]! << 8) | jpeg[i + 3]!;
  const scan = jpeg.subarray(i + 4, i + 2 + scanLength);
  if (segments.some((s) => s.marker === 0xdd)) throw new Error("toProgressive: restart markers are not supported");

  const tables = new Map<number, HuffmanCodes>(); // class << 4 | id
  for (const { payload } of segments.filter((s) => s.marker === 0xc4)) {
    for (let p = 0; p < payload.length; ) {
      const counts = payload.subarray(p + 1, p + 17);
      const total = counts.reduce((sum, n) => sum + n, 0);
      tables.set(payload[p]!, canonicalCodes(counts, payload.subarray(p + 17, p + 17 + total)));
      p += 17 + total;
    }
  }
  const frame = segments.find((s) => s.marker === 0xc0)!.payload;
  const height = (frame[1]! << 8) | frame[2]!;
  const width = (frame[3]! << 8) | frame[4]!;
  const components = Array.from({ length: frame[5]! }, (_, c) => {
    const selectors = scan[2 + c * 2]!;
    return { id: frame[6 + c * 3]!, h: frame[7 + c * 3]! >> 4, v: frame[7 + c * 3]! & 15, dc: selectors >> 4, ac: selectors & 15 };
  });
  if (scan[0] !== components.length) throw new Error("toProgressive: needs one interleaved baseline scan");
  const maxH = Math.max(...components.map((c) => c.h));
  const maxV = Math.max(...components.map((c) => c.v));
  const mcusX = Math.ceil(width / (8 * maxH));
  const mcusY = Math.ceil(height / (8 * maxV));

  // Every block's coded DC and AC values, per component, on the grid of whole MCUs.
  const blocks = components.map((c) => ({ columns: mcusX * c.h, grid: [] as { dc: Coded; ac: Coded[] }[] }));
  const reader = bitReader(jpeg, i + 2 + scanLength);
  for (let mcu = 0; mcu < mcusX * mcusY; mcu++) {
    const [mx, my] = [mcu % mcusX, Math.floor(mcu / mcusX)];
    components.forEach((c, index) => {
      for (let v = 0; v < c.v; v++) {
        for (let h = 0; h < c.h; h++) {
          const dcSymbol = reader.decode(tables.get(c.dc)!);
          const dc = { symbol: dcSymbol, size: dcSymbol, bits: reader.read(dcSymbol) };
          const ac: Coded[] = [];
          for (let k = 1; k < 64; ) {
            const symbol = reader.decode(tables.get(0x10 | c.ac)!);
            ac.push({ symbol, size: symbol & 15, bits: reader.read(symbol & 15) });
            if (symbol === 0) break;
            k += symbol === 0xf0 ? 16 : (symbol >> 4) + 1;
          }
          const target = blocks[index]!;
          target.grid[(my * c.v + v) * target.columns + mx * c.h + h] = { dc, ac };
        }
      }
    });
  }

  const out: number[] = [0xff, 0xd8];
  const writeSegment = (marker: number, payload: ArrayLike<number>) => {
    out.push(0xff, marker, (payload.length + 2) >> 8, (payload.length + 2) & 0xff, ...Array.from(payload));
  };
  for (const segment of segments) writeSegment(segment.marker === 0xc0 ? 0xc2 : segment.marker, segment.payload);

  // DC of every component, interleaved, in the baseline's order (so its differences stay valid).
  writeSegment(0xda, [components.length, ...components.flatMap((c) => [c.id, c.dc << 4]), 0, 0, 0]);
  const dcWriter = bitWriter(out);
  for (let mcu = 0; mcu < mcusX * mcusY; mcu++) {
    const [mx, my] = [mcu % mcusX, Math.floor(mcu / mcusX)];
    components.forEach((c, index) => {
      for (let v = 0; v < c.v; v++) {
        for (let h = 0; h < c.h; h++) {
          const block = blocks[index]!.grid[(my * c.v + v) * blocks[index]!.columns + mx * c.h + h]!;
          dcWriter.put(tables.get(c.dc)!, block.dc);
        }
      }
    });
  }
  dcWriter.flush();

  // Each component's AC coefficients 1..63 in one pass, its blocks in raster order (only those inside the image).
  components.forEach((c, index) => {
    writeSegment(0xda, [1, c.id, c.ac, 1, 63, 0]);
    const writer = bitWriter(out);
    const columns = Math.ceil(Math.ceil((width * c.h) / maxH) / 8);
    const rows = Math.ceil(Math.ceil((height * c.v) / maxV) / 8);
    for (let row = 0; row < rows; row++) {
      for (let column = 0; column < columns; column++) {
        for (const coded of blocks[index]!.grid[row * blocks[index]!.columns + column]!.ac) {
          writer.put(tables.get(0x10 | c.ac)!, coded);
        }
      }
    }
    writer.flush();
  });
  out.push(0xff, 0xd9);
  return new Uint8Array(out);
}

function canonicalCodes(counts: Uint8Array, values: Uint8Array): HuffmanCodes {
  const bySymbol = new Map<number, Code>();
  const byCode = new Map<string, number>();
  let code = 0;
  let k = 0;
  for (let length = 1; length <= 16; length++) {
    for (let j = 0; j < counts[length - 1]!; j++, code++, k++) {
      bySymbol.set(values[k]!, { code, length });
      byCode.set(`${length}:${code}`, values[k]!);
    }
    code <<= 1;
  }
  return { bySymbol, byCode };
}

function bitReader(bytes: Uint8Array, start: number) {
  let position = start;
  let byte = 0;
  let left = 0;
  const bit = () => {
    if (left === 0) {
      byte = bytes[position]!;
      position += byte === 0xff ? 2 : 1; // skip the stuffed 0x00
      left = 8;
    }
    left--;
    return (byte >> left) & 1;
  };
  return {
    read(n: number) {
      let value = 0;
      for (let j = 0; j < n; j++) value = (value << 1) | bit();
      return value;
    },
    decode(table: HuffmanCodes) {
      let code = 0;
      for (let length = 1; length <= 16; length++) {
        code = (code << 1) | bit();
        const symbol = table.byCode.get(`${length}:${code}`);
        if (symbol !== undefined) return symbol;
      }
      throw new Error("toProgressive: bad Huffman code");
    },
  };
}

function bitWriter(out: number[]) {
  let byte = 0;
  let used = 0;
  const putBits = (value: number, count: number) => {
    for (let j = count - 1; j >= 0; j--) {
      byte = (byte << 1) | ((value >> j) & 1);
      if (++used === 8) {
        out.push(byte);
        if (byte === 0xff) out.push(0x00);
        byte = 0;
        used = 0;
      }
    }
  };
  return {
    put(table: HuffmanCodes, coded: Coded) {
      const { code, length } = table.bySymbol.get(coded.symbol)!;
      putBits(code, length);
      putBits(coded.bits, coded.size);
    },
    flush() {
      if (used > 0) putBits(0x7f, 8 - used); // pad with 1-bits
    },
  };
}
