// The labelled fashion photos as the evaluation sees them: labels from labels.csv, the photo bytes, and which photos
// are byte-identical (the same shot reused for colour variants), so a query never counts its own copy as a hit.
import { readFile } from "node:fs/promises";
import { join } from "node:path";

export interface Photo {
  id: number;
  articleType: string;
  baseColour: string;
  masterCategory: string;
  bytes: Uint8Array;
  sha256: string;
  /** Photos with the same group are byte-identical; every photo is in a group, usually alone. */
  group: number;
}

export interface Dataset {
  dir: string;
  photos: Photo[];
  /** Size of the largest group of byte-identical photos. */
  largestGroup: number;
  /** Photos that share their bytes with at least one other photo. */
  duplicatePhotos: number;
  indexOfId: Map<number, number>;
}

/** Loads the labelled photos in ascending id order; `limit` keeps the first N. */
export async function loadDataset(dir: string, limit?: number): Promise<Dataset> {
  const rows = parseCsv(await readFile(join(dir, "labels.csv"), "utf8"));
  const header = rows.shift() ?? [];
  const column = (name: string) => {
    const index = header.indexOf(name);
    if (index < 0) throw new Error(`labels.csv has no ${name} column`);
    return index;
  };
  const [idCol, fileCol, typeCol, colourCol, masterCol] = ["id", "filename", "articleType", "baseColour", "masterCategory"].map(column) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const labelled = rows
    .filter((row) => row.length >= header.length)
    .map((row) => ({
      id: Number(row[idCol]),
      file: row[fileCol]!,
      articleType: row[typeCol]!,
      baseColour: row[colourCol]!,
      masterCategory: row[masterCol]!,
    }))
    .sort((a, b) => a.id - b.id)
    .slice(0, limit ?? Number.POSITIVE_INFINITY);

  const groups = new Map<string, number>();
  const photos: Photo[] = [];
  for (const row of labelled) {
    const bytes = new Uint8Array(await readFile(join(dir, "images", row.file)));
    const sha256 = new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
    if (!groups.has(sha256)) groups.set(sha256, groups.size);
    photos.push({ ...row, bytes, sha256, group: groups.get(sha256)! });
  }
  const sizes = new Map<number, number>();
  for (const photo of photos) sizes.set(photo.group, (sizes.get(photo.group) ?? 0) + 1);
  return {
    dir,
    photos,
    largestGroup: Math.max(1, ...sizes.values()),
    duplicatePhotos: photos.filter((photo) => sizes.get(photo.group)! > 1).length,
    indexOfId: new Map(photos.map((photo, i) => [photo.id, i])),
  };
}

/** `count` photo indices spread evenly over `total` (deterministic: every k-th, starting at the first). */
export function evenSample(total: number, count: number): number[] {
  const n = Math.min(total, count);
  return Array.from({ length: n }, (_, i) => Math.floor((i * total) / n));
}

/** The photo indices 0 .. count-1. */
export function range(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

/** The `count` articleTypes with the most photos, largest first (ties by name). */
export function largestTypes(data: Dataset, count: number): string[] {
  const counts = new Map<string, number>();
  for (const photo of data.photos) counts.set(photo.articleType, (counts.get(photo.articleType) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, count)
    .map(([type]) => type);
}

/** RFC 4180-style: quoted fields may hold commas, doubled quotes and newlines. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      if (row.some((value) => value !== "")) rows.push(row);
      row = [];
      field = "";
    } else field += ch;
  }
  row.push(field);
  if (row.some((value) => value !== "")) rows.push(row);
  return rows;
}
