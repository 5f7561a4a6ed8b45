// Which labelled photos a projection is fitted on and which it is measured on. Byte-identical photos (one group) always
// fall on the same side, so no query ever finds a copy of itself that the fit has seen; the order is the groups'
// sha256, so the split is fixed by the photos alone (no random seed, no dependence on file order).
import type { Dataset } from "./dataset.ts";

export interface FitSplit {
  /** Photo indices, ascending. */
  fit: number[];
  report: number[];
  /** Cross-validation folds inside `fit`: folds[f] are the photos validated on in fold f. */
  folds: number[][];
}

export function splitDataset(dataset: Dataset, reportShare: number, foldCount: number): FitSplit {
  const members = new Map<string, number[]>();
  dataset.photos.forEach((photo, i) => members.set(photo.sha256, [...(members.get(photo.sha256) ?? []), i]));
  const groups = [...members].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, rows]) => rows);
  const reportTarget = Math.round(reportShare * dataset.photos.length);
  const report: number[] = [];
  const fitGroups: number[][] = [];
  for (const rows of groups) {
    if (report.length < reportTarget) report.push(...rows);
    else fitGroups.push(rows);
  }
  const folds: number[][] = Array.from({ length: foldCount }, () => []);
  fitGroups.forEach((rows, g) => folds[g % foldCount]!.push(...rows));
  const ascending = (rows: number[]) => rows.sort((a, b) => a - b);
  return { fit: ascending(fitGroups.flat()), report: ascending(report), folds: folds.map(ascending) };
}

/** Class ids (0..classes-1, in first-seen order) of the given photos under `label`. */
export function classIds(dataset: Dataset, rows: number[], label: (index: number) => string): Int32Array {
  const ids = new Map<string, number>();
  return Int32Array.from(rows, (row) => {
    const key = label(row);
    if (!ids.has(key)) ids.set(key, ids.size);
    return ids.get(key)!;
  });
}
