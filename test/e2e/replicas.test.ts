// End to end: two service processes sharing one index in PostgreSQL (PGlite + pgvector served on 127.0.0.1 over the
// wire protocol): what one writes the other searches, writes through both never lose or duplicate a product, one
// replica killed mid-ingest leaves the other serving, and a database that disappears mid-ingest gives per-product
// errors and a service that recovers by itself.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { requireModel, tempDir, waitFor } from "../helpers/environment.ts";
import { type PgliteServer, startPgliteServer } from "../helpers/pglite-server.ts";
import { type ServiceProcess, startService } from "../helpers/service-process.ts";
import { acceptedTaskId, ascending, catalogPhotos, postgresReplicaEnv, runTask, storedIds, writePhotoFolder } from "./e2e-fixtures.ts";

const HAVE_MODEL = requireModel("e2e replicas on PostgreSQL");
setDefaultTimeout(180_000);

const photos = catalogPhotos(40);
const [first20, last20] = [photos.ids.slice(0, 20), photos.ids.slice(20)];

describe.skipIf(!HAVE_MODEL)("two replicas on one PostgreSQL index", () => {
  const cleanup = new AsyncDisposableStack();
  let database: PgliteServer;
  let a: ServiceProcess;
  let b: ServiceProcess;
  let folder: string;
  /** Shared by both replicas, as on one host with the default ./data: with the index in PostgreSQL it holds none of it. */
  let dataDir: string;

  const startReplica = async () =>
    cleanup.use(
      await startService(postgresReplicaEnv(database.url, dataDir, folder), { readyTimeoutMs: 120_000 }),
    );

  beforeAll(async () => {
    database = cleanup.use(await startPgliteServer());
    folder = cleanup.use(await tempDir("fip-e2e-replica-photos-")).path;
    dataDir = cleanup.use(await tempDir("fip-e2e-replica-data-")).path;
    await writePhotoFolder(photos, folder);
    [a, b] = await Promise.all([startReplica(), startReplica()]);
  }, 300_000);

  afterAll(() => cleanup.disposeAsync(), 60_000);

  test("ingested through one replica, searched through the other; a task is answered only by its replica", async () => {
    const answer = await a.json("/embeddings/generate-batch", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ product_ids: first20 }),
    });
    const taskId = acceptedTaskId(answer);
    expect(await a.waitForTask(taskId)).toMatchObject({ status: "succeeded", progress: { total: 20, done: 20, failed: 0 } });

    expect(await storedIds(b)).toEqual(ascending(first20));
    expect((await b.json(`/embeddings/check/${first20[3]}`)).body).toEqual({ product_id: first20[3], has_embedding: true });
    const [fromA, fromB] = await Promise.all([a.json(`/similar-products/${first20[0]}?top_n=5`), b.json(`/similar-products/${first20[0]}?top_n=5`)]);
    expect(fromB.status).toBe(200);
    // The same neighbours and scores (image_url names each replica's own address in folder mode).
    const ranked = (answer: typeof fromA) => answer.body.similar_products.map(({ id, similarity_score }: any) => ({ id, similarity_score }));
    expect(ranked(fromB)).toEqual(ranked(fromA));
    expect(ranked(fromB)[0]).toEqual({ id: first20[0], similarity_score: 1 });
    expect((await b.json("/ready")).body).toMatchObject({ status: "ready", embeddings: 20 });

    const elsewhere = await b.json(`/tasks/${taskId}`);
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.body.error.code).toBe("TASK_NOT_FOUND");
    expect(elsewhere.body.error.message).toContain("tasks live in the memory of the replica that made them");
  });

  test("PUT and DELETE storms through both replicas: each product ends as its last request left it, once", async () => {
    // Per product, requests one after another (each accepted before the next is sent), alternating replicas; the
    // products' sequences run concurrently. The last request's ticket is the newest, whichever task finishes last.
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const last = new Map<number, "PUT" | "DELETE">();
    const tasks: { replica: ServiceProcess; taskId: string }[] = [];
    await Promise.all(
      last20.map(async (id, n) => {
        for (let request = 0; request < 5; request++) {
          const replica = (n + request) % 2 === 0 ? a : b;
          const method = random() < 0.6 ? "PUT" : "DELETE";
          last.set(id, method);
          tasks.push({ replica, taskId: acceptedTaskId(await replica.json(`/embeddings/product/${id}`, { method })) });
        }
      }),
    );
    for (const { replica, taskId } of tasks) expect((await replica.waitForTask(taskId)).status).toBe("succeeded");

    const expected = ascending([...first20, ...[...last].filter(([, method]) => method === "PUT").map(([id]) => id)]);
    expect(await storedIds(a)).toEqual(expected);
    expect(await storedIds(b)).toEqual(expected);
    const rows = await database.db.query<{ rows: number; distinct_ids: number }>(
      "SELECT count(*)::int AS rows, count(DISTINCT product_id)::int AS distinct_ids FROM fip_embeddings",
    );
    expect(rows.rows[0]!.rows).toBe(rows.rows[0]!.distinct_ids);
  });

  /** Starts embedding every photo through `replica` and returns the task once its first product is stored. */
  async function ingestUntilFirstStored(replica: ServiceProcess, what: string): Promise<string> {
    const taskId = acceptedTaskId(
      await replica.json("/embeddings/generate-batch", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ product_ids: photos.ids }),
      }),
    );
    await waitFor(async () => ((await replica.json(`/tasks/${taskId}`)).body.progress.done > 0 ? true : undefined), { timeoutMs: 120_000, what });
    return taskId;
  }

  test("a replica killed mid-ingest: the other keeps serving and finishes the work", async () => {
    const taskId = await ingestUntilFirstStored(a, "the first product stored by replica a");
    await a.kill();

    expect((await b.json("/ready")).status).toBe(200);
    expect((await b.json(`/similar-products/${first20[1]}?top_n=3`)).body.similar_products[0]).toMatchObject({ id: first20[1], similarity_score: 1 });
    const task = await runTask(b, "POST", "/embeddings/generate-batch", { product_ids: photos.ids });
    expect(task).toMatchObject({ status: "succeeded", progress: { total: 40, done: 40, failed: 0 } });
    expect(await storedIds(b)).toEqual(ascending(photos.ids));
  });

  test("the database disappears mid-ingest: per-product errors, /ready 503, and recovery without a restart", async () => {
    const taskId = await ingestUntilFirstStored(b, "the first product stored");
    await database.stopListening();
    const notReady = await b.json("/ready");
    expect(notReady.status).toBe(503);
    expect(notReady.body.error.code).toBe("STORE_UNAVAILABLE");
    expect(notReady.headers.get("Retry-After")).toBe("5");
    expect((await b.json("/embeddings/count")).body.error.code).toBe("STORE_UNAVAILABLE");

    const interrupted = await b.waitForTask(taskId);
    expect(interrupted.progress.failed).toBeGreaterThan(0);
    expect(interrupted.progress.done + interrupted.progress.failed).toBe(40);
    expect(new Set(interrupted.errors.map((error) => error.code))).toEqual(new Set(["STORE_UNAVAILABLE"]));

    await database.listen(); // the same port, the same data
    await waitFor(async () => ((await b.json("/ready")).status === 200 ? true : undefined), { timeoutMs: 30_000, what: "/ready 200 again" });
    const failed = interrupted.errors.map((error) => error.product_id!);
    const retried = await runTask(b, "POST", "/embeddings/generate-batch", { product_ids: failed });
    expect(retried).toMatchObject({ status: "succeeded", progress: { done: failed.length, failed: 0 } });
    expect(await storedIds(b)).toEqual(ascending(photos.ids));
  });
});
