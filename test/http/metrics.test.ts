// GET /metrics read the way Prometheus reads it (a text-format parser), after real work through the real app: an
// ingest, a search, a product the catalogue does not have. And the request log: one JSON line per request, carrying
// the request id the client sent (or a fresh one), echoed on every answer.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import parsePrometheusTextFormat, { type PrometheusFamily, type PrometheusSample } from "parse-prometheus-text-format";
import {
  type AppUnderTest,
  call,
  createUnreadyApp,
  runTask,
  type SamplePhoto,
  samplePhotos,
  startAppUnderTest,
} from "../helpers/app-under-test.ts";
import { MODEL_PATH, requireModel } from "../helpers/environment.ts";

requireModel("HTTP tests of /metrics and the request log (test/http/metrics.test.ts)");

const PHOTO_COUNT = 4;
const MISSING_PRODUCT = 987654;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

async function scrapeText(app: AppUnderTest["app"]): Promise<string> {
  const response = await call(app, "/metrics");
  expect({ status: response.status, contentType: response.headers.get("Content-Type") }).toEqual({
    status: 200,
    contentType: "text/plain; version=0.0.4; charset=utf-8",
  });
  return response.text();
}

async function scrape(app: AppUnderTest["app"]): Promise<PrometheusFamily[]> {
  return parsePrometheusTextFormat(await scrapeText(app));
}

/**
 * One labelled series of a histogram, read from the sample lines: the parser (1.1.1) merges a histogram's labelled
 * series into one and drops their labels, so it can only prove the family parses as a histogram.
 */
function histogramSeries(text: string, name: string, labels: Record<string, string>) {
  const samples = text
    .split("\n")
    .map((line) => /^(\w+)\{(.*)\} (\S+)$/.exec(line))
    .filter((match) => match !== null)
    .map(([, sampleName, labelText, value]) => ({
      sampleName: sampleName!,
      labels: Object.fromEntries([...labelText!.matchAll(/(\w+)="([^"]*)"/g)].map(([, key, v]) => [key!, v!])),
      value: Number(value),
    }))
    .filter((sample) => Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
  const one = (suffix: string) => samples.find((sample) => sample.sampleName === `${name}_${suffix}`)?.value;
  const buckets = Object.fromEntries(
    samples.filter((sample) => sample.sampleName === `${name}_bucket`).map((sample) => [sample.labels.le!, sample.value]),
  );
  return { buckets, count: one("count"), sum: one("sum") };
}

function family(families: PrometheusFamily[], name: string, type: PrometheusFamily["type"]): PrometheusSample[] {
  const found = families.find((candidate) => candidate.name === name);
  expect({ name, type: found?.type }).toEqual({ name, type });
  return found!.metrics;
}

/** The one sample whose labels include `labels`. */
function sample(samples: PrometheusSample[], labels: Record<string, string>): PrometheusSample {
  const matching = samples.filter((s) => Object.entries(labels).every(([key, value]) => s.labels?.[key] === value));
  expect({ labels, matching: matching.length }).toEqual({ labels, matching: 1 });
  return matching[0]!;
}

describe.skipIf(!MODEL_PATH)("GET /metrics after an ingest, a search and a failed product", () => {
  let subject: AppUnderTest;
  let photos: SamplePhoto[];
  let families: PrometheusFamily[];
  let text: string;

  beforeAll(async () => {
    photos = await samplePhotos(PHOTO_COUNT);
    subject = await startAppUnderTest({
      catalogFiles: Object.fromEntries(photos.map((photo) => [`${photo.id}.jpg`, photo.bytes])),
    });
    const ingest = await runTask(subject.app, "/embeddings/generate-batch", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ product_ids: photos.map((photo) => photo.id) }),
    });
    expect(ingest.status).toBe("succeeded");
    expect((await call(subject.app, `/similar-products/${photos[0]!.id}?top_n=2`)).status).toBe(200);
    const failed = await runTask(subject.app, `/embeddings/product/${MISSING_PRODUCT}`);
    expect(failed.status).toBe("failed");
    expect((await call(subject.app, "/no/such/path/42")).status).toBe(404);
    text = await scrapeText(subject.app);
    families = parsePrometheusTextFormat(text);
  });

  afterAll(() => subject?.close());

  test("counts HTTP requests by route template and status, never by raw path", () => {
    const requests = family(families, "fip_http_requests_total", "COUNTER");
    const similar = sample(requests, { method: "GET", route: "/similar-products/{product_id}", status: "200" });
    expect(Number(similar.value)).toBe(1);
    expect(Number(sample(requests, { method: "POST", route: "/embeddings/generate-batch", status: "202" }).value)).toBe(1);
    expect(Number(sample(requests, { route: "unmatched", status: "404" }).value)).toBe(1);
    const routes = new Set(requests.map((s) => s.labels!.route!));
    expect([...routes].filter((route) => /\d/.test(route))).toEqual([]);
  });

  test("a latency histogram per route, in seconds, with buckets", () => {
    expect(family(families, "fip_http_request_duration_seconds", "HISTOGRAM")[0]!.buckets).toBeDefined();
    const similar = histogramSeries(text, "fip_http_request_duration_seconds", {
      method: "GET",
      route: "/similar-products/{product_id}",
    });
    expect(Object.keys(similar.buckets).length).toBeGreaterThan(5);
    expect(similar.buckets["+Inf"]).toBe(1);
    expect(similar.count).toBe(1);
    expect(similar.sum).toBeGreaterThan(0);
    expect(similar.sum).toBeLessThan(60);
  });

  test("finished tasks by kind and status, and the unfinished ones as a gauge", () => {
    const finished = family(families, "fip_tasks_finished_total", "COUNTER");
    expect(Number(sample(finished, { kind: "embed_products", status: "succeeded" }).value)).toBe(1);
    expect(Number(sample(finished, { kind: "embed_product", status: "failed" }).value)).toBe(1);
    const pending = family(families, "fip_tasks_pending", "GAUGE");
    expect(pending.map((s) => s.value)).toEqual(pending.map(() => "0"));
  });

  test("queue depths of the catalogue requests, the decoder and the model", () => {
    const depths = family(families, "fip_queue_depth", "GAUGE");
    expect(Object.fromEntries(depths.map((s) => [s.labels!.queue, Number(s.value)]))).toEqual({
      catalog_requests: 0,
      decode: 0,
      model: 0,
    });
  });

  test("model batch sizes and inference time", () => {
    const batches = family(families, "fip_model_batch_size", "HISTOGRAM")[0]!;
    // Every photo embedded went through one batch: the ingest's photos (the search used a stored vector).
    expect(Number(batches.sum)).toBe(PHOTO_COUNT);
    expect(Number(batches.count)).toBeGreaterThan(0);
    const inference = family(families, "fip_model_inference_seconds", "HISTOGRAM")[0]!;
    expect(Number(inference.count)).toBe(Number(batches.count));
    expect(Number(inference.sum)).toBeGreaterThan(0);
  });

  test("the index size is the store's count, and searches are timed", async () => {
    const size = family(families, "fip_index_embeddings", "GAUGE")[0]!;
    expect(Number(size.value)).toBe(await subject.services.store.count());
    expect(await subject.services.store.count()).toBe(PHOTO_COUNT);
    const searches = family(families, "fip_search_duration_seconds", "HISTOGRAM")[0]!;
    expect(Number(searches.count)).toBe(1);
    expect(searches.buckets!["+Inf"]).toBe("1");
  });

  test("catalogue errors by code", () => {
    const errors = family(families, "fip_catalog_errors_total", "COUNTER");
    expect(Number(sample(errors, { code: "PRODUCT_NOT_FOUND" }).value)).toBe(1);
  });

  test("process memory", () => {
    expect(Number(family(families, "process_resident_memory_bytes", "GAUGE")[0]!.value)).toBeGreaterThan(10_000_000);
    expect(Number(family(families, "nodejs_heap_size_used_bytes", "GAUGE")[0]!.value)).toBeGreaterThan(0);
  });

  test("the gauges follow live state: the index size after a delete", async () => {
    const task = await runTask(subject.app, `/embeddings/product/${photos[1]!.id}`, { method: "DELETE" });
    expect(task.status).toBe("succeeded");
    const size = family(await scrape(subject.app), "fip_index_embeddings", "GAUGE")[0]!;
    expect(Number(size.value)).toBe(PHOTO_COUNT - 1);
  });
});

describe.skipIf(!MODEL_PATH)("the request log and X-Request-Id", () => {
  let subject: AppUnderTest;

  beforeAll(async () => {
    subject = await startAppUnderTest();
  });

  afterAll(() => subject?.close());

  const linesFor = (requestId: string) =>
    subject.logLines().map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.request_id === requestId);

  test("a client's X-Request-Id is echoed, and the one log line of the request carries it", async () => {
    const requestId = "shop-web/req:7f3a.42";
    const response = await call(subject.app, "/embeddings/count", { headers: { "X-Request-Id": requestId } });
    expect({ status: response.status, echoed: response.headers.get("X-Request-Id") }).toEqual({
      status: 200,
      echoed: requestId,
    });
    expect(linesFor(requestId)).toEqual([
      {
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        level: "info",
        msg: "GET /embeddings/count 200",
        request_id: requestId,
        method: "GET",
        path: "/embeddings/count",
        route: "/embeddings/count",
        status: 200,
        duration_ms: expect.any(Number),
      },
    ]);
  });

  test("the log line has the real path and the route template; errors are logged and echoed too", async () => {
    const cases = [
      { path: "/similar-products/424242", route: "/similar-products/{product_id}", status: 404 },
      { path: "/similar-products/abc", route: "/similar-products/{product_id}", status: 400 },
      { path: "/nothing/here", route: "unmatched", status: 404 },
    ];
    for (const [i, { path, route, status }] of cases.entries()) {
      const requestId = `case-${i}`;
      const response = await call(subject.app, path, { headers: { "X-Request-Id": requestId } });
      expect({ status: response.status, echoed: response.headers.get("X-Request-Id") }).toEqual({
        status,
        echoed: requestId,
      });
      const lines = linesFor(requestId);
      expect(lines.map(({ path, route, status }) => ({ path, route, status }))).toEqual([{ path, route, status }]);
    }
  });

  test.each([
    ["longer than 128 characters", "x".repeat(129)],
    ["not printable ASCII", "café-42"],
    ["empty", ""],
  ])("an X-Request-Id %s is replaced by a fresh UUID", async (_why, sent) => {
    const response = await call(subject.app, "/health", { headers: { "X-Request-Id": sent } });
    const echoed = response.headers.get("X-Request-Id")!;
    expect(echoed).toMatch(UUID);
    expect(linesFor(echoed)).toHaveLength(1);
  });

  test("without X-Request-Id every answer gets its own UUID", async () => {
    const [first, second] = await Promise.all([call(subject.app, "/health"), call(subject.app, "/health")]);
    const ids = [first!.headers.get("X-Request-Id"), second!.headers.get("X-Request-Id")];
    expect(ids.filter((id) => UUID.test(id ?? ""))).toHaveLength(2);
    expect(ids[0]).not.toBe(ids[1]);
  });
});

describe("each app has its own metrics", () => {
  test("two apps in one process do not share counters, and /metrics answers while loading", async () => {
    const [first, second] = [createUnreadyApp(), createUnreadyApp()];
    await call(first, "/health");
    await call(first, "/health");
    const requests = (families: PrometheusFamily[]) =>
      families
        .find((candidate) => candidate.name === "fip_http_requests_total")
        ?.metrics.find((s) => s.labels?.route === "/health")?.value;
    const firstFamilies = await scrape(first);
    expect(firstFamilies.some((candidate) => candidate.name === "process_resident_memory_bytes")).toBe(true);
    expect(requests(firstFamilies)).toBe("2");
    expect(requests(await scrape(second))).toBeUndefined();
  });
});
