// What the benchmark scripts share about their command lines.
import { readFileSync } from "node:fs";

/** Prints the script's leading `//` comment lines (its usage) and exits. */
export function printUsageAndExit(scriptPath: string): never {
  console.log(readFileSync(scriptPath, "utf8").split("\n").filter((line) => line.startsWith("//")).join("\n"));
  process.exit(0);
}

/** The flag's value as a whole number of at least 1, or an error naming the flag. */
export function wholeNumberFlag(flags: Record<string, unknown>, name: string): number {
  const value = Number(flags[name]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a whole number >= 1`);
  return value;
}
