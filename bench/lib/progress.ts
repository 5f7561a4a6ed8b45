// Progress for long steps: one redrawn line with a bar on a terminal, plain periodic lines otherwise (log files, CI).

export interface Progress {
  update(done: number, total?: number): void;
  finish(note?: string): void;
}

export function startProgress(label: string, initialTotal: number, stream: NodeJS.WriteStream = process.stdout): Progress {
  const started = performance.now();
  let total = initialTotal;
  const tty = Boolean(stream.isTTY);
  let lastPrinted = 0;
  let lastDone = -1;

  const describe = (done: number) => {
    const seconds = (performance.now() - started) / 1000;
    const rate = done / Math.max(seconds, 1e-9);
    const eta = done > 0 && done < total ? ` ETA ${formatDuration((total - done) / rate)}` : "";
    return `${done}/${total} ${rate.toFixed(1)}/s ${formatDuration(seconds)}${eta}`;
  };

  return {
    update(done, newTotal) {
      if (newTotal !== undefined) total = newTotal;
      if (done === lastDone) return;
      lastDone = done;
      const now = performance.now();
      if (tty) {
        if (now - lastPrinted < 100 && done < total) return;
        lastPrinted = now;
        const width = 30;
        const filled = total > 0 ? Math.round((done / total) * width) : width;
        stream.write(`\r${label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${describe(done)}\x1b[K`);
      } else if (now - lastPrinted >= 15_000 || (lastPrinted === 0 && done === 0)) {
        lastPrinted = now;
        stream.write(`${label}: ${describe(done)}\n`);
      }
    },
    finish(note) {
      const line = `${label}: ${describe(lastDone < 0 ? total : lastDone)}${note ? ` (${note})` : ""}`;
      stream.write(tty ? `\r${line}\x1b[K\n` : `${line}\n`);
    },
  };
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  if (seconds < 60) return `${seconds.toFixed(0)}s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}m${String(Math.round(seconds - minutes * 60)).padStart(2, "0")}s`;
}
