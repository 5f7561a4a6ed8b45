// Markdown tables and the regenerated parts of docs/quality.md and docs/performance.md. Each regenerated section has
// its own markers, so one run rewrites its part without losing the others'.
import { execSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, platform, release, totalmem } from "node:os";
import { dirname, join } from "node:path";

export const HTTP_START = "<!-- http-results:start -->";
export const HTTP_END = "<!-- http-results:end -->";

export const pct = (value: number, digits = 1) => (Number.isFinite(value) ? (100 * value).toFixed(digits) : "n/a");
export const signedPoints = (delta: number) => `${delta >= 0 ? "+" : ""}${(100 * delta).toFixed(1)}`;
export const num = (value: number, digits = 3) => (Number.isFinite(value) ? value.toFixed(digits) : "n/a");

export function table(headers: string[], rows: (string | number)[][], align?: ("l" | "r")[]): string {
  const line = (cells: (string | number)[]) => `| ${cells.map(String).join(" | ")} |`;
  const rule = `|${headers.map((_, i) => ((align?.[i] ?? (i === 0 ? "l" : "r")) === "r" ? "---:" : ":---")).join("|")}|`;
  return [line(headers), rule, ...rows.map(line)].join("\n");
}

export interface RunInfo {
  date: string;
  commit: string;
  machine: string;
  runtime: string;
  loadAverage: string;
}

export function runInfo(repoRoot: string): RunInfo {
  let commit = "unknown";
  try {
    commit = execSync("git rev-parse --short HEAD", { cwd: repoRoot, stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
    const dirty = execSync("git status --porcelain", { cwd: repoRoot, stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
    if (dirty) commit += " (with uncommitted changes)";
  } catch {
    // Not a git checkout.
  }
  const cpu = cpus();
  const version = (name: string) => {
    try {
      return JSON.parse(readFileSync(join(repoRoot, "node_modules", name, "package.json"), "utf8")).version as string;
    } catch {
      return "?";
    }
  };
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    commit,
    machine: `${cpu[0]?.model ?? "unknown CPU"}, ${cpu.length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GB RAM, ${platform()} ${release()}`,
    runtime: `Bun ${Bun.version}, onnxruntime-node ${version("onnxruntime-node")}, @napi-rs/canvas ${version("@napi-rs/canvas")}, usearch ${version("usearch")}`,
    loadAverage: loadavg()
      .map((value) => value.toFixed(1))
      .join(" / "),
  };
}

/** Sections other scripts write into the same report (`npm run fit`, `npm run bench:duplicates`): kept, at the end,
 * when the report is rewritten. */
const OTHER_SECTIONS = [
  { start: "<!-- fit-results:start -->", end: "<!-- fit-results:end -->" },
  { start: "<!-- duplicates-results:start -->", end: "<!-- duplicates-results:end -->" },
];

/** Writes the in-process report, keeping the over-HTTP section the file already has, and the other scripts' ones. */
export function writeReport(path: string, body: string, httpPlaceholder: string): void {
  const previous = existsSync(path) ? readFileSync(path, "utf8") : "";
  const kept = (start: string, end: string) => {
    const from = previous.indexOf(start);
    const to = previous.indexOf(end);
    return from >= 0 && to > from ? previous.slice(from, to + end.length) : undefined;
  };
  const http = kept(HTTP_START, HTTP_END) ?? `${HTTP_START}\n${httpPlaceholder}\n${HTTP_END}`;
  const others = OTHER_SECTIONS.map((markers) => kept(markers.start, markers.end)).filter((section) => section !== undefined);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, [body.replace("{{HTTP_SECTION}}", http).trimEnd(), ...others].join("\n\n") + "\n");
}

/** Replaces only the over-HTTP section of the report (appending it if the file has none). */
export function writeHttpSection(path: string, section: string): void {
  writeSection(path, { start: HTTP_START, end: HTTP_END, title: "# Retrieval quality" }, section);
}

/**
 * Replaces the part of a document between two marker comments with `section`, leaving the rest as it is; appends it
 * (creating the file with `title` if need be) when the markers are not there yet.
 */
export function writeSection(path: string, markers: { start: string; end: string; title: string }, section: string): void {
  const previous = existsSync(path) ? readFileSync(path, "utf8") : `${markers.title}\n`;
  const block = `${markers.start}\n${section.trim()}\n${markers.end}`;
  const start = previous.indexOf(markers.start);
  const end = previous.indexOf(markers.end);
  const next =
    start >= 0 && end > start
      ? previous.slice(0, start) + block + previous.slice(end + markers.end.length)
      : `${previous.trimEnd()}\n\n${block}\n`;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, next);
}
