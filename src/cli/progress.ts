// How `index` shows its progress: a bar redrawn in place on a terminal, a plain line every tenth of the way
// otherwise (logs, CI). Pure formatting; the command decides when to draw.

export interface Progress {
  done: number;
  failed: number;
  /** Photos to embed; 0 while unknown. */
  total: number;
  elapsedMs: number;
}

const BAR_WIDTH = 30;

export function rate(progress: Progress): number {
  const seconds = progress.elapsedMs / 1000;
  return seconds > 0 ? (progress.done + progress.failed) / seconds : 0;
}

/** e.g. `[##########--------------------]  40/120  33%  4.1 photos/s  ETA 20s  2 failed` */
export function progressBar(progress: Progress): string {
  const finished = progress.done + progress.failed;
  const fraction = progress.total > 0 ? Math.min(1, finished / progress.total) : 0;
  const filled = Math.round(fraction * BAR_WIDTH);
  const perSecond = rate(progress);
  const remaining = progress.total - finished;
  const eta = perSecond > 0 && remaining > 0 ? `  ETA ${formatDuration((remaining / perSecond) * 1000)}` : "";
  const failed = progress.failed > 0 ? `  ${progress.failed} failed` : "";
  const width = String(progress.total).length;
  return (
    `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}] ${String(finished).padStart(width)}/${progress.total}` +
    `  ${String(Math.floor(fraction * 100)).padStart(3)}%  ${perSecond.toFixed(1)} photos/s${eta}${failed}`
  );
}

/** The plain line for logs: `40/120 photos (33%), 2 failed, 4.1 photos/s`. */
export function progressLine(progress: Progress): string {
  const finished = progress.done + progress.failed;
  const percent = progress.total > 0 ? Math.floor((finished / progress.total) * 100) : 0;
  const perSecond = rate(progress).toFixed(1);
  return `${finished}/${progress.total} photos (${percent}%), ${progress.failed} failed, ${perSecond} photos/s`;
}

/** Which tenth of the way the work has reached (0..10); a plain line is printed each time it goes up. */
export function tenth(progress: Progress): number {
  if (progress.total <= 0) return 0;
  return Math.min(10, Math.floor(((progress.done + progress.failed) / progress.total) * 10));
}

export function formatDuration(ms: number): string {
  if (ms < 9_950) return `${(ms / 1000).toFixed(1)}s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, "0")}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`;
}
