// The catalogue walk (generate-all) and the task records of catalogue failures, through app.request() with the real
// model, against a products API on 127.0.0.1 that lies about its pages or names URLs the service must not fetch.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { App } from "../../src/app.ts";
import { type AppUnderTest, runTask, startAppUnderTest } from "../helpers/app-under-test.ts";
import { makePhoto } from "../helpers/catalog-server.ts";
import { MODEL_PATH, requireModel } from "../helpers/environment.ts";

requireModel("HTTP tests of the catalogue walk (test/http/catalog-walk.test.ts)");

/**
 * What the list pages say. `honest`: page n holds products n1 and n2 of 6 pages. `ignores-page`: always page 1's
 * products, saying `current_page: 1, last_page: 3`. `lies-about-page`: page n's products, but always `current_page:
 * 1, last_page: 3` (6 pages exist). `endless`: page n's products for every n, honestly numbered, of 1,000 pages.
 */
type ListMode = "honest" | "ignores-page" | "lies-about-page" | "endless" | "refused";

/** Products whose photo the catalogue cannot serve (503), or whose image_url points where the service must not go. */
const UNAVAILABLE_ID = 901;
const FILE_URL_ID = 902;
const OTHER_ORIGIN_ID = 903;
const REDIRECT_AWAY_ID = 904;
const NOT_LISTED = "is neither the catalogue's origin nor in CATALOG_IMAGE_ORIGINS";

function startLyingCatalogue() {
  let mode: ListMode = "honest";
  const pagesAsked: number[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const url = new URL(request.url);
      if (url.pathname === "/api/products") {
        const asked = Number(url.searchParams.get("page"));
        pagesAsked.push(asked);
        return listPage(asked);
      }
      const record = /^\/api\/products\/(\d+)$/.exec(url.pathname);
      if (record) return Response.json({ data: { id: Number(record[1]), image_url: imageUrlOf(Number(record[1])) } });
      if (url.pathname === `/api/products/${UNAVAILABLE_ID}/image`) return new Response("busy", { status: 503 });
      // Loopback as well, so that even a service that followed it would reach nothing.
      if (url.pathname === "/away") {
        return new Response(null, { status: 307, headers: { Location: "http://127.0.0.2:1/photo.jpg" } });
      }
      const photo = /^\/api\/products\/(\d+)\/image$/.exec(url.pathname);
      if (photo) return new Response(makePhoto(Number(photo[1])), { headers: { "Content-Type": "image/jpeg" } });
      return new Response("not found", { status: 404 });
    },
  });

  function imageUrlOf(id: number): string | null {
    if (id === FILE_URL_ID) return "file:///etc/passwd";
    // Port 1 on loopback: nothing listens there, and nothing may be asked.
    if (id === OTHER_ORIGIN_ID) return "http://127.0.0.1:1/photo.jpg";
    if (id === REDIRECT_AWAY_ID) return "/away";
    return null;
  }

  function listPage(asked: number): Response {
    if (mode === "refused") return Response.json({ message: "Forbidden." }, { status: 403 });
    const pageIds = (n: number) => (n >= 1 && n <= 6 ? [n * 10 + 1, n * 10 + 2] : []);
    const [ids, currentPage, lastPage] = {
      honest: [pageIds(asked), asked, 6],
      "ignores-page": [pageIds(1), 1, 3],
      "lies-about-page": [pageIds(asked), 1, 3],
      endless: [[asked * 10 + 1, asked * 10 + 2], asked, 1000],
    }[mode] as [number[], number, number];
    return Response.json({
      data: ids.map((id) => ({ id, image_url: null })),
      meta: { current_page: currentPage, last_page: lastPage, per_page: 2, total: lastPage * 2 },
    });
  }

  return {
    url: `${server.url.origin}/api`,
    host: server.url.host,
    pagesAsked,
    /** Switches what the list says, and forgets the pages asked so far. */
    answer(next: ListMode) {
      mode = next;
      pagesAsked.length = 0;
    },
    [Symbol.asyncDispose]: () => server.stop(true),
  };
}

describe.skipIf(!MODEL_PATH)("the catalogue walk", () => {
  let catalogue: ReturnType<typeof startLyingCatalogue>;
  let subject: AppUnderTest;
  let app: App;

  beforeAll(async () => {
    catalogue = startLyingCatalogue();
    subject = await startAppUnderTest({
      env: { CATALOG_API_URL: catalogue.url, CATALOG_MAX_PAGES: "4", CATALOG_RETRIES: "0" },
    });
    app = subject.app;
  });

  afterAll(async () => {
    await subject?.close();
    await catalogue?.[Symbol.asyncDispose]();
  });

  test("an honest catalogue is walked to its last page", async () => {
    catalogue.answer("honest");
    const task = await runTask(app, "/embeddings/generate-all?start_page=4");
    expect(task).toMatchObject({
      status: "succeeded",
      progress: { total: 6, done: 6, failed: 0 },
      message: "walked the catalogue from page 4 to page 6",
    });
    expect(catalogue.pagesAsked).toEqual([4, 5, 6]);
  });

  test("a catalogue that ignores ?page (always current_page 1 of 3) ends at the first repeated page", async () => {
    catalogue.answer("ignores-page");
    const task = await runTask(app, "/embeddings/generate-all");
    expect(task).toMatchObject({
      status: "succeeded",
      progress: { total: 2, done: 2, failed: 0 },
      message:
        "walked the catalogue from page 1 to page 1; page 2 lists the same products as an earlier page " +
        "(does the catalogue ignore ?page=?), so the walk stopped there",
    });
    expect(catalogue.pagesAsked).toEqual([1, 2]);
  });

  test("a catalogue that always says current_page 1 is walked by the service's own count, to last_page", async () => {
    catalogue.answer("lies-about-page");
    const task = await runTask(app, "/embeddings/generate-all");
    expect(task).toMatchObject({
      status: "succeeded",
      progress: { total: 6, done: 6, failed: 0 },
      message: "walked the catalogue from page 1 to page 3",
    });
    expect(catalogue.pagesAsked).toEqual([1, 2, 3]);
  });

  test("a catalogue of more pages than CATALOG_MAX_PAGES is walked that far, and the task says so", async () => {
    catalogue.answer("endless");
    const task = await runTask(app, "/embeddings/generate-all?start_page=10");
    expect(task).toMatchObject({
      status: "succeeded",
      progress: { total: 8, done: 8, failed: 0 },
      message:
        "walked the catalogue from page 10 to page 13 and stopped at CATALOG_MAX_PAGES (4) of the 1000 pages " +
        "the catalogue reports; start_page=14 continues",
    });
    expect(catalogue.pagesAsked).toEqual([10, 11, 12, 13]);
  });

  test("a refused product list fails the walk with a message that names the page and the status only", async () => {
    catalogue.answer("refused");
    const task = await runTask(app, "/embeddings/generate-all?start_page=2");
    expect(task).toMatchObject({
      status: "failed",
      errors: [
        { product_id: null, code: "CATALOG_UNAVAILABLE", message: "the catalogue answered 403 for page 2 of the product list" },
      ],
    });
    expect(JSON.stringify(task)).not.toContain(catalogue.host);
  });

  test("per-product errors name the product and the status; refused URLs have their own code", async () => {
    const ids = [UNAVAILABLE_ID, FILE_URL_ID, OTHER_ORIGIN_ID, REDIRECT_AWAY_ID];
    const task = await runTask(app, "/embeddings/generate-batch", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ product_ids: ids }),
    });
    const errors = [...task.errors].sort((a, b) => a.product_id! - b.product_id!);
    expect(errors).toEqual([
      {
        product_id: UNAVAILABLE_ID,
        code: "CATALOG_UNAVAILABLE",
        message: `catalogue unavailable: product ${UNAVAILABLE_ID}'s photo failed 1 time, last: HTTP 503`,
      },
      {
        product_id: FILE_URL_ID,
        code: "OUTBOUND_URL_REFUSED",
        message: `refused to fetch product ${FILE_URL_ID}'s photo: file: URLs are never fetched, only http and https`,
      },
      {
        product_id: OTHER_ORIGIN_ID,
        code: "OUTBOUND_URL_REFUSED",
        message: `refused to fetch product ${OTHER_ORIGIN_ID}'s photo: http://127.0.0.1:1 ${NOT_LISTED}`,
      },
      {
        product_id: REDIRECT_AWAY_ID,
        code: "OUTBOUND_URL_REFUSED",
        message: `refused to fetch product ${REDIRECT_AWAY_ID}'s photo (after 1 redirect): http://127.0.0.2:1 ${NOT_LISTED}`,
      },
    ]);
    expect(JSON.stringify(task)).not.toContain(catalogue.host);
  });
});
