// Opening an index: its manifest's sealed segments (memory-mapped), or a format-1 snapshot (converted to a segment,
// or read into memory for a read-only open), then every journal after them replayed into the mutable segment.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { readJournal } from "./journal.ts";
import { describeDamage, keepDamagedJournal } from "./journal-damage.ts";
import { readLegacySnapshot } from "./legacy-format.ts";
import { type GraphOptions, SealedSegment } from "./segment-file.ts";
import { rowNumbers, runSegmentJob } from "./segment-job.ts";
import { SegmentSet } from "./segment-set.ts";
import { journalsFrom, readManifest } from "./store-files.ts";
import { StoreError } from "./store-error.ts";

export interface LoadOptions {
  dataDir: string;
  dimensions: number;
  pipeline: string;
  graph: GraphOptions;
  warn: (message: string) => void;
}

/** The index in memory and the next free file number. A read-only load writes nothing at all. */
export async function loadIndex(options: LoadOptions, readOnly: boolean): Promise<{ set: SegmentSet; nextNumber: number }> {
  const { dataDir: dir, dimensions, pipeline } = options;
  const manifest = await readManifest(dir);
  if (manifest && (manifest.pipeline !== pipeline || manifest.dimensions !== dimensions)) {
    throw new StoreError(
      `the index in ${dir} was made by pipeline ${manifest.pipeline} (${manifest.dimensions}-d); ` +
        `this build uses ${pipeline} (${dimensions}-d)`,
    );
  }
  const names = manifest ? await readdir(dir) : await readdir(dir).catch(() => []); // read-only: maybe no DATA_DIR
  const replayFrom = manifest?.format === 2 ? manifest.journal : manifest?.format === 1 ? manifest.snapshot : 0;
  const journals = journalsFrom(names, replayFrom);
  let nextNumber = Math.max(
    manifest?.format === 2 ? manifest.nextNumber : (manifest?.snapshot ?? 0) + 1,
    ...journals.map((journal) => journal.number + 1),
  );
  const set = new SegmentSet(dimensions, nextNumber++);

  if (manifest?.format === 2) {
    for (const entry of manifest.segments) set.loadSealed(SealedSegment.open(dir, entry, dimensions, options.graph));
  } else if (manifest?.format === 1) {
    const { ids, vectors } = await readLegacySnapshot(dir, manifest, dimensions);
    if (readOnly) {
      ids.forEach((id, row) => set.apply({ op: "put", id, vector: vectors.subarray(row * dimensions, (row + 1) * dimensions) }));
    } else {
      // Converted as a segment without a graph (a copy of the vectors, quick); a background rewrite builds its graph.
      // Until the manifest of format 2 is written, format 1's files stay and a crash converts again.
      const number = nextNumber++;
      runSegmentJob({ dir, number, dimensions, sources: [{ vectors, rows: rowNumbers(ids.length) }], ids, deletions: new Uint32Array(0), graph: null });
      set.loadSealed(SealedSegment.open(dir, { number, rows: ids.length, hasGraph: false, orphans: 0 }, dimensions, options.graph));
    }
  }
  for (const journal of journals) {
    const path = join(dir, journal.name);
    const contents = await readJournal(path, dimensions);
    if (contents.damage.length > 0) options.warn(describeDamage(path, readOnly ? path : await keepDamagedJournal(path), contents));
    for (const record of contents.records) set.apply(record);
  }
  return { set, nextNumber };
}
