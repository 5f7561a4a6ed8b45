// End to end: the real service process embeds a real 300-product, 6-page catalogue with the real model, answers
// similar-product searches from it, and keeps every embedding across a restart. One generate-all is shared by the
// tests of the first group; they run in order and the last one restarts that service.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { CatalogServer } from "../helpers/catalog-server.ts";
import { requireModel, tempDir } from "../helpers/environment.ts";
import { type ServiceProcess, startService, type TaskView } from "../helpers/service-process.ts";
import { ascending, catalogPhotos, runTask, startCatalogOf, storedIds, uploadForm } from "./e2e-fixtures.ts";

const HAVE_MODEL = requireModel("e2e catalogue ingestion");

// bunfig's `timeout` is not read by this bun; every test here talks to a real process running a real model.
setDefaultTimeout(120_000);

interface Similar {
  id: number;
  similarity_score: number;
  image_url: string;
}

describe.skipIf(!HAVE_MODEL)("a 300-product catalogue in 6 pages of 50", () => {
  const photos = catalogPhotos(300);
  const cleanup = new AsyncDisposableStack();
  let catalog: CatalogServer;
  let dataDir: string;
  let service: ServiceProcess;
  let generateAll: TaskView;
  /** Ids spread over the catalogue: first, last, and some between. */
  const sample = [0, 37, 99, 150, 201, 255, 299].map((i) => photos.ids[i]!);

  const similarTo = async (id: number, query = "top_n=10") => {
    const answer = await service.json<{ similar_products: Similar[] }>(`/similar-products/${id}?${query}`);
    expect(answer.status).toBe(200);
    return answer.body.similar_products;
  };

  beforeAll(async () => {
    catalog = cleanup.use(startCatalogOf(photos));
    dataDir = cleanup.use(await tempDir("fip-e2e-ingest-")).path;
    service = await startService({ DATA_DIR: dataDir, CATALOG_API_URL: catalog.url });
    // Disposed through the variable: the restart test replaces the service.
    cleanup.defer(() => service[Symbol.asyncDispose]());
    generateAll = await runTask(service, "POST", "/embeddings/generate-all", undefined, 240_000);
  }, 300_000);

  afterAll(() => cleanup.disposeAsync(), 60_000);

  test("generate-all walks every page and stores every product exactly once", async () => {
    expect(generateAll).toMatchObject({
      kind: "embed_catalog",
      status: "succeeded",
      progress: { total: 300, done: 300, failed: 0 },
      errors: [],
      message: "walked the catalogue from page 1 to page 6",
    });
    expect(await storedIds(service)).toEqual(ascending(photos.ids));
    expect((await service.json("/embeddings/count")).body).toEqual({ count: 300 });
    expect((await service.json("/ready")).body).toMatchObject({ status: "ready", embeddings: 300 });

    const pagesListed = catalog.requests.filter((r) => r.path === "/api/products").map((r) => r.search);
    expect(pagesListed.sort()).toEqual(["?page=1", "?page=2", "?page=3", "?page=4", "?page=5", "?page=6"]);
    // Each photo fetched once, from the image_url its list page gives: no record asked for, nothing fetched twice.
    expect(photos.ids.filter((id) => catalog.hits(`/api/products/${id}`) !== 0)).toEqual([]);
    expect(photos.ids.filter((id) => catalog.hits(`/storage/products/${id}.jpg`) !== 1)).toEqual([]);
  });

  test("GET /similar-products/{id}: best first, scores in (0, 1], the product itself first with 1.0", async () => {
    for (const id of sample) {
      const similar = await similarTo(id);
      expect(similar).toHaveLength(10);
      expect(new Set(similar.map((s) => s.id)).size).toBe(10);
      const scores = similar.map((s) => s.similarity_score);
      for (const score of scores) {
        expect(score).toBeGreaterThan(0);
        expect(score).toBeLessThanOrEqual(1);
      }
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
      // Some photos are byte-identical under two ids: the other one may tie at 1.0, but the product is there.
      expect(similar[0]!.similarity_score).toBe(1);
      expect(similar.filter((s) => s.similarity_score === 1).map((s) => s.id)).toContain(id);
      if (similar[1]!.similarity_score < 1) expect(similar[0]!.id).toBe(id);
      for (const s of similar) expect(s.image_url).toBe(`${catalog.url}/products/${s.id}/image`);
      expect(photos.ids).toEqual(expect.arrayContaining(similar.map((s) => s.id)));
    }
  });

  test("exclude_self=true leaves the product out and still answers top_n", async () => {
    for (const id of sample) {
      const withSelf = await similarTo(id, "top_n=11");
      for (const flag of ["true", "1"]) {
        const without = await similarTo(id, `top_n=10&exclude_self=${flag}`);
        expect(without.map((s) => s.id)).not.toContain(id);
        expect(without).toHaveLength(10);
        // The same neighbours, self removed (ties may swap ids, never scores).
        const expected = withSelf.filter((s) => s.id !== id).slice(0, 10);
        expect(without.map((s) => s.similarity_score)).toEqual(expected.map((s) => s.similarity_score));
      }
      const explicitFalse = await similarTo(id, "top_n=10&exclude_self=false");
      expect(explicitFalse.map((s) => s.id)).toContain(id);
    }
  });

  test("top_n and score_threshold limit the answer", async () => {
    const id = sample[2]!;
    const all = await similarTo(id, "top_n=50");
    expect(all).toHaveLength(50);
    expect(await similarTo(id, "top_n=3")).toEqual(all.slice(0, 3));
    const threshold = all[20]!.similarity_score;
    const above = await similarTo(id, `top_n=50&score_threshold=${threshold}`);
    expect(above.length).toBeGreaterThanOrEqual(21);
    expect(above.every((s) => s.similarity_score >= threshold)).toBe(true);
    expect(above.map((s) => s.similarity_score)).toEqual(
      all.filter((s) => s.similarity_score >= threshold).map((s) => s.similarity_score),
    );
  });

  test("a product without an embedding is a 404 JSON error, a bad id a 400", async () => {
    const missing = await service.json("/similar-products/999999");
    expect(missing.status).toBe(404);
    expect(missing.headers.get("Content-Type")).toContain("application/json");
    expect(missing.body.error).toMatchObject({ code: "EMBEDDING_NOT_FOUND" });
    expect(missing.body.error.message).toContain("999999");

    const bad = await service.json("/similar-products/abc");
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("VALIDATION_FAILED");
    expect((await service.json(`/similar-products/${sample[0]}?top_n=0`)).status).toBe(400);
    expect((await service.json(`/similar-products/${sample[0]}?score_threshold=2`)).status).toBe(400);
  });

  test("uploading a product's own photo finds that product first with similarity 1.0", async () => {
    for (const id of sample.slice(0, 4)) {
      const answer = await service.json<{ similar_products: Similar[] }>("/similar-products/upload?top_n=5", {
        method: "POST",
        body: uploadForm(await photos.bytes(id)),
      });
      expect(answer.status).toBe(200);
      const similar = answer.body.similar_products;
      expect(similar).toHaveLength(5);
      expect(similar[0]!.similarity_score).toBe(1);
      expect(similar.filter((s) => s.similarity_score === 1).map((s) => s.id)).toContain(id);
      const scores = similar.map((s) => s.similarity_score);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
    }
  });

  test.skipIf(!photos.real)("two ids with byte-identical photos both score 1.0 for an upload of that photo", async () => {
    // 10184 and 10185 share one photo in ../shared/data/fashion (see its README).
    const answer = await service.json<{ similar_products: Similar[] }>("/similar-products/upload?top_n=3", {
      method: "POST",
      body: uploadForm(await photos.bytes(10184)),
    });
    expect(answer.status).toBe(200);
    const perfect = answer.body.similar_products.filter((s) => s.similarity_score === 1).map((s) => s.id);
    expect(ascending(perfect)).toEqual([10184, 10185]);
  });

  test("an upload that is not a photo is refused with a JSON error", async () => {
    const notAPhoto = await service.json("/similar-products/upload", {
      method: "POST",
      body: uploadForm(new TextEncoder().encode("hello, not a photo"), "notes.txt"),
    });
    expect(notAPhoto.status).toBe(415);
    expect(notAPhoto.body.error.code).toBe("UNSUPPORTED_MEDIA_TYPE");

    const bytes = await photos.bytes(sample[0]!);
    const truncated = await service.json("/similar-products/upload", {
      method: "POST",
      body: uploadForm(bytes.slice(0, bytes.length >> 1)),
    });
    expect(truncated.status).toBe(422);
    expect(truncated.body.error.code).toBe("INVALID_IMAGE");

    const noField = await service.json("/similar-products/upload", { method: "POST", body: new FormData() });
    expect(noField.status).toBe(400);
    expect(noField.body.error.code).toBe("VALIDATION_FAILED");
  });

  test("an upload over MAX_UPLOAD_BYTES (10 MiB by default) is a 413 JSON error", async () => {
    const tooLarge = await service.json("/similar-products/upload", {
      method: "POST",
      body: uploadForm(new Uint8Array(10 * 1024 * 1024 + 100 * 1024)),
    });
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body.error).toMatchObject({ code: "PAYLOAD_TOO_LARGE", details: { maxBytes: 10 * 1024 * 1024 } });
  });

  // Well past the limit, the app (not Bun's own bare 413) still answers with the JSON error envelope.
  test("an upload over MAX_UPLOAD_BYTES + 1 MiB is a 413 JSON error too", async () => {
    const huge = await service.json("/similar-products/upload", {
      method: "POST",
      body: uploadForm(new Uint8Array(12 * 1024 * 1024)),
    });
    expect(huge.status).toBe(413);
    expect(huge.body.error?.code).toBe("PAYLOAD_TOO_LARGE");
  });

  // Last in the group: it stops the service that ran generate-all and starts a new one on its data dir.
  test("SIGTERM after generate-all, then a restart: the same embeddings and the same answers", async () => {
    const idsBefore = await storedIds(service);
    const answersBefore = await Promise.all(sample.map((id) => similarTo(id)));
    const uploadBefore = await service.json("/similar-products/upload?top_n=10", {
      method: "POST",
      body: uploadForm(await photos.bytes(sample[3]!)),
    });

    expect(await service.stop("SIGTERM")).toBe(0);
    expect(service.logs()).toContain("SIGTERM: finishing running tasks");
    expect(service.logs()).toContain("stopped cleanly");

    service = await startService({ DATA_DIR: dataDir, CATALOG_API_URL: catalog.url });
    expect(service.logs()).toContain(`ready in`);
    expect(service.logs()).toContain(`300 embeddings in ${dataDir}`);
    expect(await storedIds(service)).toEqual(idsBefore);
    expect(await Promise.all(sample.map((id) => similarTo(id)))).toEqual(answersBefore);
    const uploadAfter = await service.json("/similar-products/upload?top_n=10", {
      method: "POST",
      body: uploadForm(await photos.bytes(sample[3]!)),
    });
    expect(uploadAfter.body).toEqual(uploadBefore.body);
  });

  test("generate-all?start_page=4 covers pages 4 to 6 only; POST /embeddings/generate with no body does them all", async () => {
    await using dir = await tempDir("fip-e2e-pages-");
    await using fresh = await startService({ DATA_DIR: dir.path, CATALOG_API_URL: catalog.url });
    const listedBefore = catalog.requests.length;

    const fromPage4 = await runTask(fresh, "POST", "/embeddings/generate-all?start_page=4");
    expect(fromPage4).toMatchObject({
      status: "succeeded",
      progress: { total: 150, done: 150, failed: 0 },
      message: "walked the catalogue from page 4 to page 6",
    });
    expect(await storedIds(fresh)).toEqual(ascending(photos.ids.slice(150)));
    const pagesListed = catalog.requests
      .slice(listedBefore)
      .filter((r) => r.path === "/api/products")
      .map((r) => r.search);
    expect(pagesListed.sort()).toEqual(["?page=4", "?page=5", "?page=6"]);

    // The old web app posts nothing at all, with a JSON content type.
    const answer = await fresh.json("/embeddings/generate", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
    });
    expect(answer.status).toBe(202);
    expect(answer.body).toEqual({ task_id: expect.any(String), status: "queued", kind: "embed_catalog" });
    const everything = await fresh.waitForTask(answer.body.task_id, 240_000);
    expect(everything).toMatchObject({
      kind: "embed_catalog",
      status: "succeeded",
      progress: { total: 300, done: 300, failed: 0 },
      message: "walked the catalogue from page 1 to page 6",
    });
    expect(await storedIds(fresh)).toEqual(ascending(photos.ids));
  }, 300_000);

  test("a start_page past the end embeds nothing and still succeeds", async () => {
    const task = await runTask(service, "POST", "/embeddings/generate-all?start_page=99");
    expect(task).toMatchObject({ status: "succeeded", progress: { total: 0, done: 0, failed: 0 } });
    expect((await service.json("/embeddings/generate-all?start_page=0", { method: "POST" })).status).toBe(400);
  });
});
