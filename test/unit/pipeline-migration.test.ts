// An index made by another pipeline is set aside and its products embedded again, never mixed with new vectors;
// a crash at any point of that resumes it at the next start.
import { describe, expect, test } from "bun:test";
import { mkdir, readdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseConfig } from "../../src/config.ts";
import { createServices, pipelineName } from "../../src/services.ts";
import { prepareMigration } from "../../src/store/pipeline-migration.ts";
import { VectorStore } from "../../src/store/vector-store.ts";
import { samplePhotos } from "../helpers/app-under-test.ts";
import { requireModel, TEST_MODEL, tempDir, waitFor } from "../helpers/environment.ts";

const DIMENSIONS = 4;

async function storeOf(dataDir: string, pipeline: string, ids: number[], dimensions = DIMENSIONS): Promise<void> {
  const store = await VectorStore.open({ dataDir, dimensions, pipeline });
  await Promise.all(ids.map((id) => store.put(id, Float32Array.from({ length: dimensions }, (_, k) => (id + k) % 3))));
  await store.close();
}

const openNew = (dataDir: string) => VectorStore.open({ dataDir, dimensions: DIMENSIONS, pipeline: "new/v2" });

describe("prepareMigration", () => {
  test("sets the old index aside, lists its products, and removes it when finished", async () => {
    await using dir = await tempDir();
    await storeOf(dir.path, "old/v1", [3, 1, 2]);
    const migration = await prepareMigration(dir.path, "new/v2");
    expect([migration!.from, migration!.productIds.sort()]).toEqual(["old/v1", [1, 2, 3]]);
    const store = await openNew(dir.path);
    expect(store.count).toBe(0);
    await store.close();
    expect((await readdir(dir.path)).some((name) => name.startsWith("previous-"))).toBe(true);
    await migration!.finish();
    expect((await readdir(dir.path)).filter((name) => name.startsWith("previous-") || name.startsWith("migration"))).toEqual([]);
    expect(await prepareMigration(dir.path, "new/v2")).toBeNull();
  });

  test("nothing to do for an index of this pipeline, or no index", async () => {
    await using dir = await tempDir();
    expect(await prepareMigration(dir.path, "new/v2")).toBeNull();
    await storeOf(dir.path, "new/v2", [1]);
    expect(await prepareMigration(dir.path, "new/v2")).toBeNull();
  });

  test("an unfinished migration resumes at the next start with the same products", async () => {
    await using dir = await tempDir();
    await storeOf(dir.path, "old/v1", [5, 6]);
    await prepareMigration(dir.path, "new/v2");
    const resumed = await prepareMigration(dir.path, "new/v2");
    expect(resumed!.productIds.sort()).toEqual([5, 6]);
  });

  test("a crash while the old files were being moved: the next start moves the rest first", async () => {
    await using dir = await tempDir();
    await storeOf(dir.path, "old/v1", [5, 6]);
    const migration = await prepareMigration(dir.path, "new/v2");
    // Put the manifest back, as if the process died before moving it (it moves last).
    const archive = (await readdir(dir.path)).find((name) => name.startsWith("previous-"))!;
    await rename(join(dir.path, archive, "manifest.json"), join(dir.path, "manifest.json"));
    const resumed = await prepareMigration(dir.path, "new/v2");
    expect(resumed!.productIds.sort()).toEqual(migration!.productIds.sort());
    const store = await openNew(dir.path);
    expect(store.count).toBe(0);
    await store.close();
  });

  test("a pipeline change before an earlier migration finished keeps every product of both", async () => {
    await using dir = await tempDir();
    await storeOf(dir.path, "old/v1", [1, 2]);
    await prepareMigration(dir.path, "new/v2");
    await storeOf(dir.path, "new/v2", [2, 3]);
    const again = await prepareMigration(dir.path, "newer/v3");
    expect([again!.from, again!.productIds.sort()]).toEqual(["old/v1", [1, 2, 3]]);
    await again!.finish();
    expect(await readdir(dir.path)).toEqual(["LOCK"]); // the lock file stays; the lock itself went with close()
  });
});

describe.skipIf(!requireModel("re-embedding an index made by another pipeline"))("the service at start", () => {
  test("re-embeds every product of an older pipeline's index from the catalogue", async () => {
    await using root = await tempDir();
    const photos = await samplePhotos(6);
    const catalogDir = join(root.path, "catalog");
    await mkdir(catalogDir);
    for (const photo of photos) await writeFile(join(catalogDir, `${photo.id}.jpg`), photo.bytes);
    const dataDir = join(root.path, "data");
    await storeOf(dataDir, "resnet50-imagenet/old-preprocessing/v0", photos.map((photo) => photo.id), 2048);

    const services = await createServices(parseConfig({ CATALOG_DIR: catalogDir, DATA_DIR: dataDir, ...TEST_MODEL }));
    try {
      const task = await waitFor(() => {
        const migration = services.tasks.list({ limit: 10 }).tasks.find((t) => t.kind === "migrate_index");
        return migration?.finished_at ? migration : undefined;
      }, { timeoutMs: 60_000, what: "the migration task" });
      expect([task.status, task.progress]).toEqual(["succeeded", { total: 6, done: 6, failed: 0 }]);
      expect(services.store.pipeline).toBe(pipelineName("fp32")); // TEST_MODEL's
      expect((await services.store.listIds(0, 10)).ids).toEqual(photos.map((photo) => photo.id).sort((a, b) => a - b));
      const [best] = await services.similarity.similarToPhoto(photos[0]!.bytes, { topN: 1, scoreThreshold: 0 });
      expect(best!.similarity_score).toBe(1);
      expect((await readdir(dataDir)).filter((name) => name.startsWith("previous-") || name.startsWith("migration"))).toEqual([]);
    } finally {
      await services.close(1000);
    }
  });
});
