// Every acknowledged change survives kill -9 at any moment, including while a sealed segment is being written and
// while segments are being merged: a real process writes, and is killed with SIGKILL right as that work starts and a
// little later.
import { afterAll, describe, expect, test } from "bun:test";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { VectorStore } from "../../src/store/vector-store.ts";
import { tempDir } from "../helpers/environment.ts";
import { distinct } from "../helpers/store-vectors.ts";
import { WRITER_DIMENSIONS, WRITER_SIZES } from "../helpers/store-writer.ts";

const WRITER = join(import.meta.dir, "../helpers/store-writer.ts");

/** Runs the writer until the `nth` "seal" or "merge" line, plus `thenAcks` more acknowledgements, then kills it. */
async function writeUntilKilled(dataDir: string, kind: "seal" | "merge", nth: number, thenAcks: number) {
  const child = Bun.spawn([process.execPath, WRITER, dataDir], { stdout: "pipe", stderr: "inherit" });
  const acknowledged = new Map<number, "put" | "deleted">();
  let seen = 0;
  let after = -1;
  let lastPut = 0;
  let killed = false;
  let pending = "";
  const decoder = new TextDecoder();
  try {
    // Reading goes on after the kill: lines the writer printed before it died were acknowledged too.
    for await (const chunk of child.stdout) {
      pending += decoder.decode(chunk);
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) {
        const [what, id] = line.split(" ");
        if (what === "put" || what === "deleted") {
          acknowledged.set(Number(id), what);
          if (what === "put") lastPut = Number(id);
          if (after >= 0) after++;
        }
        if (what === kind && ++seen === nth) after = 0;
        if (!killed && after >= thenAcks) {
          child.kill("SIGKILL");
          killed = true;
        }
      }
    }
  } finally {
    child.kill("SIGKILL");
    await child.exited;
  }
  return { acknowledged, lastPut };
}

async function check(dataDir: string, acknowledged: Map<number, "put" | "deleted">, lastPut: number) {
  const store = await VectorStore.open({ dataDir, dimensions: WRITER_DIMENSIONS, pipeline: "test-pipeline/v1", ...WRITER_SIZES });
  try {
    const stored = new Set(store.listIds(0, store.count).ids);
    // The one change in flight at the kill may or may not be there: the put after the last, or the delete that
    // follows a put of a multiple of seven.
    const inFlightDelete = lastPut % 7 === 0 && acknowledged.get(lastPut - 3) === "put" ? lastPut - 3 : null;
    for (const [id, what] of acknowledged) {
      if (id !== inFlightDelete) expect({ id, stored: stored.has(id) }).toEqual({ id, stored: what === "put" });
    }
    const unacknowledged = [...stored].filter((id) => !acknowledged.has(id));
    expect(unacknowledged.every((id) => id === lastPut + 1)).toBe(true);
    for (const id of stored) expect(store.search(distinct(id, WRITER_DIMENSIONS), 1)[0]).toEqual({ id, distance: 0 });
    // The store goes on: background work resumes and leaves only the manifest's files.
    await store.put(lastPut + 100, distinct(lastPut + 100, WRITER_DIMENSIONS));
    await store.idle();
    expect(await unlistedSegmentFiles(dataDir)).toEqual([]);
  } finally {
    await store.close();
  }
}

/** Segment files the manifest does not list: what the killed seal or merge had written so far. */
async function unlistedSegmentFiles(dataDir: string): Promise<string[]> {
  const manifest = JSON.parse(await readFile(join(dataDir, "manifest.json"), "utf8"));
  const listed = new Set<number>(manifest.segments.map((segment: { number: number }) => segment.number));
  return (await readdir(dataDir)).filter((name) => name.startsWith("segment-") && !listed.has(Number(/\d+/.exec(name)![0])));
}

describe("kill -9 during background segment work", () => {
  /** Trials whose kill left a partly written segment: the kill did land in the middle of a write. */
  const interrupted: string[] = [];

  afterAll(() => {
    // Timing decides where each kill lands; most must land inside a write, or these tests prove little.
    expect(interrupted.length).toBeGreaterThanOrEqual(3);
  });

  for (const [kind, nth] of [["seal", 2], ["merge", 1], ["merge", 2]] as const) {
    for (const thenAcks of [0, 5]) {
      test(`killed at ${kind} ${nth}${thenAcks ? ` and ${thenAcks} changes later` : ""}: every acknowledged change is there`, async () => {
        await using dir = await tempDir();
        const { acknowledged, lastPut } = await writeUntilKilled(dir.path, kind, nth, thenAcks);
        expect(acknowledged.size).toBeGreaterThan(WRITER_SIZES.sealSize);
        const leftovers = await unlistedSegmentFiles(dir.path);
        console.log(`${kind} ${nth} + ${thenAcks}: the kill left ${leftovers.join(", ") || "no partial segment"}`);
        if (leftovers.length > 0) interrupted.push(`${kind} ${nth} + ${thenAcks}`);
        await check(dir.path, acknowledged, lastPut);
      }, 120_000);
    }
  }
});
