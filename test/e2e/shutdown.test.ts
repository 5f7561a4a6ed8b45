// End to end: SIGTERM while a catalogue-wide task runs. The service stops taking requests, lets the task finish
// within its grace period (20 s, SHUTDOWN_GRACE_MS in src/main.ts) or cuts it off there, saves, exits 0; the next
// start opens the index and finds a consistent set of embeddings.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { requireModel, tempDir, waitFor } from "../helpers/environment.ts";
import { type ServiceProcess, startService } from "../helpers/service-process.ts";
import { acceptedTaskId, ascending, catalogPhotos, startCatalogOf, storedIds } from "./e2e-fixtures.ts";

const HAVE_MODEL = requireModel("e2e graceful shutdown");

// bunfig's `timeout` is not read by this bun; every test here talks to a real process running a real model.
setDefaultTimeout(120_000);

const GRACE_MS = 20_000;
/** Saving and releasing the model after the grace period; generous for a busy 2-core machine. */
const SLACK_MS = 15_000;

const photos = catalogPhotos(300);

/** Starts generate-all and waits until at least `done` products are stored. */
async function generateAllUntil(service: ServiceProcess, done: number): Promise<string> {
  const taskId = acceptedTaskId(await service.json("/embeddings/generate-all", { method: "POST" }));
  await waitFor(
    async () => {
      const task = (await service.json(`/tasks/${taskId}`)).body;
      if (task.status !== "queued" && task.status !== "running") {
        throw new Error(`the task ended before the test could stop the service: ${JSON.stringify(task)}`);
      }
      return task.progress.done >= done ? true : undefined;
    },
    { timeoutMs: 60_000, what: `${done} products stored${service.logs()}` },
  );
  return taskId;
}

/** SIGTERM; resolves with the exit code and how long the process took to exit. */
async function terminate(service: ServiceProcess): Promise<{ code: number; ms: number }> {
  const started = performance.now();
  const code = await service.stop("SIGTERM", GRACE_MS + SLACK_MS);
  return { code, ms: performance.now() - started };
}

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

describe.skipIf(!HAVE_MODEL)("SIGTERM while generate-all runs", () => {
  test("the running task finishes within the grace period, the process exits 0, and a restart has it all", async () => {
    // 120 products in 3 pages: what is left after the signal fits in the grace period even on a busy machine.
    const smaller = catalogPhotos(120);
    await using catalog = startCatalogOf(smaller);
    await using dir = await tempDir("fip-e2e-sigterm-");
    const env = { DATA_DIR: dir.path, CATALOG_API_URL: catalog.url };
    await using service = await startService(env);
    await generateAllUntil(service, 20);

    const { code, ms } = await terminate(service);
    expect(code).toBe(0);
    expect(service.logs()).toContain("SIGTERM: finishing running tasks");
    expect(service.logs()).toContain("stopped cleanly");
    expect(ms).toBeLessThan(GRACE_MS + SLACK_MS);

    await using restarted = await startService(env);
    const stored = await expectConsistent(restarted);
    // Cut off only if the machine was too slow to embed the rest within the grace period.
    if (ms < GRACE_MS) expect(stored).toEqual(ascending(smaller.ids));
    else console.warn(`shutdown hit the grace period; ${stored.length}/120 stored`);
  });

  test("a task longer than the grace period is cut off there; exit 0, new requests refused, the index consistent", async () => {
    await using catalog = startCatalogOf(photos);
    await using dir = await tempDir("fip-e2e-sigterm-slow-");
    const env = { DATA_DIR: dir.path, CATALOG_API_URL: catalog.url };
    await using service = await startService(env);
    // Two answers of 500 ms per product, 8 requests at a time (CATALOG_CONCURRENCY): about 8 products a second,
    // so 300 take far longer than the grace period.
    catalog.faults = { delayMs: 500 };
    await generateAllUntil(service, 5);
    const doneBeforeSigterm = (await storedIds(service, { settled: false })).length;

    const stopping = terminate(service);
    await waitFor(() => (service.logs().includes("SIGTERM: finishing running tasks") ? true : undefined), {
      timeoutMs: 10_000,
      what: "the service to log that it is stopping",
    });
    // Refused while it winds down: 503 on a connection it still has open, or no connection at all.
    const late = await service.json(`/embeddings/product/${photos.ids[0]}`, { method: "POST" }).catch(() => null);
    if (late) {
      expect(late.status).toBe(503);
      expect(late.body.error.code).toBe("SHUTTING_DOWN");
    }

    const { code, ms } = await stopping;
    expect(code).toBe(0);
    expect(service.logs()).toContain("stopped cleanly");
    expect(ms).toBeGreaterThanOrEqual(GRACE_MS - 1_000);
    expect(ms).toBeLessThan(GRACE_MS + SLACK_MS);

    catalog.faults = {};
    await using restarted = await startService(env);
    const stored = await expectConsistent(restarted);
    expect(stored.length).toBeGreaterThanOrEqual(doneBeforeSigterm);
    expect(stored.length).toBeLessThan(300);
    expect(restarted.logs()).toContain(`${stored.length} embeddings in ${dir.path}`);
  });
});
