// One process per DATA_DIR: two writers on one index (the old system's several workers) lose each other's updates.
// The lock is a file holding the owner's pid; a lock left by a process that is gone (a crash) is taken over.
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { StoreError } from "./store-error.ts";

export interface DataDirLock {
  release(): Promise<void>;
}

export async function lockDataDir(dir: string): Promise<DataDirLock> {
  const path = join(dir, "LOCK");
  try {
    await writeFile(path, `${process.pid}\n`, { flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    const owner = Number.parseInt(await readFile(path, "utf8").catch(() => ""), 10);
    if (owner !== process.pid && isAlive(owner)) {
      throw new StoreError(
        `${dir} is in use by process ${owner}; stop it first (one process per DATA_DIR), or remove ${path} if that is not this service`,
      );
    }
    await writeFile(path, `${process.pid}\n`);
  }
  return { release: () => rm(path, { force: true }) };
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
