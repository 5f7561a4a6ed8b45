// Numbers the benchmarks take from outside a running service: its memory (from /proc) and latency percentiles.
import { readdirSync, readFileSync } from "node:fs";

export interface Rss {
  rss: number;
  anon: number;
}

/** VmRSS and RssAnon of the process, in MB, sampled every 250 ms for the peak. */
export function sampleMemory(pid: number) {
  const read = (): Rss => {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
    return { rss: kb("VmRSS") / 1024, anon: kb("RssAnon") / 1024 };
  };
  let peak = read();
  const timer = setInterval(() => {
    try {
      const now = read();
      if (now.rss > peak.rss) peak = now;
    } catch {
      // The process is gone; the run fails on its next request.
    }
  }, 250);
  return { current: read, peak: () => peak, stop: () => clearInterval(timer) };
}

/** The p-th percentile (0..1) of ascending values, nearest rank. */
export function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

/** Median and range of repeated measurements, e.g. "44.1 (42.0–45.3)". */
export function medianAndRange(values: number[], digits = 1): string {
  const sorted = values.toSorted((a, b) => a - b);
  const median = percentile(sorted, 0.5);
  if (sorted.length < 2) return median.toFixed(digits);
  return `${median.toFixed(digits)} (${sorted[0]!.toFixed(digits)}–${sorted.at(-1)!.toFixed(digits)})`;
}

/** CPU time (user + system) in ms of a process, or of one of its threads (the event loop's thread id is the pid). */
export function cpuMs(pid: number, thread?: number): number {
  const path = thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`;
  const fields = readFileSync(path, "utf8").split(") ")[1]!.split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks of 10 ms
}

/** The event loop's thread in cpuMsByThreadName's count. */
export const EVENT_LOOP_THREAD = "event loop";

/**
 * CPU time in ms of each of a process's threads, summed by name with the number that tells a pool's threads apart
 * dropped ("Bun Pool 3" counts as "Bun Pool"). The event loop's thread (its id is the pid) is EVENT_LOOP_THREAD.
 */
export function cpuMsByThreadName(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  for (const entry of readdirSync(`/proc/${pid}/task`)) {
    try {
      const thread = Number(entry);
      const comm = readFileSync(`/proc/${pid}/task/${entry}/comm`, "utf8").trim();
      const name = thread === pid ? EVENT_LOOP_THREAD : comm.replace(/\s*\d+$/, "");
      byName.set(name, (byName.get(name) ?? 0) + cpuMs(pid, thread));
    } catch {
      // The thread ended meanwhile: its time is lost to this count (a pool's threads outlive an ingest).
    }
  }
  return byName;
}

/**
 * CPU time in ms of the kernel's memory monitor threads (DAMON's kdamond), or null where none runs. On this VM it
 * tests and clears the accessed bit of sampled pages in every mapping of them, which costs more the harder the
 * service reads its mapped index: a share of the same two cores that the benchmark measures.
 */
export function memoryMonitorCpuMs(): number | null {
  let total: number | null = null;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/comm`, "utf8").startsWith("kdamond")) continue;
      total = (total ?? 0) + cpuMs(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return total;
}

/** The share of one core the memory monitor took while `work` ran (null where none runs), and what `work` returned. */
export async function withMemoryMonitorShare<T>(work: () => Promise<T>): Promise<{ result: T; monitorShare: number | null }> {
  const before = memoryMonitorCpuMs();
  const started = performance.now();
  const result = await work();
  const after = memoryMonitorCpuMs();
  return { result, monitorShare: before === null || after === null ? null : (after - before) / (performance.now() - started) };
}
