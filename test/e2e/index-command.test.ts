// The `index <folder>` command (bun src/main.ts, as `npm start` runs the service) with the real model: its summary
// counts the files it skipped because they are not named `<id>.jpg` (.jpeg, .png, .webp), naming a few.
import { expect, test } from "bun:test";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makePhoto, REPO_ROOT } from "../helpers/catalog-server.ts";
import { MODEL_PATH, requireModel, tempDir } from "../helpers/environment.ts";

const HAVE_MODEL = requireModel("the index command");

test.if(HAVE_MODEL)("index counts and names the files it skipped", async () => {
  await using dir = await tempDir("fip-index-");
  const photos = join(dir.path, "photos");
  await mkdir(join(photos, "more"), { recursive: true });
  for (const id of [1, 2, 3]) await writeFile(join(photos, `${id}.jpg`), makePhoto(id));
  for (const name of ["cover.jpg", "notes.txt", "IMG_0001.JPG", "4.gif"]) await writeFile(join(photos, name), "x");
  await writeFile(join(photos, ".DS_Store"), "x");

  const child = Bun.spawn([process.execPath, "src/main.ts", "index", photos], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", TMPDIR: process.env.TMPDIR ?? "/tmp", DATA_DIR: join(dir.path, "data"), MODEL_PATH: MODEL_PATH! },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, exitCode] = await Promise.all([new Response(child.stdout).text(), child.exited]);
  expect(exitCode).toBe(0);
  const lines = stdout.trimEnd().split("\n");
  expect(lines.at(-2)).toStartWith(`embedded 3, failed 0 of 3 photos from ${photos} in `);
  expect(lines.at(-1)).toBe("skipped 4 files not named <id>.jpg, .jpeg, .png or .webp (4.gif, IMG_0001.JPG, cover.jpg, …)");
}, 120_000);
