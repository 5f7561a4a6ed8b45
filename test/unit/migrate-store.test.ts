// `migrate-store`: an index copied from a DATA_DIR into PostgreSQL and back, every vector exactly as stored, none
// embedded again; a target holding another pipeline's index is refused.
import { afterAll, beforeAll, describe, expect, spyOn, test } from "bun:test";
import { runCli } from "../../src/cli/cli.ts";
import { EXIT_FAILURE, EXIT_OK } from "../../src/cli/command-line.ts";
import { EmbeddedIndex } from "../../src/store/embedded-index.ts";
import { PostgresStore } from "../../src/store/postgres/postgres-store.ts";
import type { VectorIndex } from "../../src/store/vector-index.ts";
import { tempDir } from "../helpers/environment.ts";
import { type PgliteServer, startPgliteServer } from "../helpers/pglite-server.ts";
import { distinct, DIMENSIONS, PIPELINE } from "../helpers/store-vectors.ts";

let server: PgliteServer;
beforeAll(async () => {
  server = await startPgliteServer();
}, 120_000);
afterAll(() => server.close());

async function contents(index: VectorIndex): Promise<Map<number, number[]>> {
  const { ids } = await index.listIds(0, 10_000);
  return new Map(await Promise.all(ids.map(async (id): Promise<[number, number[]]> => [id, [...(await index.vectorOf(id))!]])));
}

describe("migrate-store", () => {
  test("DATA_DIR -> PostgreSQL -> DATA_DIR gives back the same vectors, exactly", async () => {
    const quiet = [spyOn(console, "log").mockImplementation(() => {}), spyOn(console, "error").mockImplementation(() => {})];
    try {
      await using from = await tempDir();
      await using back = await tempDir();
      const original = await EmbeddedIndex.open({ dataDir: from.path, dimensions: DIMENSIONS, pipeline: PIPELINE });
      for (let id = 1; id <= 1200; id++) await original.put(id * 3, distinct(id));
      await original.delete(30);
      const expected = await contents(original);
      await original.close();
      expect(expected.size).toBe(1199);

      expect(await runCli(["migrate-store", "--from", from.path, "--to", server.url], {})).toBe(EXIT_OK);
      const inPostgres = (await PostgresStore.openReadOnly({ url: server.url }, { pipeline: PIPELINE, dimensions: DIMENSIONS }))!;
      expect(await contents(inPostgres)).toEqual(expected);
      expect(await inPostgres.nearest(distinct(7), 1)).toEqual([{ id: 21, distance: 0 }]);
      await inPostgres.close();

      expect(await runCli(["migrate-store", "--from", server.url, "--to", back.path], {})).toBe(EXIT_OK);
      const copy = await EmbeddedIndex.openReadOnly({ dataDir: back.path, dimensions: DIMENSIONS, pipeline: PIPELINE });
      expect(await contents(copy)).toEqual(expected);
      await copy.close();

      // A target holding another pipeline's index is left alone.
      await using other = await tempDir();
      const foreign = await EmbeddedIndex.open({ dataDir: other.path, dimensions: 4, pipeline: "another-pipeline/v2" });
      await foreign.put(1, Float32Array.of(1, 0, 0, 0));
      await foreign.close();
      expect(await runCli(["migrate-store", "--from", server.url, "--to", other.path], {})).toBe(EXIT_FAILURE);
      expect(quiet[1]!.mock.calls.flat().join("\n")).toContain("holds an index of another-pipeline/v2 (4-d)");
      const untouched = await EmbeddedIndex.openReadOnly({ dataDir: other.path, dimensions: 4, pipeline: "another-pipeline/v2" });
      expect(await untouched.count()).toBe(1);
      await untouched.close();
    } finally {
      for (const spy of quiet) spy.mockRestore();
    }
  });
});
