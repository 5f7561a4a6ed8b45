// End to end: SIGTERM while products are being embedded. The port stays open through the grace period (new work is
// refused 503 SHUTTING_DOWN, /health answers 200, each with Connection: close); tasks take no new products and the
// service stops as soon as those in flight are done, or cuts them off when the grace period (SHUTDOWN_GRACE_MS) is
// over; it saves, exits 0, and the next start finds a consistent index.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { requireModel, tempDir, waitFor } from "../helpers/environment.ts";
import { idleKeepAliveConnection, rawRequest } from "../helpers/raw-http.ts";
import { type ServiceProcess, startService } from "../helpers/service-process.ts";
import { acceptedTaskId, catalogPhotos, startCatalogOf, storedIds } from "./e2e-fixtures.ts";

const HAVE_MODEL = requireModel("e2e graceful shutdown");

// bunfig's `timeout` is not read by this bun; every test here talks to a real process running a real model.
setDefaultTimeout(180_000);

/** Saving and releasing the model after the grace period; generous for a busy 2-core machine. */
const SLACK_MS = 15_000;

const photos = catalogPhotos(120);

/** Every stored product is one the catalogue has, and finds itself with a perfect score. */
async function expectConsistent(service: ServiceProcess): Promise<number[]> {
  const stored = await storedIds(service);
  expect(photos.ids).toEqual(expect.arrayContaining(stored));
  for (const id of stored) {
    const answer = await service.json(`/similar-products/${id}?top_n=3`);
    expect(answer.status).toBe(200);
    const similar: { id: number; similarity_score: number }[] = answer.body.similar_products;
    expect(similar[0]!.similarity_score).toBe(1);
    expect(similar.filter((s) => s.similarity_score === 1).map((s) => s.id)).toContain(id);
  }
  return stored;
}

async function embedAll(service: ServiceProcess): Promise<string> {
  return acceptedTaskId(
    await service.json("/embeddings/generate-batch", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ product_ids: photos.ids }),
    }),
  );
}

async function untilStopping(service: ServiceProcess): Promise<void> {
  await waitFor(() => (service.logs().includes("SIGTERM: finishing running tasks") ? true : undefined), {
    timeoutMs: 10_000,
    what: `the service to log that it is stopping${service.logs()}`,
  });
}

describe.skipIf(!HAVE_MODEL)("SIGTERM while products are being embedded", () => {
  test("the port stays open and refuses new work while in-flight products finish; then it stops, long before the grace period", async () => {
    const GRACE_MS = 60_000;
    await using catalog = startCatalogOf(photos);
    await using dir = await tempDir("fip-e2e-sigterm-");
    const env = { DATA_DIR: dir.path, CATALOG_API_URL: catalog.url, SHUTDOWN_GRACE_MS: String(GRACE_MS) };
    await using service = await startService(env);
    const idle = await idleKeepAliveConnection(service.port);

    let release!: () => void;
    catalog.faults = { hold: new Promise<void>((resolve) => (release = resolve)) };
    await embedAll(service);
    await waitFor(() => (catalog.inFlight > 0 ? true : undefined), { timeoutMs: 30_000, what: "catalogue requests in flight" });

    const stopping = service.stop("SIGTERM", GRACE_MS + SLACK_MS);
    await untilStopping(service);

    // A new connection during the grace period: refused with the envelope, and told the connection ends.
    const late = await rawRequest(service.port, {
      head: `POST /embeddings/product/${photos.ids[0]} HTTP/1.1\r\nHost: localhost`,
    });
    expect({ status: late.status, connection: late.headers.connection, body: JSON.parse(late.body) }).toEqual({
      status: 503,
      connection: "close",
      body: { error: { code: "SHUTTING_DOWN", message: "the service is shutting down" } },
    });
    const health = await rawRequest(service.port, { head: "GET /health HTTP/1.1\r\nHost: localhost" });
    expect([health.status, health.headers.connection, JSON.parse(health.body)]).toEqual([200, "close", { status: "ok" }]);

    const released = performance.now();
    release();
    expect(await stopping).toBe(0);
    const afterRelease = performance.now() - released;
    expect(service.logs()).toContain("stopped cleanly");
    // The products in flight were finished and no others were taken: far less than the grace period.
    expect(afterRelease).toBeLessThan(GRACE_MS / 2);
    // The idle keep-alive connection was closed, not reset.
    expect(await idle.closed).toBe("end");

    catalog.faults = {};
    await using restarted = await startService(env);
    const stored = await expectConsistent(restarted);
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.length).toBeLessThan(photos.ids.length);
  });

  test("products still in flight when the grace period ends are cut off there; exit 0, the index consistent", async () => {
    const GRACE_MS = 3_000;
    await using catalog = startCatalogOf(photos);
    await using dir = await tempDir("fip-e2e-sigterm-slow-");
    const env = { DATA_DIR: dir.path, CATALOG_API_URL: catalog.url, SHUTDOWN_GRACE_MS: String(GRACE_MS) };
    await using service = await startService(env);
    const taskId = await embedAll(service);
    await waitFor(
      async () => ((await service.json(`/tasks/${taskId}`)).body.progress.done >= 5 ? true : undefined),
      { timeoutMs: 60_000, what: `5 products stored${service.logs()}` },
    );
    // From now on every catalogue answer takes a minute: what is in flight cannot finish within the grace period.
    catalog.faults = { delayMs: 60_000 };
    // A product must be waiting on the catalogue when SIGTERM comes: on a quiet machine every product in flight may
    // already be past its download, and those finish well inside the grace period.
    const requestsBefore = catalog.requests.length;
    await waitFor(() => (catalog.requests.length > requestsBefore ? true : undefined), {
      what: "a catalogue request held by the delay",
    });
    const doneBeforeSigterm = (await storedIds(service, { settled: false })).length;

    const started = performance.now();
    const code = await service.stop("SIGTERM", GRACE_MS + SLACK_MS);
    const ms = performance.now() - started;
    expect(code).toBe(0);
    expect(service.logs()).toContain("stopped cleanly");
    expect(ms).toBeGreaterThanOrEqual(GRACE_MS - 500);
    expect(ms).toBeLessThan(GRACE_MS + SLACK_MS);

    catalog.faults = {};
    await using restarted = await startService(env);
    const stored = await expectConsistent(restarted);
    expect(stored.length).toBeGreaterThanOrEqual(doneBeforeSigterm);
    expect(stored.length).toBeLessThan(photos.ids.length);
    expect(restarted.logs()).toContain(`${stored.length} embeddings in ${dir.path}`);
  });
});
