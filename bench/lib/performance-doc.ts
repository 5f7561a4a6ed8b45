// Writes one benchmark's section of docs/performance.md between its own markers, leaving the rest of the file (other
// benchmarks' sections) as it is.
import { existsSync, readFileSync, writeFileSync } from "node:fs";

export function writeSection(path: string, name: string, markdown: string): void {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const block = `${start}\n${markdown.trim()}\n${end}`;
  const text = existsSync(path) ? readFileSync(path, "utf8") : "# Performance\n";
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  const updated = from >= 0 && to > from ? text.slice(0, from) + block + text.slice(to + end.length) : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(path, updated);
}
