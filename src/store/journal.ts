// The store's write-ahead journal: each change is appended as one checksummed record and fsynced before the change
// is reported durable, so a change costs a few kilobytes of I/O instead of rewriting the whole index. An incomplete or
// damaged record with nothing readable after it is a write torn by a crash, never acknowledged, and is ignored;
// damage with records after it is reported (JournalContents.damage) and reading goes on past it.
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

/** A stretch of a journal that holds no readable record, with readable records after it. */
export interface JournalDamage {
  offset: number;
  bytes: number;
  /** Readable records before the damage, in the whole file. */
  recordsBefore: number;
  /** What the damaged record's own bytes say it was; unverified, its checksum failed. */
  claimed: { op: JournalRecord["op"]; id: number } | null;
}

export interface JournalContents {
  records: JournalRecord[];
  /**
   * Damage followed by readable records (a torn tail, damage with nothing readable after it, is not listed: that
   * write was never acknowledged).
   */
  damage: JournalDamage[];
}

/** The record whose frame starts at `offset`, if its length is a record's and its checksum holds. */
function recordAt(bytes: Uint8Array, view: DataView, offset: number, dimensions: number): { record: JournalRecord; end: number } | null {
  if (offset + FRAME_BYTES > bytes.length) return null;
  const size = view.getUint32(offset, true);
  if (size !== 5 && size !== 5 + dimensions * 4) return null;
  const payloadStart = offset + FRAME_BYTES;
  const end = payloadStart + size;
  if (end > bytes.length) return null;
  const payload = bytes.subarray(payloadStart, end);
  if (Bun.hash.crc32(payload) !== view.getUint32(offset + 4, true)) return null;
  const id = view.getUint32(payloadStart + 1, true);
  if (payload[0] === OP_PUT && size === 5 + dimensions * 4) {
    return { record: { op: "put", id, vector: new Float32Array(payload.slice(5).buffer) }, end };
  }
  if (payload[0] === OP_DELETE && size === 5) return { record: { op: "delete", id }, end };
  return null;
}

/** What an unreadable record of `bytes` bytes at `offset` says it was, where its frame is consistent with its span. */
function claimedRecord(bytes: Uint8Array, view: DataView, offset: number, span: number, dimensions: number): JournalDamage["claimed"] {
  if (span < FRAME_BYTES + 5) return null;
  const size = view.getUint32(offset, true);
  const op = bytes[offset + FRAME_BYTES];
  const id = view.getUint32(offset + FRAME_BYTES + 1, true);
  if (span !== FRAME_BYTES + size) return null;
  if (op === OP_PUT && size === 5 + dimensions * 4) return { op: "put", id };
  if (op === OP_DELETE && size === 5) return { op: "delete", id };
  return null;
}

/**
 * Every readable record of `bytes`, in order. Past an unreadable one, reading resumes at the next offset where a whole
 * record starts: a length that is a record's and a CRC-32 over the payload that holds (a false match is a 1 in 2^32
 * chance per candidate offset), so one damaged record costs that record only.
 */
function decodeRecords(bytes: Uint8Array, dimensions: number): JournalContents {
  const records: JournalRecord[] = [];
  const damage: JournalDamage[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  while (offset < bytes.length) {
    const found = recordAt(bytes, view, offset, dimensions);
    if (found) {
      records.push(found.record);
      offset = found.end;
      continue;
    }
    let next = offset + 1;
    while (next < bytes.length && !recordAt(bytes, view, next, dimensions)) next++;
    if (next >= bytes.length) break; // a torn tail
    const span = next - offset;
    damage.push({ offset, bytes: span, recordsBefore: records.length, claimed: claimedRecord(bytes, view, offset, span, dimensions) });
    offset = next;
  }
  return { records, damage };
}

export async function readJournal(path: string, dimensions: number): Promise<JournalContents> {
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
