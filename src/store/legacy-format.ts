// Format 1, before segments: one snapshot (vectors-N.bin: a 16-byte header, ids, vectors; index-N.usearch keyed by
// product id) plus journals. Read only, to convert it at start (vector-store.ts) or to search it read-only.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { LegacyManifest } from "./store-files.ts";
import { StoreError } from "./store-error.ts";

const VECTORS_MAGIC = 0x56504946; // "FIPV" little-endian
const HEADER_BYTES = 16;

export async function readLegacySnapshot(dir: string, manifest: LegacyManifest, dimensions: number): Promise<{ ids: Uint32Array; vectors: Float32Array }> {
  const path = join(dir, manifest.vectors);
  const bytes = new Uint8Array(await readFile(path));
  if (Bun.hash.crc32(bytes) !== manifest.vectorsCrc32) throw new StoreError(`${path} is corrupt (checksum)`);
  const header = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = header.getUint32(12, true);
  if (
    header.getUint32(0, true) !== VECTORS_MAGIC ||
    header.getUint32(8, true) !== dimensions ||
    bytes.byteLength !== HEADER_BYTES + count * 4 * (1 + dimensions)
  ) {
    throw new StoreError(`${path} does not match its manifest`);
  }
  const own = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  return {
    ids: new Uint32Array(own.buffer, own.byteOffset + HEADER_BYTES, count),
    vectors: new Float32Array(own.buffer, own.byteOffset + HEADER_BYTES + count * 4, count * dimensions),
  };
}
