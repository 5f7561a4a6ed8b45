// File writes that survive a crash: fsynced contents, and replacements that are all-or-nothing.
import { randomUUID } from "node:crypto";
import { open, rename } from "node:fs/promises";
import { dirname } from "node:path";

/** fsync a file or a directory (a rename or a new file is durable only once its directory is). */
export async function fsyncPath(path: string): Promise<void> {
  const file = await open(path, "r");
  try {
    await file.sync();
  } finally {
    await file.close();
  }
}

/** Writes `bytes` to `path` and returns once they are on disk. */
export async function writeDurably(path: string, bytes: Uint8Array | string): Promise<void> {
  const file = await open(path, "w");
  try {
    await file.writeFile(bytes);
    await file.sync();
  } finally {
    await file.close();
  }
}

/** Replaces `path` with `bytes` so that a crash leaves the old file or the new one, never a part of it. */
export async function replaceDurably(path: string, bytes: Uint8Array | string): Promise<void> {
  const temporary = `${path}.${randomUUID()}.tmp`;
  await writeDurably(temporary, bytes);
  await rename(temporary, path);
  await fsyncPath(dirname(path));
}
