// The store's write-ahead journal: each change is appended as one checksummed record and fsynced before the change
// is reported durable, so a change costs a few kilobytes of I/O instead of rewriting the whole index. Reading stops
// at the first incomplete or damaged record: a write torn by a crash was never acknowledged.
import { close, fdatasync, open as openFd, write } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { promisify } from "node:util";
import { fsyncPath } from "./durable-files.ts";

// A plain descriptor rather than a FileHandle: a FileHandle left to the garbage collector (a store abandoned in a
// crash test) is an error in Bun.
const openDescriptor = promisify(openFd);
const writeDescriptor = promisify(write);
const syncDescriptor = promisify(fdatasync);
const closeDescriptor = promisify(close);

export type JournalRecord = { op: "put"; id: number; vector: Float32Array } | { op: "delete"; id: number };

const OP_PUT = 1;
const OP_DELETE = 2;
/** length (u32) + crc32 of the payload (u32) */
const FRAME_BYTES = 8;

function encodeRecords(records: JournalRecord[]): Uint8Array {
  const payloadSize = (record: JournalRecord) => 5 + (record.op === "put" ? record.vector.byteLength : 0);
  const bytes = new Uint8Array(records.reduce((sum, record) => sum + FRAME_BYTES + payloadSize(record), 0));
  const view = new DataView(bytes.buffer);
  let offset = 0;
  for (const record of records) {
    const size = payloadSize(record);
    const payloadStart = offset + FRAME_BYTES;
    view.setUint8(payloadStart, record.op === "put" ? OP_PUT : OP_DELETE);
    view.setUint32(payloadStart + 1, record.id, true);
    if (record.op === "put") {
      bytes.set(new Uint8Array(record.vector.buffer, record.vector.byteOffset, record.vector.byteLength), payloadStart + 5);
    }
    view.setUint32(offset, size, true);
    view.setUint32(offset + 4, Bun.hash.crc32(bytes.subarray(payloadStart, payloadStart + size)), true);
    offset = payloadStart + size;
  }
  return bytes;
}

/** The whole records at the start of `bytes`. */
function decodeRecords(bytes: Uint8Array, dimensions: number): JournalRecord[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: JournalRecord[] = [];
  let offset = 0;
  while (offset + FRAME_BYTES <= bytes.length) {
    const size = view.getUint32(offset, true);
    const payloadStart = offset + FRAME_BYTES;
    if (payloadStart + size > bytes.length) break;
    const payload = bytes.subarray(payloadStart, payloadStart + size);
    if (Bun.hash.crc32(payload) !== view.getUint32(offset + 4, true)) break;
    const op = payload[0];
    const id = view.getUint32(payloadStart + 1, true);
    if (op === OP_PUT && size === 5 + dimensions * 4) {
      records.push({ op: "put", id, vector: new Float32Array(payload.slice(5).buffer) });
    } else if (op === OP_DELETE && size === 5) {
      records.push({ op: "delete", id });
    } else {
      break;
    }
    offset = payloadStart + size;
  }
  return records;
}

export async function readJournal(path: string, dimensions: number): Promise<JournalRecord[]> {
  return decodeRecords(new Uint8Array(await readFile(path)), dimensions);
}

export class JournalWriter {
  private constructor(private readonly descriptor: number) {}

  /** Creates an empty journal (replacing any file of that name) whose directory entry is on disk too. */
  static async create(path: string): Promise<JournalWriter> {
    const descriptor = await openDescriptor(path, "w");
    await fsyncPath(dirname(path));
    return new JournalWriter(descriptor);
  }

  /** Appends the records and returns once they are on disk. */
  async append(records: JournalRecord[]): Promise<void> {
    const bytes = encodeRecords(records);
    for (let written = 0; written < bytes.length; ) {
      written += (await writeDescriptor(this.descriptor, bytes, written, bytes.length - written)).bytesWritten;
    }
    await syncDescriptor(this.descriptor);
  }

  close(): Promise<void> {
    return closeDescriptor(this.descriptor);
  }
}
