// The names of an index's files in DATA_DIR and its manifest: the one place that knows them.
//   manifest.json              the live segments in age order, the journal to replay, the pipeline, a format number
//   segment-N.vectors          a sealed segment's vectors, ids and deletions (segment-file.ts)
//   segment-N.usearch          its HNSW graph, for segments large enough to need one
//   segment-N.orphans          the rows its graph cannot reach, scanned beside it
//   journal-N.log              changes after the manifest's segments (journal.ts)
// Format 1 (before segments) had vectors-N.bin and index-N.usearch beside its journals; legacy-format.ts reads it.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { replaceDurably } from "./durable-files.ts";
import { StoreError } from "./store-error.ts";

export const MANIFEST = "manifest.json";
export const SEGMENTS_FORMAT = 2;
export const LEGACY_FORMAT = 1;

const number8 = (n: number) => String(n).padStart(8, "0");
export const segmentVectorsName = (n: number) => `segment-${number8(n)}.vectors`;
export const segmentGraphName = (n: number) => `segment-${number8(n)}.usearch`;
export const segmentOrphansName = (n: number) => `segment-${number8(n)}.orphans`;
/** Every file a segment may have. */
export const segmentFileNames = (n: number) => [segmentVectorsName(n), segmentGraphName(n), segmentOrphansName(n)];
export const journalName = (n: number) => `journal-${number8(n)}.log`;

const JOURNAL = /^journal-(\d+)\.log$/;
const SEGMENT = /^segment-(\d+)\.(?:vectors|usearch|orphans)$/;
const LEGACY_SNAPSHOT = /^(?:vectors|index)-(\d+)\.(?:bin|usearch)$/;
const MANIFEST_TEMPORARY = /^manifest\.json\..+\.tmp$/;

export interface SegmentEntry {
  number: number;
  /** Rows in the file (live or not when it was written). */
  rows: number;
  hasGraph: boolean;
  /** Rows the graph does not find from their own vector (segment-N.orphans), scanned beside it. */
  orphans: number;
}

export interface Manifest {
  format: typeof SEGMENTS_FORMAT;
  pipeline: string;
  dimensions: number;
  metric: "l2sq";
  /** Oldest first: a later segment's row or deletion of an id overrides an earlier one's. */
  segments: SegmentEntry[];
  /** Journals numbered from this one on hold the changes made after these segments. */
  journal: number;
  /** The next number for a segment or journal file. */
  nextNumber: number;
  savedAt: string;
}

/** Format 1's manifest, read only to convert it. */
export interface LegacyManifest {
  format: typeof LEGACY_FORMAT;
  pipeline: string;
  dimensions: number;
  snapshot: number;
  count: number;
  vectors: string;
  index: string;
  vectorsCrc32: number;
}

export async function readManifest(dir: string): Promise<Manifest | LegacyManifest | null> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  const manifest = JSON.parse(text) as Manifest | LegacyManifest;
  if (manifest.format !== SEGMENTS_FORMAT && manifest.format !== LEGACY_FORMAT) {
    throw new StoreError(`unknown index format ${(manifest as { format: unknown }).format} in ${dir}`);
  }
  return manifest;
}

export function writeManifest(dir: string, manifest: Omit<Manifest, "format" | "metric" | "savedAt">): Promise<void> {
  const whole: Manifest = { format: SEGMENTS_FORMAT, metric: "l2sq", ...manifest, savedAt: new Date().toISOString() };
  return replaceDurably(join(dir, MANIFEST), JSON.stringify(whole, null, 2));
}

/** The pipeline (and its dimensions) that made the index in `dir`, or null where there is none yet. */
export async function readStoredPipeline(dir: string): Promise<{ pipeline: string; dimensions: number } | null> {
  const manifest = await readManifest(dir);
  return manifest && { pipeline: manifest.pipeline, dimensions: manifest.dimensions };
}

/** Journals numbered `from` or later, oldest first. */
export function journalsFrom(names: string[], from: number): { name: string; number: number }[] {
  return names
    .map((name) => JOURNAL.exec(name))
    .filter((match): match is RegExpExecArray => match !== null && Number(match[1]) >= from)
    .map((match) => ({ name: match[0], number: Number(match[1]) }))
    .sort((a, b) => a.number - b.number);
}

/** The names of the index's own files in a data directory, the manifest (what makes the others an index) last. */
export function indexFileNames(names: string[]): string[] {
  const files = names.filter((name) => JOURNAL.test(name) || SEGMENT.test(name) || LEGACY_SNAPSHOT.test(name));
  return names.includes(MANIFEST) ? [...files, MANIFEST] : files;
}

/**
 * Files no manifest of format 2 needs: segments it does not list (merged away, or written by a seal or merge that
 * crashed before its manifest), journals before its own, format 1's snapshots and half-written manifests.
 */
export function staleFileNames(names: string[], manifest: Pick<Manifest, "segments" | "journal">): string[] {
  const live = new Set(manifest.segments.map((segment) => segment.number));
  return names.filter((name) => {
    const segment = SEGMENT.exec(name);
    if (segment) return !live.has(Number(segment[1]));
    const journal = JOURNAL.exec(name);
    if (journal) return Number(journal[1]) < manifest.journal;
    return LEGACY_SNAPSHOT.test(name) || MANIFEST_TEMPORARY.test(name);
  });
}
