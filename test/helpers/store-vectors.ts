// Small vectors for the store's tests: exact values, unit length, one of its own for every id.
export const DIMENSIONS = 8;
export const PIPELINE = "test-pipeline/v1";

/** A unit vector between axes `index` and `index + 1`. */
export function unit(index: number, weight = 1): Float32Array {
  const vector = new Float32Array(DIMENSIONS);
  vector[index % DIMENSIONS] = weight;
  vector[(index + 1) % DIMENSIONS] = 1 - weight;
  const norm = Math.hypot(...vector);
  return vector.map((v) => v / norm);
}

/** A vector of its own for every id. */
export function distinct(id: number, dimensions = DIMENSIONS): Float32Array {
  const vector = Float32Array.from({ length: dimensions }, (_, k) => Math.abs(Math.sin(id * (k + 1.3))));
  const norm = Math.hypot(...vector);
  return vector.map((v) => v / norm);
}

/**
 * What a crash right now would leave of a live store's directory, copied to `target`: copied again if a seal or merge
 * published a manifest (or removed a file) meanwhile, so the copy is one moment's files. Journals may end torn.
 */
export async function copyAsCrash(source: string, target: string): Promise<void> {
  const { cp, readFile, rm } = await import("node:fs/promises");
  const manifest = () => readFile(`${source}/manifest.json`, "utf8").catch(() => "");
  for (;;) {
    const before = await manifest();
    await rm(target, { recursive: true, force: true });
    const copied = await cp(source, target, { recursive: true }).then(() => true, (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return false;
      throw error;
    });
    if (copied && (await manifest()) === before) return;
  }
}
