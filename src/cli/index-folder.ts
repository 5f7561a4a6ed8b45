// `index <folder>`: embeds a folder of `<id>.jpg` photos into the index in DATA_DIR with the same catalogue walk the
// service runs for POST /embeddings/generate-all, shows its progress, prints a summary and exits.
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { FolderCatalog } from "../catalog/folder-catalog.ts";
import { parseConfig } from "../config.ts";
import { withBinaryDefaults } from "../runtime/standalone.ts";
import { createServices } from "../services.ts";
import type { Task } from "../tasks/task-registry.ts";
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK } from "./command-line.ts";
import { formatDuration, type Progress, progressBar, progressLine, rate, tenth } from "./progress.ts";

const REDRAW_MS = 100;
/** Failures listed one by one in the summary; the rest are counted. */
const LISTED_FAILURES = 20;
const INTERRUPT_GRACE_MS = 5_000;

export async function indexFolder(folder: string, env: Record<string, string | undefined>): Promise<number> {
  const dir = resolve(folder);
  const stats = await stat(dir).catch(() => null);
  if (!stats?.isDirectory()) {
    console.error(`index: ${folder} is not a folder`);
    return EXIT_FAILURE;
  }
  const folderCatalog = new FolderCatalog({ dir });
  const { total } = await folderCatalog.listPage(1);
  const skipped = await folderCatalog.skippedFiles();
  if (total === 0) {
    console.error(`index: no photos named <id>.jpg, .jpeg, .png or .webp in ${dir}${skippedNote(skipped) ? `; ${skippedNote(skipped)}` : ""}`);
    return EXIT_FAILURE;
  }

  // The folder is the catalogue, whatever the environment names.
  const config = parseConfig(await withBinaryDefaults({ ...env, CATALOG_API_URL: undefined, CATALOG_DIR: dir }));
  process.stderr.write(`loading the model and the index in ${config.dataDir} …\n`);
  const services = await createServices(config);
  const interrupted = new Promise<"interrupted">((settle) => process.once("SIGINT", () => settle("interrupted")));

  const started = performance.now();
  const task = services.jobs.embedCatalog({
    startPage: 1,
    // Photos in flight at once: enough to keep the model's batches full while the next photos are read and decoded.
    batchSize: Math.max(config.inference.batchSize, config.catalogHttp.concurrency) * 2,
  });
  const progress = (): Progress => ({
    done: task.progress.done,
    failed: task.progress.failed,
    total: Math.max(total, task.progress.total),
    elapsedMs: performance.now() - started,
  });
  const following = new AbortController();
  const outcome = await Promise.race([followTask(task, progress, following.signal), interrupted]);
  following.abort();
  if (outcome === "interrupted") {
    // Photos the shutdown stops are not failures: only what failed before the interrupt is reported.
    const failedBefore = { count: task.progress.failed, errors: [...task.errors] };
    process.stderr.write(`\ninterrupted: saving what was embedded (up to ${INTERRUPT_GRACE_MS / 1000} s)\n`);
    await services.finishTasks(INTERRUPT_GRACE_MS);
    const held = await services.store.count();
    await services.close(0);
    const { done, total } = progress();
    console.log(
      [
        `interrupted: embedded ${done} of ${total} photos from ${dir}; the index now holds ${held}; ` +
          `run index again for the rest`,
        ...failureLines(failedBefore.errors, failedBefore.count),
      ].join("\n"),
    );
    return EXIT_INTERRUPTED;
  }
  const finished = progress();
  // Writes the final snapshot, so the next start (or `search`) replays nothing.
  const held = await services.store.count();
  await services.close(0);
  console.log(summary(task, finished, dir, held, skipped));
  return task.status === "succeeded" && task.progress.done > 0 ? EXIT_OK : EXIT_FAILURE;
}

/** Redraws the progress until the task is finished; the task object is updated in place by the runner. */
async function followTask(task: Task, progress: () => Progress, stop: AbortSignal): Promise<void> {
  const terminal = process.stdout.isTTY === true;
  let printedTenth = 0;
  while (!stop.aborted) {
    const finished = task.status === "succeeded" || task.status === "failed";
    const now = progress();
    if (terminal) {
      process.stdout.write(`\r\x1b[K${progressBar(now)}${finished ? "\n" : ""}`);
    } else if (tenth(now) > printedTenth && !finished) {
      printedTenth = tenth(now);
      console.log(progressLine(now));
    }
    if (finished) return;
    await Bun.sleep(REDRAW_MS);
  }
}

function summary(task: Task, progress: Progress, dir: string, stored: number, skipped: string[]): string {
  const headline =
    `embedded ${progress.done}, failed ${progress.failed} of ${progress.done + progress.failed} photos from ${dir} ` +
    `in ${formatDuration(progress.elapsedMs)} (${rate(progress).toFixed(1)} photos/s); the index now holds ${stored}`;
  const note = skippedNote(skipped);
  return [headline, ...failureLines(task.errors, progress.failed), ...(note ? [note] : [])].join("\n");
}

/** Files that are not `<id>.<ext>` are not products: said, with a few names, so a misnamed folder is noticed. */
function skippedNote(skipped: string[]): string {
  if (skipped.length === 0) return "";
  const names = skipped.slice(0, 3).join(", ") + (skipped.length > 3 ? ", …" : "");
  const files = skipped.length === 1 ? "1 file" : `${skipped.length} files`;
  return `skipped ${files} not named <id>.jpg, .jpeg, .png or .webp (${names})`;
}

/** One line per failed photo (the first few), then how many more. */
function failureLines(errors: Task["errors"], failed: number): string[] {
  const listed = errors.slice(0, LISTED_FAILURES);
  const lines = listed.map((error) => {
    const subject = error.product_id === null ? "the folder" : `photo ${error.product_id}`;
    return `  ${subject}: ${error.code} ${error.message}`;
  });
  if (failed > listed.length) lines.push(`  … and ${failed - listed.length} more`);
  return lines;
}
