// The PostgreSQL store against a real PostgreSQL (PGlite with pgvector, over the wire protocol on 127.0.0.1): the
// index contract the embedded store keeps, its pipeline checks, the order of changes across two replicas, the same
// scores as the embedded store, and a database that goes away and comes back.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { similarityScore } from "../../src/similarity/similarity.ts";
import { EmbeddedIndex } from "../../src/store/embedded-index.ts";
import { describeUrl, PostgresStore } from "../../src/store/postgres/postgres-store.ts";
import { StoreError } from "../../src/store/store-error.ts";
import { tempDir, waitFor } from "../helpers/environment.ts";
import { describeIndexContract } from "../helpers/index-contract.ts";
import { type PgliteServer, startPgliteServer } from "../helpers/pglite-server.ts";
import { distinct, DIMENSIONS, PIPELINE, unit } from "../helpers/store-vectors.ts";

let server: PgliteServer;
beforeAll(async () => {
  server = await startPgliteServer();
}, 120_000);
afterAll(() => server.close());

/** Drops the index's tables, as if the database were new. */
async function emptyDatabase(): Promise<void> {
  await server.db.exec("DROP TABLE IF EXISTS fip_embeddings, fip_index, fip_reembed, fip_schema_migrations");
}

/** A ticket from `replica` later than `previous`: two replicas' clocks can give the same microsecond (a tie, where the
 * change applied last wins), which these tests do not want. */
function ticketAfter(replica: PostgresStore, previous: number): number {
  for (;;) {
    const ticket = replica.takeSequence();
    if (ticket > previous) return ticket;
  }
}

const openStore = async (options: { dimensions?: number; pipeline?: string; exactBelow?: number } = {}) =>
  (await PostgresStore.open({ url: server.url, dimensions: DIMENSIONS, pipeline: PIPELINE, poolSize: 4, ...options })).store;

for (const [name, exactBelow] of [
  ["PostgreSQL, small tables scanned exactly", undefined],
  ["PostgreSQL, every search through the HNSW graph", 0],
] as const) {
  describeIndexContract(name, {
    async fresh() {
      await emptyDatabase();
      return { place: server.url, [Symbol.asyncDispose]: async () => {} };
    },
    open: (_url, options) => openStore({ ...options, exactBelow }),
    settle: async () => {},
  });
}

describe("PostgresStore", () => {
  test("two replicas starting at once migrate the schema once, and share one index", async () => {
    await emptyDatabase();
    const [first, second] = await Promise.all([openStore(), openStore()]);
    try {
      const versions = await server.db.query<{ version: number }>("SELECT version FROM fip_schema_migrations");
      expect(versions.rows).toEqual([{ version: 1 }]);
      await first.put(1, unit(1));
      expect(await second.vectorOf(1)).toEqual(unit(1));
      expect(await second.count()).toBe(1);
      const indexes = await server.db.query<{ indexdef: string }>("SELECT indexdef FROM pg_indexes WHERE tablename = 'fip_embeddings'");
      expect(indexes.rows.map((row) => row.indexdef).join("\n")).toContain(`hnsw (((embedding)::halfvec(${DIMENSIONS})) halfvec_l2_ops)`);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  test("the order rule holds across replicas: the change requested last wins, whichever replica applies it first", async () => {
    await emptyDatabase();
    const [a, b] = await Promise.all([openStore(), openStore()]);
    try {
      const early = a.takeSequence();
      const late = ticketAfter(b, early);
      expect(await b.delete(5, late)).toEqual({ applied: true, existed: false });
      // The older put arrives after the newer delete: the tombstone's ticket keeps the product deleted.
      expect(await a.put(5, unit(1), early)).toEqual({ applied: false });
      expect(await a.has(5)).toBe(false);
      expect(await a.count()).toBe(0);
      expect(await a.listIds(0, 10)).toEqual({ ids: [], total: 0 });

      // A storm from both replicas, each change with its own ticket, applied in a shuffled order: every product ends
      // as its last-requested change left it, and none has two rows.
      let ticket = late;
      const changes = Array.from({ length: 240 }, (_, i) => {
        const replica = i % 2 === 0 ? a : b;
        ticket = ticketAfter(replica, ticket);
        return { replica, id: 100 + (i % 20), kind: i % 7 === 3 ? "delete" : "put", ticket, vector: distinct(i + 1) };
      });
      const shuffled = changes.toSorted((x, y) => Math.sin(x.ticket) - Math.sin(y.ticket));
      await Promise.all(
        shuffled.map((change) =>
          change.kind === "put" ? change.replica.put(change.id, change.vector, change.ticket) : change.replica.delete(change.id, change.ticket),
        ),
      );
      const last = new Map<number, (typeof changes)[number]>();
      for (const change of changes) last.set(change.id, change);
      for (const [id, change] of last) {
        expect(await b.vectorOf(id)).toEqual(change.kind === "put" ? change.vector : undefined);
      }
      const expectedIds = [...last].filter(([, change]) => change.kind === "put").map(([id]) => id).sort((x, y) => x - y);
      expect(await a.listIds(0, 100)).toEqual({ ids: expectedIds, total: expectedIds.length });
      const rows = await server.db.query<{ n: number }>("SELECT count(*)::int AS n FROM fip_embeddings WHERE product_id >= 100");
      expect(rows.rows[0]!.n).toBe(20);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test("a replica starting removes tombstones older than a day, and keeps the recent ones", async () => {
    await emptyDatabase();
    const store = await openStore();
    for (const id of [1, 2, 3]) await store.put(id, unit(id));
    await store.delete(1);
    await store.delete(2);
    await store.close();
    await server.db.exec("UPDATE fip_embeddings SET updated_at = now() - interval '25 hours' WHERE product_id = 1");
    const restarted = await openStore();
    const rows = await server.db.query<{ id: number; live: boolean }>("SELECT product_id::int AS id, embedding IS NOT NULL AS live FROM fip_embeddings ORDER BY 1");
    expect(rows.rows).toEqual([{ id: 2, live: false }, { id: 3, live: true }]);
    await restarted.close();
  });

  test("scores are the embedded store's for the same vectors; through the HNSW graph, every score is exact", async () => {
    await emptyDatabase();
    const dimensions = 464;
    await using dir = await tempDir();
    const embedded = await EmbeddedIndex.open({ dataDir: dir.path, dimensions, pipeline: PIPELINE, sealWhenIdleMs: 0 });
    const exact = await openStore({ dimensions });
    const viaGraph = await openStore({ dimensions, exactBelow: 0 });
    try {
      const vectors = Array.from({ length: 300 }, (_, i) => distinct(i + 1, dimensions));
      await Promise.all(vectors.map((vector, i) => Promise.all([embedded.put(i + 1, vector), exact.put(i + 1, vector)])));
      let found = 0;
      for (const seed of [7, 1000, 2000, 3000]) {
        const query = distinct(seed, dimensions);
        const [mine, theirs, graph] = await Promise.all([exact.nearest(query, 10), embedded.nearest(query, 10), viaGraph.nearest(query, 10)]);
        expect(mine.map((n) => n.id)).toEqual(theirs.map((n) => n.id));
        mine.forEach((neighbour, i) => {
          expect(neighbour.distance).toBeCloseTo(theirs[i]!.distance, 6);
          expect(Math.abs(similarityScore(neighbour.distance) - similarityScore(theirs[i]!.distance))).toBeLessThanOrEqual(1e-6);
        });
        // The graph may miss a neighbour (it is approximate), but what it finds is scored from the float32 vector.
        const exactDistance = new Map(mine.map((n) => [n.id, n.distance]));
        for (const neighbour of graph) {
          const stored = vectors[neighbour.id - 1]!;
          expect(neighbour.distance).toBeCloseTo(stored.reduce((sum, v, k) => sum + (v - query[k]!) ** 2, 0), 6);
          if (exactDistance.has(neighbour.id)) found++;
        }
      }
      expect(found / 40).toBeGreaterThanOrEqual(0.8);
      // A product's own vector scores exactly 1: the float32 vector is stored, not its half-precision copy.
      expect(await viaGraph.nearest((await viaGraph.vectorOf(42))!, 1)).toEqual([{ id: 42, distance: 0 }]);
    } finally {
      await Promise.all([embedded.close(), exact.close(), viaGraph.close()]);
    }
  });

  test("another pipeline: its products are recorded to embed again and the table starts empty, as in DATA_DIR", async () => {
    await emptyDatabase();
    const old = await openStore();
    for (let id = 1; id <= 5; id++) await old.put(id, distinct(id));
    await old.delete(3);
    const { store: current, migration } = await PostgresStore.open({ url: server.url, dimensions: 4, pipeline: "test-pipeline/v2" });
    try {
      expect(migration).toMatchObject({ from: PIPELINE, productIds: [1, 2, 4, 5] });
      expect(await current.count()).toBe(0);
      // A replica still running the old build has its writes refused, never mixed in.
      await expect(old.put(6, distinct(6))).rejects.toThrow(StoreError);
      await expect(old.put(6, distinct(6))).rejects.toThrow(/another pipeline/);
      // A replica starting meanwhile is told the same products; once they are embedded again, nobody is.
      const { store: another, migration: seen } = await PostgresStore.open({ url: server.url, dimensions: 4, pipeline: "test-pipeline/v2" });
      expect(seen?.productIds).toEqual([1, 2, 4, 5]);
      await migration!.finish();
      await another.close();
      const { store: later, migration: none } = await PostgresStore.open({ url: server.url, dimensions: 4, pipeline: "test-pipeline/v2" });
      expect(none).toBeNull();
      await later.close();
    } finally {
      await Promise.all([old.close(), current.close()]);
    }
  });

  test("read-only opens: none without an index, refused for another pipeline", async () => {
    await emptyDatabase();
    expect(await PostgresStore.openReadOnly({ url: server.url })).toBeNull();
    const store = await openStore();
    await store.put(1, unit(1));
    const reader = (await PostgresStore.openReadOnly({ url: server.url }))!;
    expect([reader.pipeline, reader.dimensions, await reader.count()]).toEqual([PIPELINE, DIMENSIONS, 1]);
    await expect(reader.put(2, unit(2))).rejects.toThrow(/read-only/);
    await reader.close();
    await expect(PostgresStore.openReadOnly({ url: server.url }, { pipeline: "test-pipeline/v9", dimensions: DIMENSIONS })).rejects.toThrow(
      /holds an index of test-pipeline\/v1 \(8-d\), not one of test-pipeline\/v9/,
    );
    await store.close();
  });

  test("a search-only open writes nothing and waits, saying why, until the database holds this build's schema and pipeline", async () => {
    await emptyDatabase();
    await server.stopListening();
    const reasons: string[] = [];
    const waitingFor = (pattern: RegExp) =>
      waitFor(() => (pattern.test(reasons.at(-1) ?? "") ? true : undefined), { timeoutMs: 20_000, what: `a reason matching ${pattern}` });
    const opening = PostgresStore.openForSearches(
      // Every search through the HNSW graph, as on a large table.
      { url: server.url, dimensions: DIMENSIONS, pipeline: PIPELINE, exactBelow: 0, warn: () => {} },
      (reason) => reasons.push(reason),
    );
    await waitingFor(/^this replica serves searches only \(VECTOR_STORE_READ_ONLY\) and is waiting: the vector index .* is unavailable/);
    await server.listen();
    await waitingFor(/has no fashion-image-processor schema yet: start a replica on the primary first/);
    const tables = async () => (await server.db.query<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'")).rows;
    expect(await tables()).toEqual([]);

    // A replica of another build on the primary made the index; then a newer schema than this build knows.
    await (await openStore({ dimensions: 4, pipeline: "test-pipeline/v2" })).close();
    await waitingFor(/holds an index of test-pipeline\/v2 \(4-d\), not one of test-pipeline\/v1 \(8-d\)/);
    await server.db.exec("INSERT INTO fip_schema_migrations (version) VALUES (99)");
    await waitingFor(/holds schema version 99, newer than this build knows \(1\): upgrade this replica/);
    await server.db.exec("DELETE FROM fip_schema_migrations WHERE version = 99");

    const primary = await openStore();
    await primary.put(1, unit(1));
    await primary.put(2, unit(2));
    const reader = await opening;
    try {
      // A standby refuses every write: PGlite is one session for every connection, so this makes the whole database one.
      await server.db.exec("SET default_transaction_read_only = on");
      expect([reader.pipeline, await reader.count(), await reader.listIds(0, 10)]).toEqual([PIPELINE, 2, { ids: [1, 2], total: 2 }]);
      // k past 20 sets hnsw.ef_search in a transaction, which a standby allows.
      expect((await reader.nearest(unit(1), 25)).map((neighbour) => neighbour.id)).toEqual([1, 2]);
      await expect(reader.put(3, unit(3))).rejects.toThrow(/read-only/);
    } finally {
      await server.db.exec("SET default_transaction_read_only = off");
      await Promise.all([reader.close(), primary.close()]);
    }
  });

  test("a database that goes away: STORE_UNAVAILABLE (503) while it is gone, and the same store works when it is back", async () => {
    await emptyDatabase();
    const store = await openStore();
    try {
      await store.put(1, unit(1));
      await server.stopListening();
      for (const attempt of [() => store.count(), () => store.put(2, unit(2)), () => store.nearest(unit(1), 1)]) {
        await expect(attempt()).rejects.toMatchObject({ code: "STORE_UNAVAILABLE", status: 503, headers: { "Retry-After": "5" } });
      }
      await server.listen();
      expect(await store.put(2, unit(2))).toEqual({ applied: true });
      expect(await store.listIds(0, 10)).toEqual({ ids: [1, 2], total: 2 });
    } finally {
      await store.close();
    }
  });

  test("the password in VECTOR_STORE_URL never reaches an error message", async () => {
    const url = "postgres://fip:s3cret-password@127.0.0.1:1/shop";
    const reader = PostgresStore.openReadOnly({ url, timeoutMs: 1000 });
    await expect(reader).rejects.toMatchObject({ code: "STORE_UNAVAILABLE" });
    const message = await reader.catch((error: Error) => error.message);
    expect(message).toContain("127.0.0.1:1/shop");
    expect(message).not.toContain("s3cret");
    expect(describeUrl("postgres://fip:s3cret-password@standby1:5432,standby2:5433/shop?target_session_attrs=prefer-standby")).toBe(
      "standby1:5432,standby2:5433/shop",
    );
  });
});
