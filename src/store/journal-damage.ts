// A journal damaged in the middle (a bad block, a stray write: not a crash, which only tears the tail) is kept aside
// for an operator and reported in one line, since replaying it loses the damaged record's change.
import { constants } from "node:fs";
import { copyFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fsyncPath } from "./durable-files.ts";
import type { JournalContents, JournalDamage } from "./journal.ts";

/**
 * Copies the journal beside it as damaged-<name>-<time>.log, on disk before the store replaces the journal with a
 * snapshot; nothing in the store removes the copy. Returns the copy's path.
 */
export async function keepDamagedJournal(path: string): Promise<string> {
  const time = new Date().toISOString().replace(/[:.]/g, "-");
  const copy = join(dirname(path), `damaged-${basename(path, ".log")}-${time}.log`);
  await copyFile(path, copy, constants.COPYFILE_EXCL);
  await fsyncPath(copy);
  await fsyncPath(dirname(path));
  return copy;
}

export function describeDamage(path: string, copy: string, { records, damage }: JournalContents): string {
  const places = damage.map((stretch) => `at byte ${stretch.offset} (${stretch.bytes} bytes, ${lostChange(stretch)}; ` +
    `${stretch.recordsBefore} records before it and ${records.length - stretch.recordsBefore} after it were recovered)`);
  return `DAMAGED JOURNAL ${path}: unreadable ${places.join(", ")}. Only the damaged records' changes are lost: ` +
    `a product they changed may be missing, stale or back after a delete; store or delete it again. The damaged file is kept as ${copy}; remove it when done.`;
}

function lostChange({ claimed }: JournalDamage): string {
  if (!claimed) return "a record that cannot be identified";
  return `the record reads as ${claimed.op === "put" ? "a put" : "a delete"} of product ${claimed.id}, unverified`;
}
