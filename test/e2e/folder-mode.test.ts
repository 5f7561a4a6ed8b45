// End to end: a shop without a products API: the catalogue is a folder of `<id>.jpg` photos (CATALOG_DIR), which the
// service embeds and also serves itself, so the image_url in its answers resolves.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makePhoto } from "../helpers/catalog-server.ts";
import { requireModel, tempDir } from "../helpers/environment.ts";
import { freePort, type ServiceProcess, startService } from "../helpers/service-process.ts";
import { ascending, catalogPhotos, runTask, storedIds, uploadForm, writePhotoFolder } from "./e2e-fixtures.ts";

const HAVE_MODEL = requireModel("e2e folder catalogue");

// bunfig's `timeout` is not read by this bun; every test here talks to a real process running a real model.
setDefaultTimeout(120_000);

/** 120 photos: two of the folder catalogue's 100-photo pages. */
const photos = catalogPhotos(120);

interface Similar {
  id: number;
  similarity_score: number;
  image_url: string;
}

describe.skipIf(!HAVE_MODEL)("a folder of photos as the catalogue", () => {
  const cleanup = new AsyncDisposableStack();
  let folder: string;
  let service: ServiceProcess;

  beforeAll(async () => {
    folder = cleanup.use(await tempDir("fip-e2e-folder-photos-")).path;
    await writePhotoFolder(photos, folder);
    // Not photos of products: never listed.
    await writeFile(join(folder, "README.txt"), "not a photo");
    await writeFile(join(folder, "cover.jpg"), makePhoto(1));
    const dataDir = cleanup.use(await tempDir("fip-e2e-folder-data-")).path;
    // PUBLIC_URL must name the port before the service starts, so this one test picks a port itself.
    const port = freePort();
    service = cleanup.use(
      await startService({
        DATA_DIR: dataDir,
        CATALOG_DIR: folder,
        PORT: String(port),
        PUBLIC_URL: `http://127.0.0.1:${port}`,
      }),
    );
  }, 120_000);

  afterAll(() => cleanup.disposeAsync(), 60_000);

  test("generate-all embeds every photo in the folder, page by page", async () => {
    const task = await runTask(service, "POST", "/embeddings/generate-all");
    expect(task).toMatchObject({
      status: "succeeded",
      progress: { total: 120, done: 120, failed: 0 },
      errors: [],
      message: "walked the catalogue from page 1 to page 2",
    });
    expect(await storedIds(service)).toEqual(ascending(photos.ids));
  });

  test("GET /products/{id}/image serves the photo from the folder; an unknown id is a 404 JSON error", async () => {
    for (const id of photos.ids.slice(0, 5)) {
      const response = await fetch(`${service.url}/products/${id}/image`);
      expect(response.status).toBe(200);
      expect(response.headers.get("Content-Type")).toBe("image/jpeg");
      expect(new Uint8Array(await response.arrayBuffer())).toEqual(new Uint8Array(await photos.bytes(id)));
    }
    const missing = await service.json("/products/999999/image");
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("PRODUCT_NOT_FOUND");
  });

  test("similar-products answers with image_url pointing at the service's own photos, and they resolve", async () => {
    const id = photos.ids[7]!;
    const answer = await service.json<{ similar_products: Similar[] }>(`/similar-products/${id}?top_n=5`);
    expect(answer.status).toBe(200);
    const similar = answer.body.similar_products;
    expect(similar).toHaveLength(5);
    expect(similar[0]!.similarity_score).toBe(1);
    expect(similar.filter((s) => s.similarity_score === 1).map((s) => s.id)).toContain(id);
    for (const s of similar) {
      expect(s.image_url).toBe(`${service.url}/products/${s.id}/image`);
      const response = await fetch(s.image_url);
      expect(response.status).toBe(200);
      expect(new Uint8Array(await response.arrayBuffer())).toEqual(new Uint8Array(await photos.bytes(s.id)));
    }

    const upload = await service.json<{ similar_products: Similar[] }>("/similar-products/upload?top_n=3", {
      method: "POST",
      body: uploadForm(await photos.bytes(id)),
    });
    expect(upload.body.similar_products[0]!.similarity_score).toBe(1);
    expect(upload.body.similar_products.map((s) => s.id)).toContain(id);
  });

  test("a photo dropped into the folder later can be embedded without a restart; an id with no photo is PRODUCT_NOT_FOUND", async () => {
    const newId = 9_000_001;
    await writeFile(join(folder, `${newId}.jpg`), makePhoto(newId, { width: 120, height: 160 }));
    const created = await runTask(service, "POST", `/embeddings/product/${newId}`);
    expect(created).toMatchObject({ status: "succeeded", progress: { done: 1, failed: 0 } });
    expect((await service.json(`/embeddings/check/${newId}`)).body.has_embedding).toBe(true);

    const gone = await runTask(service, "POST", "/embeddings/product/9000002");
    expect(gone).toMatchObject({ status: "failed", errors: [{ product_id: 9_000_002, code: "PRODUCT_NOT_FOUND" }] });
  });
});

describe.skipIf(!HAVE_MODEL)("a folder catalogue without PUBLIC_URL", () => {
  test("image_url defaults to http://localhost:<PORT>", async () => {
    await using folder = await tempDir("fip-e2e-folder-photos-");
    await writePhotoFolder(photos, folder.path, photos.ids.slice(0, 3));
    await using dataDir = await tempDir("fip-e2e-folder-data-");
    const port = freePort();
    await using service = await startService({ DATA_DIR: dataDir.path, CATALOG_DIR: folder.path, PORT: String(port) });
    const id = photos.ids[0]!;
    expect(await runTask(service, "POST", `/embeddings/product/${id}`)).toMatchObject({ status: "succeeded" });
    const similar = (await service.json(`/similar-products/${id}`)).body.similar_products;
    expect(similar).toEqual([{ id, similarity_score: 1, image_url: `http://localhost:${port}/products/${id}/image` }]);
  });

  // With PORT=0 the OS picks the port; image_url must name it, not port 0.
  test("with PORT=0, image_url names the port the service actually listens on", async () => {
    await using folder = await tempDir("fip-e2e-folder-photos-");
    await writePhotoFolder(photos, folder.path, photos.ids.slice(0, 3));
    await using dataDir = await tempDir("fip-e2e-folder-data-");
    await using service = await startService({ DATA_DIR: dataDir.path, CATALOG_DIR: folder.path });
    const id = photos.ids[0]!;
    expect(await runTask(service, "POST", `/embeddings/product/${id}`)).toMatchObject({ status: "succeeded" });
    const similar = (await service.json(`/similar-products/${id}`)).body.similar_products;
    expect(similar[0].image_url).toBe(`http://localhost:${service.port}/products/${id}/image`);
  });
});
