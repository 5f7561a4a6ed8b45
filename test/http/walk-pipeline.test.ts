// The whole-catalogue walk keeps its pipeline full across page boundaries (the next pages are listed while products
// of earlier ones are in flight, a bounded number at a time), and fetches each photo from the image_url its list page
// gives, without asking for the product's record first; against a real products API on 127.0.0.1 counting requests.
import { afterEach, describe, expect, test } from "bun:test";
import { type AppUnderTest, call, runTask, startAppUnderTest, waitForTask } from "../helpers/app-under-test.ts";
import { type CatalogServer, makePhoto, startCatalogServer } from "../helpers/catalog-server.ts";
import { requireModel, waitFor } from "../helpers/environment.ts";

const HAVE_MODEL = requireModel("the catalogue walk's pipeline");

const PER_PAGE = 4;
const PRODUCTS = 60;
const ids = Array.from({ length: PRODUCTS }, (_, i) => i + 1);
const pagesListed = (catalog: CatalogServer) => catalog.requests.filter((r) => r.path === "/api/products").length;
/** Different photos asked for so far (the photos are held, so these are all in flight). */
const photosAsked = (catalog: CatalogServer) =>
  new Set(catalog.requests.filter((r) => r.path.startsWith("/storage/")).map((r) => r.path)).size;

describe.if(HAVE_MODEL)("the whole-catalogue walk (body-less POST /embeddings/generate)", () => {
  let catalog: CatalogServer | undefined;
  afterEach(() => catalog?.stop());

  /** Starts a walk over a catalogue whose photos are held until `release`; returns its task id. */
  async function startHeldWalk(path: string, env: Record<string, string>) {
    const release = Promise.withResolvers<void>();
    catalog = startCatalogServer({
      perPage: PER_PAGE,
      products: ids.map((id) => ({ id, image: makePhoto(id) })),
      faults: { holdPhotos: release.promise },
    });
    // A long timeout: a held photo is not asked for again.
    const subject = await startAppUnderTest({ env: { CATALOG_API_URL: catalog.url, CATALOG_TIMEOUT_MS: "120000", ...env } });
    const started = await call(subject.app, path, { method: "POST" });
    expect(started.status).toBe(202);
    const { task_id } = (await started.json()) as { task_id: string };
    return { subject, taskId: task_id, release: () => release.resolve() };
  }

  async function expectWholeWalk(subject: AppUnderTest, taskId: string) {
    const task = await waitForTask(subject.app, taskId, 110_000);
    expect(task).toMatchObject({
      status: "succeeded",
      progress: { total: PRODUCTS, done: PRODUCTS, failed: 0 },
      message: `walked the catalogue from page 1 to page ${PRODUCTS / PER_PAGE}`,
    });
    expect(await subject.services.store.count()).toBe(PRODUCTS);
  }

  test("fills every catalogue slot although a page lists fewer products", async () => {
    // The default width is twice the larger of the model's batch and the catalogue's slots: every slot is busy.
    const { subject, taskId, release } = await startHeldWalk("/embeddings/generate", { CATALOG_CONCURRENCY: "8" });
    await using _ = subject;
    try {
      await waitFor(() => (photosAsked(catalog!) === 8 ? true : undefined), { timeoutMs: 30_000, what: "8 photos asked for at once" });
    } finally {
      release();
    }
    await expectWholeWalk(subject, taskId);
  }, 120_000);

  test("lists pages ahead only so far: the products in flight, one page waiting for a slot and one being listed", async () => {
    const { subject, taskId, release } = await startHeldWalk("/embeddings/generate-all?batch_size=12", { CATALOG_CONCURRENCY: "64" });
    await using _ = subject;
    try {
      await waitFor(() => (photosAsked(catalog!) === 12 && pagesListed(catalog!) === 5 ? true : undefined), {
        timeoutMs: 30_000,
        what: "12 photos in flight and 5 pages listed",
      });
      // Nothing finishes while the photos are held, so nothing more is listed: 5 of the 15 pages.
      await subject.app.request("/health");
      expect([photosAsked(catalog!), pagesListed(catalog!)]).toEqual([12, 5]);
    } finally {
      release();
    }
    await expectWholeWalk(subject, taskId);
  }, 120_000);

  test("fetches each photo from the list page's image_url: no product record is asked for", async () => {
    catalog = startCatalogServer({ perPage: PER_PAGE, products: ids.slice(0, 10).map((id) => ({ id, image: makePhoto(id) })) });
    await using subject = await startAppUnderTest({ env: { CATALOG_API_URL: catalog.url } });
    const task = await runTask(subject.app, "/embeddings/generate");
    expect(task).toMatchObject({ status: "succeeded", progress: { total: 10, done: 10, failed: 0 } });
    const paths = catalog.requests.map((r) => r.path);
    expect(paths.filter((path) => /^\/api\/products\/\d+$/.test(path))).toEqual([]);
    expect(paths.filter((path) => path.startsWith("/storage/")).sort()).toEqual(
      ids.slice(0, 10).map((id) => `/storage/products/${id}.jpg`).sort(),
    );
  }, 120_000);

  test("without an image_url on the list page, each product's record says where its photo is", async () => {
    catalog = startCatalogServer({
      perPage: PER_PAGE,
      imageUrlStyle: "none",
      products: ids.slice(0, 6).map((id) => ({ id, image: makePhoto(id) })),
    });
    await using subject = await startAppUnderTest({ env: { CATALOG_API_URL: catalog.url } });
    const task = await runTask(subject.app, "/embeddings/generate");
    expect(task).toMatchObject({ status: "succeeded", progress: { total: 6, done: 6, failed: 0 } });
    for (const id of ids.slice(0, 6)) {
      expect([catalog.hits(`/api/products/${id}`), catalog.hits(`/api/products/${id}/image`)]).toEqual([1, 1]);
    }
  }, 120_000);
});
