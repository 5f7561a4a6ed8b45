// GET /embeddings/duplicates through app.request() against the real model: a catalogue folder where one photo is
// stored under two product ids (as shops do), embedded, then grouped from the index.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type AppUnderTest, call, runTask, samplePhotos, startAppUnderTest } from "../helpers/app-under-test.ts";
import { MODEL_PATH, requireModel } from "../helpers/environment.ts";

requireModel("HTTP tests of GET /embeddings/duplicates (test/http/duplicates.test.ts)");

const COPY_ID = 900_001;

describe.skipIf(!MODEL_PATH)("GET /embeddings/duplicates", () => {
  let subject: AppUnderTest;
  let copied: number;

  beforeAll(async () => {
    const photos = await samplePhotos(4);
    copied = photos[1]!.id;
    subject = await startAppUnderTest({
      catalogFiles: {
        ...Object.fromEntries(photos.map((photo) => [`${photo.id}.jpg`, photo.bytes])),
        [`${COPY_ID}.jpg`]: photos[1]!.bytes,
      },
    });
    expect((await runTask(subject.app, "/embeddings/generate-all")).status).toBe("succeeded");
  });

  afterAll(() => subject?.close());

  test("groups the products that hold the same photo, with their lowest score, from the index", async () => {
    const response = await call(subject.app, "/embeddings/duplicates");
    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 200,
      body: {
        groups: [{ product_ids: [copied, COPY_ID], size: 2, lowest_score: 1 }],
        total: 1,
        products_in_groups: 2,
        min_score: 0.98,
        limit: 100,
        offset: 0,
        products_scanned: 5,
        computed_at: expect.any(String),
      },
    });
  });

  test("pages through the groups", async () => {
    const response = await call(subject.app, "/embeddings/duplicates?min_score=0.999&limit=1&offset=1");
    expect(await response.json()).toMatchObject({ groups: [], total: 1, min_score: 0.999, limit: 1, offset: 1 });
  });
});
