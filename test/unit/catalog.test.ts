// The catalogue sources against a real products API on 127.0.0.1 and real temp folders: paging, image URLs, auth,
// retries, timeouts, the concurrency cap, where requests may go (origins, redirects), and the folder catalogue's
// naming rules. Every server here listens on a loopback address; no test can make the code connect elsewhere.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCatalog } from "../../src/catalog/create-catalog.ts";
import { FolderCatalog } from "../../src/catalog/folder-catalog.ts";
import { backoffDelayMs } from "../../src/catalog/catalog-fetcher.ts";
import { HttpCatalog, type HttpCatalogOptions } from "../../src/catalog/http-catalog.ts";
import type { ResolveHost } from "../../src/catalog/outbound-policy.ts";
import { AppError } from "../../src/errors.ts";
import { type CatalogServer, fashionPhotos, makePhoto, startCatalogServer } from "../helpers/catalog-server.ts";

const products = (ids: number[]) => ids.map((id) => ({ id, image: makePhoto(id) }));

function catalogFor(server: { url: string }, options: Partial<HttpCatalogOptions> = {}): HttpCatalog {
  return new HttpCatalog({ baseUrl: server.url, timeoutMs: 2_000, retries: 2, concurrency: 4, backoffBaseMs: 1, ...options });
}

async function caught(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error("expected the promise to reject");
}

/** A one-off server for answers the catalogue server never gives (bad JSON, 403, 429, odd image URLs, redirects). */
function serveRaw(answer: (request: Request, url: URL) => Response, { hostname = "127.0.0.1" } = {}) {
  const requests: { path: string; host: string | null; authorization: string | null }[] = [];
  const server = Bun.serve({
    hostname,
    port: 0,
    fetch(request) {
      const url = new URL(request.url);
      requests.push({
        path: url.pathname,
        host: request.headers.get("Host"),
        authorization: request.headers.get("Authorization"),
      });
      return answer(request, url);
    },
  });
  return {
    origin: `http://${hostname}:${server.port}`,
    url: `http://${hostname}:${server.port}/api`,
    port: server.port,
    requests,
    get hits() {
      return requests.length;
    },
    hitsOf: (path: string) => requests.filter((request) => request.path === path).length,
    [Symbol.asyncDispose]: () => server.stop(true),
  };
}

describe("backoffDelayMs", () => {
  const low = { random: () => 0 };
  const high = { random: () => 1 };

  test("doubles from 200 ms with jitter between half and the whole step, capped at 5 s", () => {
    expect([0, 1, 2, 3, 4, 5, 10].map((attempt) => backoffDelayMs(attempt, null, low))).toEqual([
      100, 200, 400, 800, 1600, 2500, 2500,
    ]);
    expect([0, 1, 2, 3, 4, 5, 10].map((attempt) => backoffDelayMs(attempt, null, high))).toEqual([
      200, 400, 800, 1600, 3200, 5000, 5000,
    ]);
    expect(backoffDelayMs(2, null, { baseMs: 1, random: () => 0.5 })).toBe(3);
  });

  test("a Retry-After in seconds wins, capped at 30 s; anything else falls back to backoff", () => {
    expect(backoffDelayMs(0, "2", high)).toBe(2_000);
    expect(backoffDelayMs(0, "0", high)).toBe(0);
    expect(backoffDelayMs(0, "1.5", high)).toBe(1_500);
    expect(backoffDelayMs(0, "3600", high)).toBe(30_000);
    expect(backoffDelayMs(0, "soon", high)).toBe(200);
    expect(backoffDelayMs(0, "Wed, 21 Oct 2015 07:28:00 GMT", high)).toBe(200);
  });
});

describe("HttpCatalog", () => {
  test("lists pages in the catalogue's order, and a page past the end is empty", async () => {
    await using server = startCatalogServer({ products: products([3, 10, 11, 42, 7]), perPage: 2 });
    const catalog = catalogFor(server);

    // Each product's image_url as the page gives it, so a walk needs no request for the product's record.
    const photoAt = (id: number) => [id, `${server.origin}/storage/products/${id}.jpg`] as const;
    expect(await catalog.listPage(1)).toEqual({ productIds: [3, 10], lastPage: 3, total: 5, imageUrls: new Map([photoAt(3), photoAt(10)]) });
    expect(await catalog.listPage(3)).toEqual({ productIds: [7], lastPage: 3, total: 5, imageUrls: new Map([photoAt(7)]) });
    expect(await catalog.listPage(4)).toEqual({ productIds: [], lastPage: 3, total: 5, imageUrls: new Map() });
    expect(server.requests.map((request) => [request.path, request.search, request.accept])).toEqual([
      ["/api/products", "?page=1", "application/json"],
      ["/api/products", "?page=3", "application/json"],
      ["/api/products", "?page=4", "application/json"],
    ]);
  });

  test.each([
    ["absolute", "/storage/products/2.jpg"],
    ["relative", "/storage/products/2.jpg"],
    ["none", "/api/products/2/image"],
  ] as const)("fetches the photo when image_url is %s", async (imageUrlStyle, imagePath) => {
    await using server = startCatalogServer({ products: products([1, 2]), imageUrlStyle });

    expect(await catalogFor(server).fetchImage(2)).toEqual(makePhoto(2));
    expect(server.requests.map((request) => request.path)).toEqual(["/api/products/2", imagePath]);
  });

  test("sends the bearer token to the API and to images on its origin", async () => {
    await using server = startCatalogServer({ products: products([1]), token: "s3cret" });

    expect(await catalogFor(server, { token: "s3cret" }).fetchImage(1)).toEqual(makePhoto(1));
    expect(server.requests.map((request) => request.authorization)).toEqual(["Bearer s3cret", "Bearer s3cret"]);
  });

  test("sends no Authorization without a token, and a 401 is final", async () => {
    await using server = startCatalogServer({ products: products([1]), token: "s3cret" });

    const error = await caught(catalogFor(server).fetchImage(1));
    expect(error).toMatchObject({
      code: "CATALOG_UNAVAILABLE",
      status: 502,
      message: "the catalogue answered 401 for product 1's record",
    });
    expect(server.requests.map((request) => request.authorization)).toEqual([null]);
  });

  test("does not send the token to images on another origin (a CDN in CATALOG_IMAGE_ORIGINS)", async () => {
    await using images = startCatalogServer({ products: products([1]) });
    await using api = startCatalogServer({ products: products([1]), token: "s3cret", imageOrigin: images.origin });

    const catalog = catalogFor(api, { token: "s3cret", imageOrigins: [images.origin] });
    expect(await catalog.fetchImage(1)).toEqual(makePhoto(1));
    expect(api.requests.map((request) => [request.path, request.authorization])).toEqual([
      ["/api/products/1", "Bearer s3cret"],
    ]);
    expect(images.requests.map((request) => [request.path, request.authorization])).toEqual([
      ["/storage/products/1.jpg", null],
    ]);
  });

  test("a 404 is PRODUCT_NOT_FOUND at once, without retrying", async () => {
    await using server = startCatalogServer({ products: products([1, 2]), faults: { notFound: new Set([2]) } });
    const catalog = catalogFor(server);

    expect(await caught(catalog.fetchImage(2))).toMatchObject({ code: "PRODUCT_NOT_FOUND", status: 404 });
    expect(await caught(catalog.fetchImage(99))).toMatchObject({ code: "PRODUCT_NOT_FOUND", status: 404 });
    expect(server.hits("/api/products/2")).toBe(1);
    expect(server.hits("/api/products/99")).toBe(1);
  });

  test("a 404 for the photo itself is PRODUCT_NOT_FOUND too", async () => {
    await using server = serveRaw((request) =>
      new URL(request.url).pathname === "/api/products/5"
        ? Response.json({ data: { id: 5, image_url: "/storage/gone.jpg" } })
        : new Response("gone", { status: 404 }),
    );

    expect(await caught(catalogFor(server).fetchImage(5))).toMatchObject({ code: "PRODUCT_NOT_FOUND", status: 404 });
    expect(server.hits).toBe(2);
  });

  test("retries a 500 and succeeds when the catalogue recovers", async () => {
    await using server = startCatalogServer({ products: products([1]), faults: { serverError: new Map([[1, 2]]) } });

    expect(await catalogFor(server, { retries: 2 }).fetchImage(1)).toEqual(makePhoto(1));
    expect(server.hits("/api/products/1")).toBe(3);
    expect(server.hits("/storage/products/1.jpg")).toBe(1);
  });

  test("gives up with CATALOG_UNAVAILABLE naming the product and the last error once retries run out", async () => {
    await using server = startCatalogServer({ products: products([1]), faults: { serverError: new Map([[1, 10]]) } });

    const error = await caught(catalogFor(server, { retries: 2 }).fetchImage(1));
    expect(error).toMatchObject({
      code: "CATALOG_UNAVAILABLE",
      status: 502,
      message: "catalogue unavailable: product 1's record failed 3 times, last: HTTP 500",
    });
    expect(server.hits("/api/products/1")).toBe(3);
  });

  test("a slow answer times out, is retried, then gives up", async () => {
    await using server = startCatalogServer({ products: products([1]), faults: { delayMs: 2_000 } });
    const started = performance.now();

    const error = await caught(catalogFor(server, { timeoutMs: 100, retries: 1 }).fetchImage(1));
    expect(error).toMatchObject({
      code: "CATALOG_UNAVAILABLE",
      message: "catalogue unavailable: product 1's record failed 2 times, last: timed out after 100 ms",
    });
    expect(server.hits("/api/products/1")).toBe(2);
    expect(performance.now() - started).toBeLessThan(1_500);
  });

  test("keeps at most `concurrency` requests in flight across callers", async () => {
    const ids = [1, 2, 3, 4, 5, 6];
    await using server = startCatalogServer({ products: products(ids), faults: { delayMs: 40 } });
    const catalog = catalogFor(server, { concurrency: 2 });

    const photos = await Promise.all(ids.map((id) => catalog.fetchImage(id)));
    expect(photos).toEqual(ids.map((id) => makePhoto(id)));
    expect(server.requests).toHaveLength(12);
    expect(server.maxInFlight).toBe(2);
  });

  test("stops retrying when the caller aborts, and rethrows the abort", async () => {
    await using server = startCatalogServer({ products: products([1]), faults: { serverError: new Map([[1, 10]]) } });
    // Backoff of seconds: only the caller's abort can end this quickly.
    const catalog = catalogFor(server, { retries: 5, backoffBaseMs: 60_000 });
    const started = performance.now();

    const error = await catalog.fetchImage(1, AbortSignal.timeout(300)).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe("TimeoutError");
    expect(server.hits("/api/products/1")).toBe(1);
    expect(performance.now() - started).toBeLessThan(2_000);

    const aborted = new AbortController();
    aborted.abort(new Error("shutting down"));
    await expect(catalog.listPage(1, aborted.signal)).rejects.toThrow("shutting down");
    expect(server.hits("/api/products")).toBe(0);
  });

  test("honours Retry-After on 429", async () => {
    let calls = 0;
    await using server = serveRaw(() =>
      ++calls === 1
        ? new Response("slow down", { status: 429, headers: { "Retry-After": "0" } })
        : Response.json({ data: [{ id: 1 }], meta: { current_page: 1, last_page: 1, total: 1 } }),
    );
    // Without the header the retry would wait 30 s or more.
    const catalog = catalogFor(server, { backoffBaseMs: 60_000 });

    expect(await catalog.listPage(1)).toEqual({ productIds: [1], lastPage: 1, total: 1, imageUrls: new Map() });
    expect(server.hits).toBe(2);
  });

  test("other 4xx answers are final", async () => {
    await using server = serveRaw(() => new Response("no", { status: 403 }));

    expect(await caught(catalogFor(server).listPage(1))).toMatchObject({
      code: "CATALOG_UNAVAILABLE",
      status: 502,
      message: "the catalogue answered 403 for page 1 of the product list",
    });
    expect(server.hits).toBe(1);
  });

  test.each([
    ["not JSON", () => new Response("<html>maintenance</html>"), "is not JSON"],
    [
      "a negative id",
      () => Response.json({ data: [{ id: -1 }], meta: { current_page: 1, last_page: 1, total: 1 } }),
      "has an unexpected shape: data.0.id:",
    ],
    ["no meta", () => Response.json({ data: [] }), "has an unexpected shape: meta:"],
  ])("a malformed page (%s) is CATALOG_UNAVAILABLE", async (_name, answer, expected) => {
    await using server = serveRaw(answer);

    const error = await caught(catalogFor(server).listPage(1));
    expect(error.code).toBe("CATALOG_UNAVAILABLE");
    expect(error.message).toStartWith(`page 1 of the product list ${expected}`);
    expect(server.hits).toBe(1);
  });


  test("refuses photos over the size limit without retrying", async () => {
    await using server = startCatalogServer({ products: products([1]) });

    const error = await caught(catalogFor(server, { maxImageBytes: 100 }).fetchImage(1));
    expect(error).toMatchObject({
      code: "INVALID_IMAGE",
      status: 422,
      message: "product 1's photo is larger than 100 bytes",
    });
    expect(server.hits("/storage/products/1.jpg")).toBe(1);
  });

  test("passes truncated bytes through for the decoder to reject", async () => {
    await using server = startCatalogServer({ products: products([1]), faults: { brokenBytes: new Set([1]) } });
    const whole = makePhoto(1);

    expect(await catalogFor(server).fetchImage(1)).toEqual(whole.slice(0, Math.floor(whole.length / 2)));
  });

  const fashion = fashionPhotos(2);
  test.skipIf(!fashion)("serves real fashion photos from ../shared", async () => {
    await using server: CatalogServer = startCatalogServer({
      products: fashion!.map(({ id, path }) => ({ id, image: path })),
    });
    const catalog = catalogFor(server);

    const page = await catalog.listPage(1);
    expect(page.productIds).toEqual(fashion!.map(({ id }) => id));
    for (const { id, path } of fashion!) {
      expect(await catalog.fetchImage(id)).toEqual(await Bun.file(path).bytes());
    }
  });
});

describe("HttpCatalog: where requests may go", () => {
  const photo = makePhoto(1);
  const REFUSED = "OUTBOUND_URL_REFUSED";
  /** A catalogue whose product 1 has this image_url; `images` answers the image paths on its own origin. */
  const catalogueWith = (imageUrl: (origin: string) => string, images: (url: URL) => Response) =>
    serveRaw((_request, url) =>
      url.pathname === "/api/products/1"
        ? Response.json({ data: { id: 1, image_url: imageUrl(url.origin) } })
        : images(url),
    );
  const redirect = (status: number, location: string) => new Response(null, { status, headers: { Location: location } });
  const notListed = (origin: string) => `${origin} is neither the catalogue's origin nor in CATALOG_IMAGE_ORIGINS`;

  test("an image_url on another origin is refused, never requested, not retried", async () => {
    await using elsewhere = startCatalogServer({ products: products([1]) });
    await using api = startCatalogServer({ products: products([1]), imageOrigin: elsewhere.origin });

    expect(await caught(catalogFor(api).fetchImage(1))).toMatchObject({
      code: REFUSED,
      status: 502,
      message: `refused to fetch product 1's photo: ${notListed(elsewhere.origin)}`,
    });
    expect(elsewhere.requests).toEqual([]);
    expect(api.hits("/api/products/1")).toBe(1);
  });

  test.each([
    ["file:///etc/passwd", "file:"],
    ["data:image/jpeg;base64,/9j/4AAQ", "data:"],
    ["ftp://127.0.0.1/1.jpg", "ftp:"],
  ])("an image_url %s is refused without retrying", async (imageUrl, scheme) => {
    await using api = catalogueWith(() => imageUrl, () => new Response(photo));

    expect(await caught(catalogFor(api).fetchImage(1))).toMatchObject({
      code: REFUSED,
      message: `refused to fetch product 1's photo: ${scheme} URLs are never fetched, only http and https`,
    });
    expect(api.hits).toBe(1);
  });

  // 0.0.0.0 would reach this very machine; here it would be the test server itself, so a miss is visible.
  test.each([false, true])("an image_url on 0.0.0.0 is refused, even with its origin listed (%p)", async (listed) => {
    await using api = catalogueWith(
      (origin) => `${origin.replace("127.0.0.1", "0.0.0.0")}/storage/1.jpg`,
      () => new Response(photo),
    );
    const unspecified = `http://0.0.0.0:${api.port}`;

    const error = await caught(catalogFor(api, { imageOrigins: listed ? [unspecified] : [] }).fetchImage(1));
    expect(error).toMatchObject({
      code: REFUSED,
      message: `refused to fetch product 1's photo: ${
        listed ? "0.0.0.0 is a link-local, metadata or unspecified address" : notListed(unspecified)
      }`,
    });
    expect(api.hitsOf("/storage/1.jpg")).toBe(0);
  });

  test.each([301, 302, 303, 307, 308])("a %i redirect to another origin is refused before it is followed", async (status) => {
    await using elsewhere = startCatalogServer({ products: products([1]) });
    await using api = catalogueWith(
      () => "/img/1.jpg",
      () => redirect(status, `${elsewhere.origin}/storage/products/1.jpg`),
    );

    expect(await caught(catalogFor(api).fetchImage(1))).toMatchObject({
      code: REFUSED,
      message: `refused to fetch product 1's photo (after 1 redirect): ${notListed(elsewhere.origin)}`,
    });
    expect(elsewhere.requests).toEqual([]);
    expect(api.hitsOf("/img/1.jpg")).toBe(1);
  });

  test("a redirect to file:///etc/passwd is refused, not retried as a transient error", async () => {
    await using api = catalogueWith(() => "/img/1.jpg", () => redirect(302, "file:///etc/passwd"));

    expect(await caught(catalogFor(api, { retries: 3 }).fetchImage(1))).toMatchObject({
      code: REFUSED,
      message: "refused to fetch product 1's photo (after 1 redirect): file: URLs are never fetched, only http and https",
    });
    expect(api.hitsOf("/img/1.jpg")).toBe(1);
  });

  test("a redirect loop ends after 5 redirects: 6 requests, not retried", async () => {
    await using api = catalogueWith(() => "/img/1.jpg", (url) => redirect(302, url.pathname));

    expect(await caught(catalogFor(api, { retries: 3 }).fetchImage(1))).toMatchObject({
      code: REFUSED,
      message: "refused to fetch product 1's photo: more than 5 redirects",
    });
    expect(api.hitsOf("/img/1.jpg")).toBe(6);
  });

  test("redirects within the allowed origins are followed, up to 5, and the token stays home", async () => {
    await using cdn = serveRaw(() => new Response(photo));
    await using api = serveRaw((request, url) => {
      if (url.pathname === "/api/products/1") return Response.json({ data: { id: 1, image_url: "/img/1" } });
      const step = Number(url.pathname.slice("/img/".length));
      return step < 4 ? redirect([301, 303, 307, 308][step - 1]!, `/img/${step + 1}`) : redirect(302, `${cdn.origin}/1.jpg`);
    });

    const catalog = catalogFor(api, { token: "s3cret", imageOrigins: [cdn.origin] });
    expect(await catalog.fetchImage(1)).toEqual(photo);
    expect(api.requests.map((request) => [request.path, request.authorization])).toEqual([
      ["/api/products/1", "Bearer s3cret"],
      ["/img/1", "Bearer s3cret"],
      ["/img/2", "Bearer s3cret"],
      ["/img/3", "Bearer s3cret"],
      ["/img/4", "Bearer s3cret"],
    ]);
    expect(cdn.requests).toEqual([{ path: "/1.jpg", host: new URL(cdn.origin).host, authorization: null }]);
  });

  test.each([
    [["127.0.0.2"]],
    [["127.0.0.3", "127.0.0.2"]],
  ])("connects to the addresses it checked (%p), not to a second lookup of the name (DNS rebinding)", async (addresses) => {
    // Only this test's resolver says where `localhost` is; the system says 127.0.0.1, where nothing answers. Nothing
    // answers on 127.0.0.3 either: the next address is tried, as a connection would.
    await using api = serveRaw(
      (_request, url) =>
        url.pathname === "/api/products/1" ? Response.json({ data: { id: 1, image_url: "/img/1.jpg" } }) : new Response(photo),
      { hostname: "127.0.0.2" },
    );
    const resolveHost: ResolveHost = async (hostname) => {
      if (hostname !== "localhost") throw new Error(`unexpected lookup of ${hostname}`);
      return addresses;
    };

    const catalog = catalogFor({ url: `http://localhost:${api.port}/api` }, { resolveHost, retries: 0 });
    expect(await catalog.fetchImage(1)).toEqual(photo);
    expect(api.requests.map((request) => [request.path, request.host])).toEqual([
      ["/api/products/1", `localhost:${api.port}`],
      ["/img/1.jpg", `localhost:${api.port}`],
    ]);
  });

  test("error messages name the product or page and the status, never the catalogue's address or token", async () => {
    const token = "s3cret";
    await using api = startCatalogServer({ products: products([1, 2]), token, faults: { serverError: new Map([[2, 10]]) } });
    const catalog = catalogFor(api, { token, retries: 1, maxImageBytes: 100 });

    const messages = [
      (await caught(catalog.fetchImage(1))).message,
      (await caught(catalog.fetchImage(2))).message,
      (await caught(catalogFor(api, { token: "wrong" }).listPage(1))).message,
    ];
    expect(messages).toEqual([
      "product 1's photo is larger than 100 bytes",
      "catalogue unavailable: product 2's record failed 2 times, last: HTTP 500",
      "the catalogue answered 401 for page 1 of the product list",
    ]);
    for (const message of messages) {
      for (const secret of [new URL(api.origin).host, "/api", token]) expect(message).not.toContain(secret);
    }
  });
});

describe("FolderCatalog", () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "folder-catalog-"));
    const photos: [string, number][] = [
      ["3.jpg", 3],
      ["10.png", 10],
      ["2.webp", 2],
      ["1.JPEG", 1],
    ];
    for (const [name, id] of photos) await writeFile(join(dir, name), makePhoto(id));
    for (const junk of ["notes.txt", "007.jpg", "0.jpg", "abc.jpg", "5.gif", "4.jpg.tmp", "1.5.jpg", "8.Jpg", ".9.jpg"]) {
      await writeFile(join(dir, junk), "junk");
    }
    await mkdir(join(dir, "6.jpg"));
  });

  afterAll(() => rm(dir, { recursive: true, force: true }));

  test("lists photo ids ascending in pages, ignoring other files", async () => {
    const catalog = new FolderCatalog({ dir, pageSize: 3 });

    expect(await catalog.listPage(1)).toEqual({ productIds: [1, 2, 3], lastPage: 2, total: 4 });
    expect(await catalog.listPage(2)).toEqual({ productIds: [10], lastPage: 2, total: 4 });
    expect(await catalog.listPage(3)).toEqual({ productIds: [], lastPage: 2, total: 4 });
  });

  test("names the files it skips (not hidden ones, not folders), for the index command's summary", async () => {
    expect(await new FolderCatalog({ dir }).skippedFiles()).toEqual(
      ["notes.txt", "007.jpg", "0.jpg", "abc.jpg", "5.gif", "4.jpg.tmp", "1.5.jpg", "8.Jpg"].sort(),
    );
  });

  test("sees photos added after it was created", async () => {
    const own = await mkdtemp(join(tmpdir(), "folder-catalog-"));
    try {
      const catalog = new FolderCatalog({ dir: own });
      expect(await catalog.listPage(1)).toEqual({ productIds: [], lastPage: 1, total: 0 });

      await writeFile(join(own, "12.jpg"), makePhoto(12));
      expect(await catalog.listPage(1)).toEqual({ productIds: [12], lastPage: 1, total: 1 });
    } finally {
      await rm(own, { recursive: true, force: true });
    }
  });

  test("reads a product's photo", async () => {
    const catalog = new FolderCatalog({ dir });

    expect(await catalog.fetchImage(10)).toEqual(makePhoto(10));
    expect(await catalog.fetchImage(1)).toEqual(makePhoto(1));
  });

  test.each([7, 6, 0, -3, 1.5])("product %p has no photo: PRODUCT_NOT_FOUND", async (id) => {
    expect(await caught(new FolderCatalog({ dir }).fetchImage(id))).toMatchObject({
      code: "PRODUCT_NOT_FOUND",
      status: 404,
    });
  });

  test("finds the file and content type for the image route", async () => {
    const catalog = new FolderCatalog({ dir });

    expect(await catalog.imagePath(3)).toEqual({ path: join(dir, "3.jpg"), contentType: "image/jpeg" });
    expect(await catalog.imagePath(1)).toEqual({ path: join(dir, "1.JPEG"), contentType: "image/jpeg" });
    expect(await catalog.imagePath(10)).toEqual({ path: join(dir, "10.png"), contentType: "image/png" });
    expect(await catalog.imagePath(2)).toEqual({ path: join(dir, "2.webp"), contentType: "image/webp" });
    expect(await catalog.imagePath(7)).toBeNull();
  });

  test("a missing folder is CATALOG_UNAVAILABLE", async () => {
    const error = await caught(new FolderCatalog({ dir: join(dir, "missing") }).listPage(1));
    expect(error).toMatchObject({ code: "CATALOG_UNAVAILABLE", status: 502 });
    expect(error.message).toStartWith(`catalogue folder ${join(dir, "missing")} cannot be read:`);
  });
});

describe("createCatalog", () => {
  const http = { timeoutMs: 1_000, retries: 0, concurrency: 1, imageOrigins: [] };

  test("builds the catalogue the config names", () => {
    expect(createCatalog({ kind: "folder", dir: "/photos" }, http)).toBeInstanceOf(FolderCatalog);
    expect(createCatalog({ kind: "api", baseUrl: "http://127.0.0.1:1/api", token: undefined }, http)).toBeInstanceOf(
      HttpCatalog,
    );
  });
});
