// End to end: a search-only replica (VECTOR_STORE_READ_ONLY=true) beside a replica on the primary, both service
// processes on one PostgreSQL (PGlite + pgvector on 127.0.0.1). On a database nobody has migrated it creates nothing
// and answers /ready 503 saying why, then becomes ready by itself once the primary's replica has migrated; on a
// database that refuses every write, as a standby does, it answers the primary's searches and refuses every write.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { requireModel, tempDir, waitFor } from "../helpers/environment.ts";
import { type PgliteServer, startPgliteServer } from "../helpers/pglite-server.ts";
import { type JsonAnswer, type ServiceProcess, startService } from "../helpers/service-process.ts";
import { ascending, catalogPhotos, runTask, postgresReplicaEnv, storedIds, uploadForm, writePhotoFolder } from "./e2e-fixtures.ts";

const HAVE_MODEL = requireModel("e2e search-only replica on PostgreSQL");
setDefaultTimeout(180_000);

const photos = catalogPhotos(12);

/** Every write route, with the request a client would send. */
const WRITES: [method: string, path: string, body?: unknown][] = [
  ["POST", `/embeddings/product/${photos.ids[0]}`],
  ["PUT", `/embeddings/product/${photos.ids[0]}`],
  ["DELETE", `/embeddings/product/${photos.ids[1]}`],
  ["POST", "/embeddings/generate-batch", { product_ids: photos.ids.slice(0, 2) }],
  ["POST", "/embeddings/generate", [photos.ids[2]]],
  ["POST", "/embeddings/generate-all"],
];

describe.skipIf(!HAVE_MODEL)("a search-only replica beside a replica on the primary", () => {
  const cleanup = new AsyncDisposableStack();
  let database: PgliteServer;
  let searchOnly: ServiceProcess;
  let primary: ServiceProcess;
  let folder: string;
  let dataDir: string;

  const start = async (env: Record<string, string>, waitUntilReady = true) =>
    cleanup.use(
      await startService({ ...postgresReplicaEnv(database.url, dataDir, folder), ...env }, { readyTimeoutMs: 120_000, waitUntilReady }),
    );

  beforeAll(async () => {
    database = cleanup.use(await startPgliteServer());
    folder = cleanup.use(await tempDir("fip-e2e-read-replica-photos-")).path;
    dataDir = cleanup.use(await tempDir("fip-e2e-read-replica-data-")).path;
    await writePhotoFolder(photos, folder);
    searchOnly = await start({ VECTOR_STORE_READ_ONLY: "true" }, false);
  }, 300_000);

  afterAll(() => cleanup.disposeAsync(), 60_000);

  const tables = async () =>
    (await database.db.query<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).rows.map(
      (row) => row.name,
    );

  test("on a database nobody has migrated: creates nothing, /ready 503 says why, ready by itself once the primary migrates", async () => {
    const waiting = await waitFor(
      async () => {
        const answer = await searchOnly.json("/ready");
        return answer.status === 503 && /no fashion-image-processor schema yet/.test(answer.body.error?.message) ? answer : undefined;
      },
      { timeoutMs: 60_000, what: "/ready 503 saying the schema is missing" },
    );
    expect(waiting.headers.get("Retry-After")).toBe("5");
    expect(waiting.body.error.code).toBe("NOT_READY");
    expect(waiting.body.error.message).toMatch(
      /^this replica serves searches only \(VECTOR_STORE_READ_ONLY\) and is waiting: the database at .* has no fashion-image-processor schema yet: start a replica on the primary first/,
    );
    expect(await tables()).toEqual([]);

    primary = await start({});
    expect(await tables()).toEqual(["fip_embeddings", "fip_index", "fip_reembed", "fip_schema_migrations"]);
    const ready = await waitFor(
      async () => {
        const answer = await searchOnly.json("/ready");
        return answer.status === 200 ? answer : undefined;
      },
      { timeoutMs: 60_000, what: "the search-only replica ready without a restart" },
    );
    expect(ready.body).toMatchObject({ status: "ready", embeddings: 0, read_only: true });
    expect((await primary.json("/ready")).body).toMatchObject({ status: "ready", read_only: false });
  });

  test("on a database that refuses writes, as a standby does: the primary's answers, and every write refused", async () => {
    const ingest = await runTask(primary, "POST", "/embeddings/generate-batch", { product_ids: photos.ids });
    expect(ingest).toMatchObject({ status: "succeeded", progress: { done: photos.ids.length, failed: 0 } });
    // PGlite is one session for every connection: from now on the whole database refuses writes, like a standby.
    await database.db.exec("SET default_transaction_read_only = on");

    expect(await storedIds(searchOnly)).toEqual(ascending(photos.ids));
    expect((await searchOnly.json(`/embeddings/check/${photos.ids[4]}`)).body).toEqual({ product_id: photos.ids[4], has_embedding: true });
    // The same neighbours and scores (image_url names each replica's own address in folder mode).
    const ranked = (answer: JsonAnswer) => answer.body.similar_products.map(({ id, similarity_score }: any) => ({ id, similarity_score }));
    for (const id of photos.ids.slice(0, 3)) {
      const search = (replica: ServiceProcess) => replica.json(`/similar-products/${id}?top_n=5`);
      const [fromPrimary, fromSearchOnly] = await Promise.all([search(primary), search(searchOnly)]);
      expect(fromSearchOnly.status).toBe(200);
      expect(ranked(fromSearchOnly)).toEqual(ranked(fromPrimary));
    }
    const upload = async (replica: ServiceProcess) =>
      replica.json("/similar-products/upload?top_n=3", { method: "POST", body: uploadForm(await photos.bytes(photos.ids[5]!)) });
    const [uploadedToPrimary, uploadedToSearchOnly] = await Promise.all([upload(primary), upload(searchOnly)]);
    expect(ranked(uploadedToSearchOnly)).toEqual(ranked(uploadedToPrimary));
    expect(ranked(uploadedToSearchOnly)[0]).toEqual({ id: photos.ids[5], similarity_score: 1 });

    for (const [method, path, body] of WRITES) {
      const answer = await searchOnly.json(path, {
        method,
        ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "Content-Type": "application/json" } }),
      });
      expect({ request: `${method} ${path}`, status: answer.status, allow: answer.headers.get("Allow"), code: answer.body.error?.code }).toEqual({
        request: `${method} ${path}`,
        status: 405,
        allow: "OPTIONS",
        code: "READ_ONLY_REPLICA",
      });
    }
    expect((await searchOnly.json("/tasks")).body).toMatchObject({ tasks: [], total: 0 });
    expect(await storedIds(searchOnly)).toEqual(ascending(photos.ids));
    const rows = await database.db.query<{ rows: number }>("SELECT count(*)::int AS rows FROM fip_embeddings");
    expect(rows.rows[0]!.rows).toBe(photos.ids.length);
    expect((await searchOnly.json("/ready")).status).toBe(200);
  });
});
