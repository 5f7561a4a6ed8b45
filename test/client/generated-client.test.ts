// A client generated from the live /openapi.json is usable as it comes: the committed types (fashion-api.ts) are
// what openapi-typescript makes of the document the app serves today, every-operation.ts calls every operation with
// openapi-fetch and type-checks alone under `tsc --strict` with no casts, and it works against the real app.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type AppUnderTest, samplePhotos, startAppUnderTest } from "../helpers/app-under-test.ts";
import { REPO_ROOT } from "../helpers/catalog-server.ts";
import { requireModel, tempDir } from "../helpers/environment.ts";
import { callEveryOperation } from "./every-operation.ts";
import { GENERATED_TYPES_FILE, generateTypes } from "./generate-types.ts";

const CLIENT_FILE = join(import.meta.dir, "every-operation.ts");
const HAVE_MODEL = requireModel("the generated client against the real app");

describe("a client generated with openapi-typescript + openapi-fetch", () => {
  let subject: AppUnderTest;
  let server: ReturnType<typeof Bun.serve> | null = null;
  let photos: Awaited<ReturnType<typeof samplePhotos>>;

  beforeAll(async () => {
    if (!HAVE_MODEL) return;
    photos = await samplePhotos(4);
    subject = await startAppUnderTest({
      catalogFiles: Object.fromEntries(photos.map((photo) => [`${photo.id}.jpg`, photo.bytes])),
    });
    server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: subject.app.fetch });
  }, 120_000);

  afterAll(async () => {
    await server?.stop(true);
    await subject?.close();
  });

  test.skipIf(!HAVE_MODEL)("the committed types are what openapi-typescript makes of the live document", async () => {
    const live = await (await fetch(`${server!.url}openapi.json`)).text();
    const committed = await readFile(GENERATED_TYPES_FILE, "utf8");
    // On a change to the routes: `bun test/client/generate-types.ts`, and read the diff as a client developer would.
    expect(committed).toBe(await generateTypes(live));
  });

  test("the calling code type-checks alone under tsc --strict, with only the DOM's types, and has no casts", async () => {
    await using dir = await tempDir("fip-client-tsc-");
    const tsconfig = join(dir.path, "tsconfig.json");
    await Bun.write(
      tsconfig,
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: "ES2022",
          module: "ESNext",
          moduleResolution: "bundler",
          lib: ["ES2022", "DOM", "DOM.Iterable"],
          types: [],
          allowImportingTsExtensions: true,
          skipLibCheck: true,
        },
        files: [CLIENT_FILE],
      }),
    );
    const tsc = Bun.spawn([join(REPO_ROOT, "node_modules/.bin/tsc"), "-p", tsconfig], { stdout: "pipe", stderr: "pipe" });
    const output = await new Response(tsc.stdout).text();
    expect({ exitCode: await tsc.exited, output }).toEqual({ exitCode: 0, output: "" });

    const source = await readFile(CLIENT_FILE, "utf8");
    const casts = source.split("\n").filter((line) => /\bas\s+(?!const\b)[A-Za-z{[(]|<any>|:\s*any\b|@ts-/.test(line.replace(/\/\/.*$|\/\*.*\*\//, "")));
    expect(casts).toEqual([]);
  }, 60_000);

  test.skipIf(!HAVE_MODEL)("calls every operation against the real app", async () => {
    const [first, second, ...rest] = photos.map((photo) => photo.id) as [number, number, ...number[]];
    const photo = new Blob([photos[0]!.bytes], { type: "image/jpeg" });
    const seen = await callEveryOperation(server!.url.href.replace(/\/$/, ""), photo, [first, second, ...rest]);
    expect(seen).toEqual({
      health: "ok",
      ready: "ready",
      generateAll: { kind: "embed_catalog", location: true, status: "succeeded" },
      countEmbeddings: 4,
      listEmbeddedProducts: { products: [first, second], total: 4 },
      checkEmbedding: { product_id: first, has_embedding: true },
      similarToProduct: expect.any(Array),
      similarToUpload: [{ id: first, similarity_score: 1 }],
      validationError: { code: "VALIDATION_FAILED", fields: ["product_id"] },
      createEmbedding: { kind: "embed_product", status: "succeeded" },
      replaceEmbedding: { kind: "reembed_product", status: "succeeded" },
      deleteEmbedding: { kind: "delete_product", status: "succeeded" },
      generateBatch: { product_ids: [second], status: "succeeded" },
      generate: [first, second],
      generateWithoutBody: "embed_catalog",
      listTasks: { count: 3, limit: 3, more: true },
      getTask: { kind: "embed_catalog", done: 4, errors: 0 },
      productImage: { type: "image/jpeg", bytes: photos[0]!.bytes.byteLength },
      metrics: true,
      listDuplicates: { scanned: 4 },
    });
    expect(seen.similarToProduct).toHaveLength(2);
    expect(seen.similarToProduct).not.toContain(first);
  }, 120_000);
});
