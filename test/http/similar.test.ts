// Similar-product search through app.request() with the real model: by a stored product and by an uploaded photo,
// the search options, image_url templates, and every way an upload is refused (413, 415, 422).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createCanvas } from "@napi-rs/canvas";
import { type App, createApp } from "../../src/app.ts";
import {
  type AppUnderTest,
  call,
  expectErrorEnvelope,
  imageForm,
  pngHeaderClaiming,
  runTask,
  type SamplePhoto,
  samplePhotos,
  startAppUnderTest,
} from "../helpers/app-under-test.ts";
import { makePhoto } from "../helpers/catalog-server.ts";
import { MODEL_PATH, requireModel } from "../helpers/environment.ts";
import { truncatedWithEndMarker } from "../helpers/images.ts";

requireModel("HTTP tests of similar-product search (test/http/similar.test.ts)");

interface SimilarProduct {
  id: number;
  similarity_score: number;
  image_url: string;
}

const PHOTO_COUNT = 8;
const folderImageUrl = (id: number) => `http://localhost:8000/products/${id}/image`;

/**
 * Scores best first, each in [0, 1]. Since pipeline v3 the vector holds a centred projection, so two unrelated
 * products (a watch and a shirt) can have a cosine at or below 0, shown as 0.
 */
function expectRanked(results: SimilarProduct[]): void {
  const scores = results.map((result) => result.similarity_score);
  expect(scores).toEqual([...scores].sort((a, b) => b - a));
  expect(scores.filter((score) => !(score >= 0 && score <= 1))).toEqual([]);
}

/** A PNG with a transparent background and half-transparent shapes. */
function transparentPng(): Uint8Array {
  const canvas = createCanvas(120, 90);
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, 120, 90);
  context.fillStyle = "rgba(200, 30, 60, 0.5)";
  context.fillRect(10, 10, 60, 50);
  context.fillStyle = "rgba(20, 90, 200, 0.8)";
  context.beginPath();
  context.arc(80, 50, 30, 0, 2 * Math.PI);
  context.fill();
  return new Uint8Array(canvas.toBuffer("image/png"));
}

function webpPhoto(): Uint8Array {
  const canvas = createCanvas(100, 140);
  const context = canvas.getContext("2d");
  context.fillStyle = "#f4f1ea";
  context.fillRect(0, 0, 100, 140);
  context.fillStyle = "#2b3a67";
  context.fillRect(25, 20, 50, 100);
  return new Uint8Array(canvas.toBuffer("image/webp"));
}

/** A PNG of noise: does not compress, so it is well over 50 kB. */
function noisyPng(size = 200): Uint8Array {
  const canvas = createCanvas(size, size);
  const context = canvas.getContext("2d");
  const image = context.createImageData(size, size);
  let x = 2463534242;
  for (let i = 0; i < image.data.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    image.data[i] = i % 4 === 3 ? 255 : x & 255;
  }
  context.putImageData(image, 0, 0);
  return new Uint8Array(canvas.toBuffer("image/png"));
}

const catalogFiles = (photos: SamplePhoto[]) => Object.fromEntries(photos.map((photo) => [`${photo.id}.jpg`, photo.bytes]));

describe.skipIf(!MODEL_PATH)("similar-product search", () => {
  let subject: AppUnderTest;
  let app: App;
  let photos: SamplePhoto[];
  let ids: number[];

  beforeAll(async () => {
    photos = await samplePhotos(PHOTO_COUNT);
    ids = photos.map((photo) => photo.id);
    subject = await startAppUnderTest({ catalogFiles: catalogFiles(photos) });
    app = subject.app;
    const task = await runTask(app, "/embeddings/generate-batch", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ product_ids: ids }),
    });
    expect({ status: task.status, progress: task.progress }).toEqual({
      status: "succeeded",
      progress: { total: PHOTO_COUNT, done: PHOTO_COUNT, failed: 0 },
    });
  });

  afterAll(() => subject?.close());

  async function similar(path: string, init?: RequestInit): Promise<SimilarProduct[]> {
    const response = await call(app, path, init);
    const body = (await response.json()) as { similar_products: SimilarProduct[] };
    expect({ status: response.status, keys: Object.keys(body) }).toEqual({ status: 200, keys: ["similar_products"] });
    return body.similar_products;
  }

  const uploadOf = (bytes: Uint8Array | string, name = "photo.jpg", type = "image/jpeg"): RequestInit => ({
    method: "POST",
    body: imageForm(bytes, name, type),
  });

  describe("GET /similar-products/{id}", () => {
    test("404 EMBEDDING_NOT_FOUND for a product without an embedding", async () => {
      const response = await call(app, "/similar-products/424242");
      expect(await expectErrorEnvelope(response, 404, "EMBEDDING_NOT_FOUND")).toEqual({
        code: "EMBEDDING_NOT_FOUND",
        message: "product 424242 has no embedding; create it with POST /embeddings/product/424242",
      });
    });

    test("answers best first, the product itself first with score 1, each with its image_url", async () => {
      for (const id of ids) {
        const results = await similar(`/similar-products/${id}?top_n=${PHOTO_COUNT}`);
        expect(results[0]).toEqual({ id, similarity_score: 1, image_url: folderImageUrl(id) });
        expect(results.map((result) => result.id).sort()).toEqual([...ids].sort());
        expect(results.filter((result) => result.image_url !== folderImageUrl(result.id))).toEqual([]);
        expectRanked(results);
        // Only the product itself is identical.
        expect(results.slice(1).filter((result) => result.similarity_score >= 0.999)).toEqual([]);
      }
    });

    test("top_n caps the answer (5 by default) and keeps the best", async () => {
      const id = ids[0]!;
      const all = await similar(`/similar-products/${id}?top_n=1000`);
      expect(all).toHaveLength(PHOTO_COUNT);
      expect(await similar(`/similar-products/${id}`)).toEqual(all.slice(0, 5));
      expect(await similar(`/similar-products/${id}?top_n=3`)).toEqual(all.slice(0, 3));
      expect(await similar(`/similar-products/${id}?top_n=1`)).toEqual(all.slice(0, 1));
    });

    test("exclude_self=true (or 1, yes, True) leaves the product out and still answers top_n others", async () => {
      const id = ids[1]!;
      const all = await similar(`/similar-products/${id}?top_n=${PHOTO_COUNT}`);
      expect(await similar(`/similar-products/${id}?top_n=3&exclude_self=true`)).toEqual(all.slice(1, 4));
      expect(await similar(`/similar-products/${id}?top_n=3&exclude_self=1`)).toEqual(all.slice(1, 4));
      expect(await similar(`/similar-products/${id}?top_n=${PHOTO_COUNT}&exclude_self=true`)).toEqual(all.slice(1));
      expect(await similar(`/similar-products/${id}?top_n=3&exclude_self=false`)).toEqual(all.slice(0, 3));
      expect(await similar(`/similar-products/${id}?top_n=3&exclude_self=0`)).toEqual(all.slice(0, 3));
      // What people type and other languages' clients send (Python's str(True) is "True").
      for (const yes of ["True", "TRUE", "yes", "Yes"]) {
        expect(await similar(`/similar-products/${id}?top_n=3&exclude_self=${yes}`)).toEqual(all.slice(1, 4));
      }
      for (const no of ["False", "no", "NO"]) {
        expect(await similar(`/similar-products/${id}?top_n=3&exclude_self=${no}`)).toEqual(all.slice(0, 3));
      }
    });

    test("score_threshold leaves out lower scores: 0 keeps all, 0.999 only the identical photo", async () => {
      const id = ids[2]!;
      const all = await similar(`/similar-products/${id}?top_n=${PHOTO_COUNT}`);
      const base = `/similar-products/${id}?top_n=${PHOTO_COUNT}`;
      expect(await similar(`${base}&score_threshold=0`)).toEqual(all);
      expect(await similar(`${base}&score_threshold=0.999`)).toEqual([all[0]!]);
      expect(await similar(`${base}&score_threshold=1`)).toEqual([all[0]!]);
      const middle = all[3]!.similarity_score;
      expect(await similar(`${base}&score_threshold=${middle}`)).toEqual(all.filter((r) => r.similarity_score >= middle));
      expect(await similar(`${base}&score_threshold=0.999&exclude_self=true`)).toEqual([]);
    });
  });

  describe("POST /similar-products/upload", () => {
    test("a stored product's own photo finds that product first with score 1.0", async () => {
      const photo = photos[3]!;
      const byProduct = await similar(`/similar-products/${photo.id}`);
      const byUpload = await similar("/similar-products/upload", uploadOf(photo.bytes));
      expect(byUpload[0]).toEqual({ id: photo.id, similarity_score: 1, image_url: folderImageUrl(photo.id) });
      expect(byUpload.map((result) => result.id)).toEqual(byProduct.map((result) => result.id));
      byUpload.forEach((result, i) => expect(result.similarity_score).toBeCloseTo(byProduct[i]!.similarity_score, 5));
    });

    test("top_n and score_threshold apply to uploads too", async () => {
      const photo = photos[4]!;
      const all = await similar(`/similar-products/upload?top_n=${PHOTO_COUNT}`, uploadOf(photo.bytes));
      expect(all).toHaveLength(PHOTO_COUNT);
      expect(await similar("/similar-products/upload?top_n=2", uploadOf(photo.bytes))).toEqual(all.slice(0, 2));
      expect(await similar("/similar-products/upload?score_threshold=0.999", uploadOf(photo.bytes))).toEqual([all[0]!]);
    });

    test.each([
      ["a PNG with transparency", transparentPng, "shirt.png", "image/png"],
      ["a WebP", webpPhoto, "shirt.webp", "image/webp"],
      ["a JPEG with no file type given", () => makePhoto(4242, { width: 80, height: 120 }), "blob", ""],
    ])("%s works", async (_name, make, name, type) => {
      const results = await similar("/similar-products/upload", uploadOf(make(), name, type));
      expect(results).toHaveLength(5);
      expect(results.filter((result) => !ids.includes(result.id) || result.image_url !== folderImageUrl(result.id))).toEqual(
        [],
      );
      expectRanked(results);
    });

    test("a text file is 415 UNSUPPORTED_MEDIA_TYPE, whatever it claims to be", async () => {
      const response = await call(app, "/similar-products/upload", uploadOf("not a photo at all\n", "photo.jpg", "image/jpeg"));
      expect(await expectErrorEnvelope(response, 415, "UNSUPPORTED_MEDIA_TYPE")).toEqual({
        code: "UNSUPPORTED_MEDIA_TYPE",
        message: "unsupported image type: send a JPEG, PNG or WebP photo",
      });
    });

    test.each([
      ["JPEG", () => photos[0]!.bytes, "jpeg"],
      ["PNG", transparentPng, "png"],
      ["WebP", webpPhoto, "webp"],
    ])("the first half of a %s is 422 INVALID_IMAGE", async (_name, make, format) => {
      const bytes = make();
      const response = await call(app, "/similar-products/upload", uploadOf(bytes.slice(0, Math.floor(bytes.length / 2))));
      expect(await expectErrorEnvelope(response, 422, "INVALID_IMAGE")).toEqual({
        code: "INVALID_IMAGE",
        message: `not a decodable image: the ${format} file is truncated`,
      });
    });

    test("a JPEG cut at 60% with an end marker appended is 422 INVALID_IMAGE, not a half-blank photo", async () => {
      const response = await call(app, "/similar-products/upload", uploadOf(truncatedWithEndMarker(photos[0]!.bytes)));
      expect(await expectErrorEnvelope(response, 422, "INVALID_IMAGE")).toEqual({
        code: "INVALID_IMAGE",
        message: "not a decodable image: the jpeg file is truncated",
      });
    });

    test("a complete PNG with no pixel data is 422 INVALID_IMAGE", async () => {
      const response = await call(app, "/similar-products/upload", uploadOf(pngHeaderClaiming(10, 10), "x.png", "image/png"));
      const error = await expectErrorEnvelope(response, 422, "INVALID_IMAGE");
      expect(error.message).toStartWith("not a decodable image: png could not be decoded");
    });

    test("a PNG claiming 100000x100000 pixels is 422 IMAGE_TOO_LARGE, refused before decoding", async () => {
      const response = await call(
        app,
        "/similar-products/upload",
        uploadOf(pngHeaderClaiming(100_000, 100_000), "huge.png", "image/png"),
      );
      expect(await expectErrorEnvelope(response, 422, "IMAGE_TOO_LARGE")).toEqual({
        code: "IMAGE_TOO_LARGE",
        message: "image is 100000x100000 = 10000000000 pixels; the limit is 25000000 pixels",
        details: { width: 100_000, height: 100_000, maxPixels: 25_000_000 },
      });
    });

    describe("with a 50 kB upload limit", () => {
      let smallApp: App;
      const LIMIT = 50_000;
      const tooLarge = {
        code: "PAYLOAD_TOO_LARGE",
        message: `the upload is larger than the ${LIMIT}-byte limit`,
        details: { maxBytes: LIMIT },
      };

      beforeAll(() => {
        smallApp = createApp({
          services: subject.slot,
          maxUploadBytes: LIMIT,
          version: "test",
          metrics: subject.metrics,
          logger: subject.logger,
        });
      });

      test("a bigger upload is 413 PAYLOAD_TOO_LARGE naming the limit", async () => {
        const big = noisyPng();
        expect(big.length).toBeGreaterThan(LIMIT);
        const response = await call(smallApp, "/similar-products/upload", uploadOf(big, "big.png", "image/png"));
        expect(await expectErrorEnvelope(response, 413, "PAYLOAD_TOO_LARGE")).toEqual(tooLarge);
      });

      test("a bigger upload that announces its Content-Length is refused the same way", async () => {
        const request = new Request("http://localhost/", { method: "POST", body: imageForm(noisyPng(), "big.png", "image/png") });
        const body = new Uint8Array(await request.arrayBuffer());
        const response = await call(smallApp, "/similar-products/upload", {
          method: "POST",
          body,
          headers: { "Content-Type": request.headers.get("Content-Type")!, "Content-Length": String(body.length) },
        });
        expect(await expectErrorEnvelope(response, 413, "PAYLOAD_TOO_LARGE")).toEqual(tooLarge);
      });

      test("an upload under the limit is searched as usual", async () => {
        const photo = photos[5]!;
        expect(photo.bytes.length).toBeLessThan(LIMIT - 1000);
        const results = await (await call(smallApp, "/similar-products/upload", uploadOf(photo.bytes))).json();
        expect((results as { similar_products: SimilarProduct[] }).similar_products[0]).toEqual({
          id: photo.id,
          similarity_score: 1,
          image_url: folderImageUrl(photo.id),
        });
      });
    });
  });
});

describe.skipIf(!MODEL_PATH)("image_url in answers", () => {
  test.each([
    ["PORT", { PORT: "9123" }, (id: number) => `http://localhost:9123/products/${id}/image`],
    ["PUBLIC_URL", { PUBLIC_URL: "https://shop.example/fip/" }, (id: number) => `https://shop.example/fip/products/${id}/image`],
    [
      "IMAGE_URL_TEMPLATE (which wins over PUBLIC_URL)",
      { PUBLIC_URL: "https://shop.example", IMAGE_URL_TEMPLATE: "https://cdn.example/p/{id}/large.jpg?v={id}" },
      (id: number) => `https://cdn.example/p/${id}/large.jpg?v=${id}`,
    ],
  ])("follows %s", async (_name, env, expectedUrl) => {
    const photos = await samplePhotos(2);
    await using subject = await startAppUnderTest({ catalogFiles: catalogFiles(photos), env });
    const task = await runTask(subject.app, "/embeddings/generate-all");
    expect(task.progress).toEqual({ total: 2, done: 2, failed: 0 });
    const id = photos[0]!.id;

    const byProduct = await call(subject.app, `/similar-products/${id}`);
    const byUpload = await call(subject.app, "/similar-products/upload", { method: "POST", body: imageForm(photos[0]!.bytes) });
    for (const response of [byProduct, byUpload]) {
      const { similar_products } = (await response.json()) as { similar_products: SimilarProduct[] };
      expect(similar_products.map((result) => result.image_url).sort()).toEqual(photos.map((p) => expectedUrl(p.id)).sort());
    }
  });
});

describe.skipIf(!MODEL_PATH)("with MAX_IMAGE_PIXELS=1000", () => {
  test("a 64x48 photo is 422 IMAGE_TOO_LARGE on upload and fails its embedding task with the same code", async () => {
    const id = 77;
    const photo = makePhoto(id, { width: 64, height: 48 });
    await using subject = await startAppUnderTest({ catalogFiles: { [`${id}.jpg`]: photo }, env: { MAX_IMAGE_PIXELS: "1000" } });
    const tooLarge = {
      code: "IMAGE_TOO_LARGE",
      message: "image is 64x48 = 3072 pixels; the limit is 1000 pixels",
      details: { width: 64, height: 48, maxPixels: 1000 },
    } as const;

    const response = await call(subject.app, "/similar-products/upload", { method: "POST", body: imageForm(photo) });
    expect(await expectErrorEnvelope(response, 422, "IMAGE_TOO_LARGE")).toEqual(tooLarge);

    const task = await runTask(subject.app, `/embeddings/product/${id}`);
    expect({ status: task.status, errors: task.errors }).toEqual({
      status: "failed",
      errors: [{ product_id: id, code: tooLarge.code, message: tooLarge.message }],
    });
  });
});
