// The activation ranges the int8 model is built with (models/int8-calibration.json): measured on real photos by
// scripts/calibrate-int8.ts, committed, and read by scripts/build-model.ts, so a machine without the photos builds
// the same int8 model bytes.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

export const CALIBRATION_PATH = resolve(import.meta.dir, "../../models/int8-calibration.json");
const FORMAT = "fip-int8-calibration/1";

export interface CalibrationTable {
  format: typeof FORMAT;
  /** How the ranges were chosen from the photos' activations. */
  method: string;
  photos: number;
  /** The fp32 model the activations came from. */
  modelSha256: string;
  /** Tensor name -> [low, high]. */
  ranges: Record<string, [number, number]>;
}

export function newCalibrationTable(fields: Omit<CalibrationTable, "format">): CalibrationTable {
  const ranges = Object.fromEntries(
    Object.entries(fields.ranges).map(([name, [low, high]]) => [name, [significant(low), significant(high)] as [number, number]]),
  );
  return { format: FORMAT, ...fields, ranges };
}

export function formatCalibrationTable(table: CalibrationTable): string {
  const ranges = Object.entries(table.ranges).map(([name, range]) => `    ${JSON.stringify(name)}: ${JSON.stringify(range)}`);
  const { ranges: _, ...header } = table;
  const head = JSON.stringify(header, null, 2).slice(0, -2);
  return `${head},\n  "ranges": {\n${ranges.join(",\n")}\n  }\n}\n`;
}

export function readCalibrationTable(path = CALIBRATION_PATH): CalibrationTable {
  let table: CalibrationTable;
  try {
    table = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new Error(`cannot read the int8 calibration table ${path}: ${(error as Error).message}`);
  }
  const wellFormed =
    table?.format === FORMAT &&
    Number.isInteger(table.photos) &&
    Object.values(table.ranges ?? {}).every(
      (range) => Array.isArray(range) && range.length === 2 && range.every(Number.isFinite) && range[0] <= range[1],
    );
  if (!wellFormed) throw new Error(`${path} is not a ${FORMAT} table`);
  return table;
}

/** Six significant digits: the file stays readable and its numbers read back exactly. */
function significant(value: number): number {
  return Number(value.toPrecision(6));
}
