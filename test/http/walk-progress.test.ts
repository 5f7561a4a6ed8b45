// A catalogue walk's progress.total is the catalogue's size from its first page on (a folder counts its photos; an
// API's first page says meta.total), so progress never goes backwards as pages are listed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { call, startAppUnderTest, type AppUnderTest } from "../helpers/app-under-test.ts";
import { makePhoto, startCatalogServer, type CatalogServer } from "../helpers/catalog-server.ts";
import { requireModel, waitFor } from "../helpers/environment.ts";

const HAVE_MODEL = requireModel("catalogue walk progress");
/** More than one page either way: the folder lists 100 a page, the catalogue server below 50. */
const PRODUCTS = 150;
const ids = Array.from({ length: PRODUCTS }, (_, i) => i + 1);

interface TaskProgress {
  status: string;
  progress: { total: number; done: number; failed: number };
}

/** Starts generate-all and follows it, noting every total it showed once products were being done. */
async function walkTotals(subject: AppUnderTest, query = ""): Promise<{ totals: number[]; final: TaskProgress }> {
  const started = await call(subject.app, `/embeddings/generate-all${query}`, { method: "POST" });
  expect(started.status).toBe(202);
  const { task_id } = (await started.json()) as { task_id: string };
  const totals = new Set<number>();
  const final = await waitFor(
    async () => {
      const task = (await (await call(subject.app, `/tasks/${task_id}`)).json()) as TaskProgress;
      if (task.progress.done + task.progress.failed > 0) totals.add(task.progress.total);
      return task.status === "succeeded" || task.status === "failed" ? task : undefined;
    },
    { timeoutMs: 110_000, what: "the walk to finish" },
  );
  return { totals: [...totals], final };
}

describe.if(HAVE_MODEL)("a catalogue walk's total", () => {
  test("a folder: the number of photos in it, from the start", async () => {
    await using subject = await startAppUnderTest({
      catalogFiles: Object.fromEntries(ids.map((id) => [`${id}.jpg`, makePhoto(id)])),
    });
    const { totals, final } = await walkTotals(subject);
    expect(final).toMatchObject({ status: "succeeded", progress: { total: PRODUCTS, done: PRODUCTS, failed: 0 } });
    expect(totals).toEqual([PRODUCTS]);
  }, 120_000);

  describe("a products API", () => {
    let catalog: CatalogServer;
    beforeAll(() => {
      catalog = startCatalogServer({ perPage: 50, products: ids.map((id) => ({ id, image: makePhoto(id) })) });
    });
    afterAll(() => catalog.stop());

    test("meta.total of its first page, from the start", async () => {
      await using subject = await startAppUnderTest({ env: { CATALOG_API_URL: catalog.url } });
      const { totals, final } = await walkTotals(subject);
      expect(final).toMatchObject({ status: "succeeded", progress: { total: PRODUCTS, done: PRODUCTS, failed: 0 } });
      expect(totals).toEqual([PRODUCTS]);
    }, 120_000);

    test("from a later page, the products listed so far (the total does not say how many come before the page)", async () => {
      await using subject = await startAppUnderTest({ env: { CATALOG_API_URL: catalog.url } });
      const { final } = await walkTotals(subject, "?start_page=2");
      expect(final).toMatchObject({ status: "succeeded", progress: { total: 100, done: 100, failed: 0 } });
    }, 120_000);
  });
});
