// End to end: the real service against a real catalogue that misbehaves: a missing product, 500s that pass, 500s
// that do not, a truncated photo, a slow answer, a bearer token that is right or wrong. Failures land on the task,
// never on the HTTP answer, which is always 202.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { CatalogServer } from "../helpers/catalog-server.ts";
import { requireModel, tempDir } from "../helpers/environment.ts";
import { type ServiceProcess, startService } from "../helpers/service-process.ts";
import { acceptedTaskId, ascending, catalogPhotos, runTask, startCatalogOf, storedIds } from "./e2e-fixtures.ts";

const HAVE_MODEL = requireModel("e2e catalogue faults");

// bunfig's `timeout` is not read by this bun; every test here talks to a real process running a real model.
setDefaultTimeout(120_000);

const photos = catalogPhotos(24);
const ids = photos.ids;

describe.skipIf(!HAVE_MODEL)("a catalogue with faults", () => {
  const cleanup = new AsyncDisposableStack();
  let catalog: CatalogServer;
  let service: ServiceProcess;
  const expected = new Set<number>();

  beforeAll(async () => {
    catalog = cleanup.use(startCatalogOf(photos, { perPage: 10 }));
    const dataDir = cleanup.use(await tempDir("fip-e2e-faults-")).path;
    service = cleanup.use(await startService({ DATA_DIR: dataDir, CATALOG_API_URL: catalog.url }));
  }, 120_000);

  afterAll(() => cleanup.disposeAsync(), 60_000);

  test("generate-batch: a missing product and a truncated photo are recorded, 500s are retried, the rest is stored", async () => {
    const [missing, flaky, truncated, down, ...fine] = ids.slice(0, 8) as [number, number, number, number, ...number[]];
    catalog.faults = {
      notFound: new Set([missing]),
      serverError: new Map([
        [flaky, 2],
        [down, 100],
      ]),
      brokenBytes: new Set([truncated]),
    };
    try {
      const task = await runTask(service, "POST", "/embeddings/generate-batch", {
        product_ids: [missing, flaky, truncated, down, ...fine],
      });
      expect(task).toMatchObject({
        kind: "embed_products",
        status: "succeeded",
        product_ids: [missing, flaky, truncated, down, ...fine],
        progress: { total: 8, done: 5, failed: 3 },
      });
      const errors = [...task.errors].sort((a, b) => a.product_id! - b.product_id!);
      expect(errors.map(({ product_id, code }) => ({ product_id, code }))).toEqual([
        { product_id: missing, code: "PRODUCT_NOT_FOUND" },
        { product_id: truncated, code: "INVALID_IMAGE" },
        { product_id: down, code: "CATALOG_UNAVAILABLE" },
      ]);
      expect(errors[0]!.message).toContain(String(missing));
      expect(errors[1]!.message).toContain("truncated");
      // CATALOG_RETRIES defaults to 3: four attempts in all.
      expect(errors[2]!.message).toContain("failed 4 times, last: HTTP 500");
      expect(catalog.hits(`/api/products/${down}`)).toBe(4);
      // A 404 is an answer, not a fault: asked once. The flaky one: two 500s, then its record.
      expect(catalog.hits(`/api/products/${missing}`)).toBe(1);
      expect(catalog.hits(`/api/products/${flaky}`)).toBe(3);

      for (const id of [flaky, ...fine]) expected.add(id);
      expect(await storedIds(service)).toEqual(ascending(expected));
    } finally {
      catalog.faults = {};
    }
  });

  test("a single product the catalogue does not know: the task fails with PRODUCT_NOT_FOUND", async () => {
    const unknown = 987_654;
    const task = await runTask(service, "POST", `/embeddings/product/${unknown}`);
    expect(task).toMatchObject({
      status: "failed",
      product_id: unknown,
      progress: { total: 1, done: 0, failed: 1 },
      errors: [{ product_id: unknown, code: "PRODUCT_NOT_FOUND", message: `product ${unknown} not found in catalogue` }],
    });
    expect((await service.json(`/embeddings/check/${unknown}`)).body.has_embedding).toBe(false);
  });

  test("a slow catalogue still completes", async () => {
    const slow = ids.slice(8, 14);
    catalog.faults = { delayMs: 400 };
    try {
      const started = performance.now();
      const task = await runTask(service, "POST", "/embeddings/generate-batch", { product_ids: slow });
      // Every answer (record, then photo) took at least the delay.
      expect(performance.now() - started).toBeGreaterThanOrEqual(800);
      expect(task).toMatchObject({ status: "succeeded", progress: { total: 6, done: 6, failed: 0 }, errors: [] });
    } finally {
      catalog.faults = {};
    }
    for (const id of slow) expected.add(id);
    expect(await storedIds(service)).toEqual(ascending(expected));
  });

  test("a catalogue slower than CATALOG_TIMEOUT_MS: the task fails with a timeout recorded", async () => {
    await using dir = await tempDir("fip-e2e-timeout-");
    await using impatient = await startService({
      DATA_DIR: dir.path,
      CATALOG_API_URL: catalog.url,
      CATALOG_TIMEOUT_MS: "200",
      CATALOG_RETRIES: "1",
    });
    catalog.faults = { delayMs: 1_000 };
    try {
      const task = await runTask(impatient, "POST", `/embeddings/product/${ids[14]}`);
      expect(task).toMatchObject({ status: "failed", errors: [{ product_id: ids[14], code: "CATALOG_UNAVAILABLE" }] });
      expect(task.errors[0]!.message).toContain("timed out after 200 ms");
    } finally {
      catalog.faults = {};
    }
    expect(await storedIds(impatient)).toEqual([]);
  });
});

describe.skipIf(!HAVE_MODEL)("a catalogue that wants a bearer token", () => {
  const token = "e2e-secret-token";

  test("with the right CATALOG_API_TOKEN, products are fetched and every request carries the token", async () => {
    await using catalog = startCatalogOf(photos, { token, perPage: 10 });
    await using dir = await tempDir("fip-e2e-token-");
    await using service = await startService({ DATA_DIR: dir.path, CATALOG_API_URL: catalog.url, CATALOG_API_TOKEN: token });

    const single = await runTask(service, "POST", `/embeddings/product/${ids[0]}`);
    expect(single).toMatchObject({ status: "succeeded", progress: { done: 1, failed: 0 } });
    const all = await runTask(service, "POST", "/embeddings/generate-all");
    expect(all).toMatchObject({ status: "succeeded", progress: { total: 24, done: 24, failed: 0 } });
    expect(await storedIds(service)).toEqual(ascending(ids));

    expect(catalog.requests.length).toBeGreaterThan(0);
    expect(catalog.requests.filter((r) => r.authorization !== `Bearer ${token}`)).toEqual([]);
  });

  test("with a wrong token the HTTP API still answers 202 and the task fails with the catalogue's 401 recorded", async () => {
    await using catalog = startCatalogOf(photos, { token, perPage: 10 });
    await using dir = await tempDir("fip-e2e-token-");
    await using service = await startService({
      DATA_DIR: dir.path,
      CATALOG_API_URL: catalog.url,
      CATALOG_API_TOKEN: "not-the-token",
    });

    const answer = await service.json(`/embeddings/product/${ids[0]}`, { method: "POST" });
    expect(answer.status).toBe(202);
    const single = await service.waitForTask(acceptedTaskId(answer));
    expect(single).toMatchObject({
      status: "failed",
      progress: { total: 1, done: 0, failed: 1 },
      errors: [{ product_id: ids[0], code: "CATALOG_UNAVAILABLE" }],
    });
    expect(single.errors[0]!.message).toContain("401");
    // A refusal is not retried.
    expect(catalog.hits(`/api/products/${ids[0]}`)).toBe(1);

    const all = await runTask(service, "POST", "/embeddings/generate-all");
    expect(all).toMatchObject({ kind: "embed_catalog", status: "failed", errors: [{ product_id: null, code: "CATALOG_UNAVAILABLE" }] });
    expect(all.errors[0]!.message).toContain("401");
    expect(all.errors[0]!.message).toBe("the catalogue answered 401 for page 1 of the product list");

    const batch = await runTask(service, "POST", "/embeddings/generate-batch", { product_ids: ids.slice(0, 3) });
    expect(batch).toMatchObject({ status: "failed", progress: { total: 3, done: 0, failed: 3 } });
    expect(batch.errors.map((e) => e.code)).toEqual(["CATALOG_UNAVAILABLE", "CATALOG_UNAVAILABLE", "CATALOG_UNAVAILABLE"]);

    expect(await storedIds(service)).toEqual([]);
    expect((await service.json("/ready")).status).toBe(200);
  });

  test("without any token the catalogue's 401 is recorded the same way", async () => {
    await using catalog = startCatalogOf(photos, { token, perPage: 10 });
    await using dir = await tempDir("fip-e2e-token-");
    await using service = await startService({ DATA_DIR: dir.path, CATALOG_API_URL: catalog.url });
    const task = await runTask(service, "POST", `/embeddings/product/${ids[1]}`);
    expect(task).toMatchObject({ status: "failed", errors: [{ code: "CATALOG_UNAVAILABLE" }] });
    expect(task.errors[0]!.message).toContain("401");
    expect(catalog.requests.every((r) => r.authorization === null)).toBe(true);
  });
});
