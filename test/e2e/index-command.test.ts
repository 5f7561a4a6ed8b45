// The `index <folder>` and `search <photo>` commands (bun src/main.ts, as `npm start` runs the service) with the real
// model: index's summary counts the files it skipped because they are not named `<id>.jpg` (.jpeg, .png, .webp), and
// search's image_url follows PORT and PUBLIC_URL like the service's answers.
import { expect, test } from "bun:test";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makePhoto, REPO_ROOT } from "../helpers/catalog-server.ts";
import { requireModel, TEST_MODEL, tempDir } from "../helpers/environment.ts";

const HAVE_MODEL = requireModel("the index command");

test.if(HAVE_MODEL)("index counts and names the files it skipped; search names the address PORT and PUBLIC_URL give", async () => {
  await using dir = await tempDir("fip-index-");
  const photos = join(dir.path, "photos");
  await mkdir(join(photos, "more"), { recursive: true });
  for (const id of [1, 2, 3]) await writeFile(join(photos, `${id}.jpg`), makePhoto(id));
  for (const name of ["cover.jpg", "notes.txt", "IMG_0001.JPG", "4.gif"]) await writeFile(join(photos, name), "x");
  await writeFile(join(photos, ".DS_Store"), "x");

  const { stdout, exitCode } = await run(["index", photos], { DATA_DIR: join(dir.path, "data") });
  expect(exitCode).toBe(0);
  const lines = stdout.trimEnd().split("\n");
  expect(lines.at(-2)).toStartWith(`embedded 3, failed 0 of 3 photos from ${photos} in `);
  expect(lines.at(-1)).toBe("skipped 4 files not named <id>.jpg, .jpeg, .png or .webp (4.gif, IMG_0001.JPG, cover.jpg, …)");

  // search names the service's address as the settings give it.
  const search = async (env: Record<string, string>) => {
    const answer = await run(["search", join(photos, "2.jpg"), "--json", "--top", "1"], { DATA_DIR: join(dir.path, "data"), ...env });
    expect(answer.exitCode).toBe(0);
    return (JSON.parse(answer.stdout) as { similar_products: { id: number; image_url: string }[] }).similar_products;
  };
  expect(await search({ PORT: "9123" })).toMatchObject([{ id: 2, image_url: "http://localhost:9123/products/2/image" }]);
  expect(await search({ PUBLIC_URL: "https://fip.example" })).toMatchObject([{ id: 2, image_url: "https://fip.example/products/2/image" }]);
}, 120_000);

test.if(HAVE_MODEL)("index and search refuse a model of the other precision than INFERENCE_PRECISION, and write nothing", async () => {
  await using dir = await tempDir("fip-index-");
  const photos = join(dir.path, "photos");
  await mkdir(photos);
  await writeFile(join(photos, "1.jpg"), makePhoto(1));
  const dataDir = join(dir.path, "data");
  const refusal = `the model at ${TEST_MODEL.MODEL_PATH} (MODEL_PATH) is an fp32 model, but INFERENCE_PRECISION is int8`;
  for (const args of [["index", photos], ["search", join(photos, "1.jpg")]]) {
    const { exitCode, stderr } = await run(args, { DATA_DIR: dataDir, INFERENCE_PRECISION: "int8" });
    expect(exitCode).toBe(1);
    expect(stderr).toContain(refusal);
  }
  expect(await readdir(dataDir).catch(() => [])).not.toContain("manifest.json");
}, 60_000);

async function run(args: string[], env: Record<string, string>): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const child = Bun.spawn([process.execPath, "src/main.ts", ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", TMPDIR: process.env.TMPDIR ?? "/tmp", ...TEST_MODEL, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, exitCode };
}
