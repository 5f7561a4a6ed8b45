// One process per DATA_DIR: two writers on one index (the old system's several workers) lose each other's updates.
// The lock is flock(2) on DATA_DIR/LOCK, held through a descriptor kept open for the store's life: the kernel drops
// it when the process ends, however it ends, so a crash leaves nothing to take over and a pid reused by another
// process blocks nothing. The file holds the owner's pid only to name it in the refusal; the file itself stays (a
// removed lock file would let two processes lock two different files).
import { read } from "bun:ffi";
import { closeSync, constants, ftruncateSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { libc } from "../runtime/libc.ts";
import { StoreError } from "./store-error.ts";

export interface DataDirLock {
  release(): Promise<void>;
}

// <sys/file.h> and <errno.h> on Linux, the platform the service is built for (glibc, see README).
const LOCK_EX = 2;
const LOCK_NB = 4;
const EWOULDBLOCK = 11;

export async function lockDataDir(dir: string): Promise<DataDirLock> {
  const path = join(dir, "LOCK");
  const { flock, __errno_location } = libc();
  // Not "w": that would erase the owner's pid before we know whether we are the owner.
  const descriptor = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644);
  if (flock(descriptor, LOCK_EX | LOCK_NB) !== 0) {
    const errno = read.i32(__errno_location()!, 0);
    closeSync(descriptor);
    if (errno !== EWOULDBLOCK) throw new StoreError(`cannot lock ${path}: flock failed with errno ${errno}`);
    const owner = Number.parseInt(readFileSync(path, "utf8"), 10);
    const who = Number.isInteger(owner) ? `process ${owner}` : "another process";
    throw new StoreError(`${dir} is in use by ${who}; stop it first (one process per DATA_DIR)`);
  }
  ftruncateSync(descriptor, 0);
  writeSync(descriptor, `${process.pid}\n`, 0);
  return {
    async release() {
      ftruncateSync(descriptor, 0);
      closeSync(descriptor); // closing the last descriptor of the open file releases the lock
    },
  };
}
