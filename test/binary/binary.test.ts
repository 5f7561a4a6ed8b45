// The compiled binary (dist/fashion-image-processor, made by `npm run build`), alone: copied into a temp dir and run
// from there with the checkout unreachable. It must answer /ready, serve a valid /openapi.json and /docs, index a
// folder of real photos and find them again from the command line and over HTTP, with either inference engine.
// Skipped, with a notice, when the binary has not been built (CI builds it before `npm test`).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { copyFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import packageJson from "../../package.json" with { type: "json" };
import { createApp } from "../../src/app.ts";
import { Logger } from "../../src/observability/log.ts";
import { ServiceMetrics } from "../../src/observability/metrics.ts";
import { ServiceSlot } from "../../src/services.ts";
import { FASHION_DIR, fashionPhotos, REPO_ROOT, SHARED_DIR } from "../helpers/catalog-server.ts";
import { announceSkip, requireFashionPhotos, waitFor } from "../helpers/environment.ts";
import { enlargedJpeg } from "../helpers/images.ts";
import { BINARY, BinarySandbox, CAN_HIDE_CHECKOUT, type RunningBinary } from "./binary-sandbox.ts";

const HAS_BINARY = existsSync(BINARY);
if (!HAS_BINARY && process.env.FIP_REQUIRE_BINARY) {
  // CI builds the binary before the tests (.ci/run): there, a missing binary is a failure, not a skip.
  test("the binary was built", () => {
    throw new Error(`no ${BINARY}, and FIP_REQUIRE_BINARY is set: \`npm run build\` failed or did not run`);
  });
} else if (!HAS_BINARY) {
  announceSkip("the compiled-binary tests", `no ${BINARY}: run \`npm run build\` first`);
}
const HAS_PHOTOS = HAS_BINARY && requireFashionPhotos("the binary's index and search tests");

const PHOTO_COUNT = 20;
const photos = HAS_PHOTOS ? fashionPhotos(PHOTO_COUNT)! : [];
/** The photo every search looks for; it must come back first, with score 1. */
const probe = photos[7]!;

const startTimes: string[] = [];

/** A products API nothing is ever asked of: these services only load, answer and search. */
const UNUSED_API = { CATALOG_API_URL: "http://127.0.0.1:9/api" };

interface Operation {
  operationId?: string;
}

interface SimilarProduct {
  id: number;
  similarity_score: number;
  image_url: string;
}

describe.skipIf(!HAS_BINARY)("the compiled binary, copied alone into a temp dir", () => {
  let sandbox: BinarySandbox;

  beforeAll(async () => {
    sandbox = await BinarySandbox.create();
    if (!CAN_HIDE_CHECKOUT) {
      console.warn("\n*** binary tests: no `unshare -m` here; checking /proc/<pid>/maps instead of hiding the checkout ***\n");
    }
  });

  afterAll(async () => {
    if (startTimes.length > 0) console.log(`\nbinary cold start to /ready: ${startTimes.join("; ")}\n`);
    await sandbox?.[Symbol.asyncDispose]();
  });

  test("--version prints the package's version", async () => {
    const run = await sandbox.run(["--version"]);
    expect(run).toEqual({ exitCode: 0, stdout: `fashion-image-processor ${packageJson.version}\n`, stderr: "" });
  });

  test("--help lists every command", async () => {
    const run = await sandbox.run(["--help"]);
    expect(run.exitCode).toBe(0);
    for (const form of ["[serve]", "index <folder>", "search <image> [--top N] [--json]", "healthcheck", "--version"]) {
      expect(run.stdout).toContain(form);
    }
    expect((await sandbox.run(["search", "--help"])).stdout).toStartWith("Usage: fashion-image-processor search <image>");
  });

  test.each([
    [["bogus"], 'unknown command "bogus"'],
    [["--port", "80"], "unknown option --port"],
    [["index"], "index needs <folder>"],
    [["index", "a", "b"], "index takes one <folder>, got 2"],
    [["search", "photo.jpg", "--top", "0"], "--top must be a whole number from 1 to 1000"],
    [["search", "photo.jpg", "--colour"], "Unknown option '--colour'"],
    [["serve", "now"], "serve takes no arguments"],
  ])("%p is refused with usage and exit code 2", async (args, message) => {
    const run = await sandbox.run(args);
    expect({ exitCode: run.exitCode, stdout: run.stdout }).toEqual({ exitCode: 2, stdout: "" });
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain("Usage:");
  });

  const inSandbox = (name: string) => join(sandbox.root, name);

  test("a folder that does not exist is an error, exit 1", async () => {
    const run = await sandbox.run(["index", inSandbox("no-such-folder")], { DATA_DIR: inSandbox("unused") });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain("is not a folder");
  });

  test("search exits 1 without a photo or without an index", async () => {
    const noPhoto = await sandbox.run(["search", inSandbox("missing.jpg")], { DATA_DIR: inSandbox("unused") });
    expect(noPhoto.exitCode).toBe(1);
    expect(noPhoto.stderr).toContain("cannot read");
    await Bun.write(inSandbox("some.jpg"), "x");
    const noIndex = await sandbox.run(["search", inSandbox("some.jpg")], { DATA_DIR: inSandbox("never-indexed") });
    expect(noIndex.exitCode).toBe(1);
    expect(noIndex.stderr).toContain("no index in");
  });

  describe("serve", () => {
    test("reaches /ready from nothing (unpacking the native libraries) and again from its cache", async () => {
      const env = { DATA_DIR: inSandbox("data-empty"), ...UNUSED_API };
      await using first = await sandbox.serve(env);
      expect(await first.stop()).toBe(0);
      await using warm = await sandbox.serve(env);
      startTimes.push(`first run ${ms(first.coldStartMs)} (unpacks native libraries)`);
      startTimes.push(`warm ${ms(warm.coldStartMs)}`);
      const ready = await (await fetch(`${warm.url}/ready`)).json();
      expect(ready).toMatchObject({ status: "ready", embeddings: 0, inference_backend: "native" });
      expect(warm.logs()).toContain("model: the embedded ResNet50 model");
      await expectNothingFromTheCheckout(warm);
      expect(await warm.stop()).toBe(0);
      expect(sandbox.preloadRan()).toBe(false);
      // Everything native went to NATIVE_LIB_DIR; Bun unpacked nothing into TMPDIR by itself.
      const libraries = async (dir: string) =>
        (await readdir(dir, { recursive: true }))
          .map((path) => String(path).split("/").pop()!)
          .filter((name) => /\.(node|so(\.\d+)*)$/.test(name))
          .sort();
      expect(await libraries(sandbox.nativeDir())).toEqual([
        "libonnxruntime.so.1",
        "libvips-cpp.so.8.18.7",
        "onnxruntime_binding.node",
        "sharp-linux-x64-0.35.5.node",
        "skia.linux-x64-gnu.node",
        "usearch.node",
      ]);
      expect(await libraries(sandbox.tmp())).toEqual([]);
    });

    test("serves the same valid OpenAPI 3.1 document as the source, and /docs with its assets", async () => {
      await using service = await sandbox.serve({ DATA_DIR: inSandbox("data-docs"), ...UNUSED_API });
      const response = await fetch(`${service.url}/openapi.json`);
      expect(response.status).toBe(200);
      const doc = (await response.json()) as { openapi: string; paths: Record<string, Record<string, Operation>> };
      expect(doc.openapi).toBe("3.1.0");
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining(["/health", "/ready", "/similar-products/upload", "/tasks/{task_id}"]),
      );
      for (const item of Object.values(doc.paths)) {
        for (const operation of Object.values(item)) expect(operation.operationId).toBeString();
      }
      for (const ref of refs(doc)) expect(resolvePointer(doc, ref)).toBeDefined();
      // The very document the source makes: nothing was lost in bundling.
      const slot = new ServiceSlot();
      const source = createApp({
        services: slot,
        maxUploadBytes: 10 * 1024 * 1024,
        version: packageJson.version,
        metrics: new ServiceMetrics(() => slot.current),
        logger: new Logger({ format: "json", sink: () => {} }),
      });
      expect(doc).toEqual((await (await source.request("/openapi.json")).json()) as typeof doc);

      const page = await fetch(`${service.url}/docs`);
      expect(page.status).toBe(200);
      const html = await page.text();
      for (const [asset, contentType, file] of [
        ["/docs/swagger-ui.css", "text/css", "swagger-ui.css"],
        ["/docs/swagger-ui-bundle.js", "text/javascript", "swagger-ui-bundle.js"],
      ] as const) {
        expect(html).toContain(asset);
        const served = await fetch(`${service.url}${asset}`);
        const type = served.headers.get("Content-Type")?.split(";")[0];
        expect({ status: served.status, type }).toEqual({ status: 200, type: contentType });
        const original = Bun.file(join(REPO_ROOT, "node_modules/swagger-ui-dist", file));
        expect((await served.bytes()).byteLength).toBe(original.size);
      }
    });

    test("MODEL_PATH overrides the embedded model", async () => {
      const env = { DATA_DIR: inSandbox("data-model"), HOST: "127.0.0.1", PORT: "0", ...UNUSED_API };
      const missing = await sandbox.run(["serve"], { ...env, MODEL_PATH: "/nonexistent/model.onnx" });
      expect(missing.exitCode).toBe(1);
      expect(missing.stderr).toContain(
        "cannot read the model at /nonexistent/model.onnx (MODEL_PATH): ENOENT; unset MODEL_PATH to use the embedded model",
      );
      const model = inSandbox("own-model.onnx");
      await copyFile(join(REPO_ROOT, "models/resnet50.onnx"), model);
      // An fp32 model under the default precision (int8) would file its vectors under the int8 model's name.
      const otherPrecision = await sandbox.run(["serve"], { ...env, MODEL_PATH: model });
      expect(otherPrecision.exitCode).toBe(1);
      expect(otherPrecision.stderr).toContain(`the model at ${model} (MODEL_PATH) is an fp32 model, but INFERENCE_PRECISION is int8`);
      await using service = await sandbox.serve({ ...env, MODEL_PATH: model, INFERENCE_PRECISION: "fp32" });
      expect(service.logs()).toContain(`model: ${model}`);
    });

    test("the healthcheck command succeeds against it, and fails when nothing listens", async () => {
      await using service = await sandbox.serve({ DATA_DIR: inSandbox("data-health"), ...UNUSED_API });
      const port = new URL(service.url).port;
      expect((await sandbox.run(["healthcheck"], { PORT: port })).exitCode).toBe(0);
      await service.stop();
      const refused = await sandbox.run(["healthcheck"], { PORT: port });
      expect(refused.exitCode).toBe(1);
      expect(refused.stderr).toContain(`http://127.0.0.1:${port}/health`);
    });
  });

  describe.skipIf(!HAS_PHOTOS)(`with ${PHOTO_COUNT} real photos from ${FASHION_DIR}`, () => {
    let photoDir: string;
    let dataDir: string;
    let indexRun: Promise<Awaited<ReturnType<BinarySandbox["run"]>>>;

    beforeAll(async () => {
      photoDir = await sandbox.photoFolder("photos", photos);
      dataDir = inSandbox("data-indexed");
      indexRun = sandbox.run(["index", photoDir], { DATA_DIR: dataDir });
    });

    test("index <folder> embeds every photo, prints a summary and exits 0", async () => {
      const run = await indexRun;
      if (run.exitCode !== 0) throw new Error(`index failed (${run.exitCode}):\n${run.stdout}\n${run.stderr}`);
      expect(run.stdout).toContain(`embedded ${PHOTO_COUNT}, failed 0 of ${PHOTO_COUNT} photos from ${photoDir}`);
      expect(run.stdout).toContain(`the index now holds ${PHOTO_COUNT}`);
      expect(run.stdout).not.toContain("\r"); // not a terminal: plain lines, no bar
    });

    test("index exits 1 when no photo could be embedded, and says why for each", async () => {
      const broken = await sandbox.photoFolder("broken", []);
      await Bun.write(join(broken, "5.jpg"), "not a photo");
      const truncated = await Bun.file(probe.path).bytes();
      await Bun.write(join(broken, "6.jpg"), truncated.subarray(0, truncated.length >> 1));
      const run = await sandbox.run(["index", broken], { DATA_DIR: inSandbox("data-broken") });
      expect(run.exitCode).toBe(1);
      expect(run.stdout).toContain("embedded 0, failed 2 of 2 photos");
      expect(run.stdout).toContain("photo 5: UNSUPPORTED_MEDIA_TYPE");
      expect(run.stdout).toContain("photo 6: INVALID_IMAGE not a decodable image: the jpeg file is truncated");
    });

    test("search <photo> prints that product first with score 1", async () => {
      expect((await indexRun).exitCode).toBe(0);
      const photo = join(photoDir, `${probe.id}.jpg`);
      const run = await sandbox.run(["search", photo, "--top", "3"], { DATA_DIR: dataDir });
      expect({ exitCode: run.exitCode, stderr: run.stderr }).toEqual({ exitCode: 0, stderr: "" });
      const [header, ...rows] = run.stdout.trimEnd().split("\n");
      expect(header!.split(/\s+/).filter(Boolean)).toEqual(["id", "score", "image_url"]);
      expect(rows).toHaveLength(3);
      const [id, score, imageUrl] = rows[0]!.trim().split(/\s+/);
      expect({ id: Number(id), score: Number(score), imageUrl }).toEqual({
        id: probe.id,
        score: 1,
        imageUrl: `http://localhost:8000/products/${probe.id}/image`,
      });

      const json = await sandbox.run(["search", photo, "--json", "--top", "2"], { DATA_DIR: dataDir });
      const answer = JSON.parse(json.stdout) as { similar_products: SimilarProduct[] };
      expect(answer.similar_products).toHaveLength(2);
      expect(answer.similar_products[0]).toMatchObject({ id: probe.id, similarity_score: 1 });
    });

    test("serve on that index: an uploaded photo finds its product first with score 1.0", async () => {
      expect((await indexRun).exitCode).toBe(0);
      await using service = await sandbox.serve({ DATA_DIR: dataDir, CATALOG_DIR: photoDir });
      expect(await (await fetch(`${service.url}/embeddings/count`)).json()).toEqual({ count: PHOTO_COUNT });
      const similar = await uploadSearch(service, probe.path);
      expect(similar[0]).toEqual({
        id: probe.id,
        similarity_score: 1,
        // The service listens on a port the OS picked (PORT=0); its image URLs name that port.
        image_url: `http://localhost:${new URL(service.url).port}/products/${probe.id}/image`,
      });
    });

    test("serve: a large JPEG of that photo (decoded at a reduced size, by sharp) finds it first", async () => {
      expect((await indexRun).exitCode).toBe(0);
      await using service = await sandbox.serve({ DATA_DIR: dataDir, CATALOG_DIR: photoDir });
      const large = inSandbox("large-probe.jpg");
      await Bun.write(large, await enlargedJpeg(await Bun.file(probe.path).bytes(), 1200, 1600));
      const similar = await uploadSearch(service, large);
      expect(similar[0]!.id).toBe(probe.id);
      expect(similar[0]!.similarity_score).toBeGreaterThan(0.9);
      expect((await BinarySandbox.mappedFiles(service.pid)).some((path) => path.endsWith("/libvips-cpp.so.8.18.7"))).toBe(true);
    });

    test("serve from an empty index: embed the catalogue over HTTP, then search by product", async () => {
      const dataDir = inSandbox("data-http");
      await using service = await sandbox.serve({ DATA_DIR: dataDir, CATALOG_DIR: photoDir, HTTP_LOOPS: "2" });
      const accepted = await fetch(`${service.url}/embeddings/generate-all`, { method: "POST" });
      expect(accepted.status).toBe(202);
      const { task_id } = (await accepted.json()) as { task_id: string };
      const task = await waitFor(
        async () => {
          const view = (await (await fetch(`${service.url}/tasks/${task_id}`)).json()) as { status: string };
          return view.status === "succeeded" || view.status === "failed" ? view : undefined;
        },
        { timeoutMs: 120_000, what: `task ${task_id}` },
      );
      expect(task).toMatchObject({
        status: "succeeded",
        progress: { total: PHOTO_COUNT, done: PHOTO_COUNT, failed: 0 },
      });
      const answer = await fetch(`${service.url}/similar-products/${probe.id}?top_n=3`);
      const { similar_products } = (await answer.json()) as { similar_products: SimilarProduct[] };
      expect(similar_products).toHaveLength(3);
      expect(similar_products[0]).toMatchObject({ id: probe.id, similarity_score: 1 });

      // At rest the service seals its recent changes into a segment file, written by a worker thread that must be
      // inside the binary too.
      await waitFor(async () => ((await readdir(dataDir)).some((name) => /^segment-\d+\.vectors$/.test(name)) ? true : undefined), {
        timeoutMs: 30_000,
        what: "the idle seal's segment file",
      });
      expect(service.logs()).not.toMatch(/sealing segment \d+ failed/);
      const again = await fetch(`${service.url}/similar-products/${probe.id}?top_n=3`);
      expect(((await again.json()) as { similar_products: SimilarProduct[] }).similar_products).toEqual(similar_products);

      // The extra HTTP loop's thread is inside the binary too: it listens, and answers alike on fresh connections.
      await waitFor(() => (service.logs().includes("2 HTTP loops answer on the port") ? true : undefined), { timeoutMs: 30_000, what: "the extra loop" }).catch(
        (error: Error) => {
          throw new Error(`${error.message}; the service's log:\n${service.logs()}`);
        },
      );
      for (let i = 0; i < 20; i++) {
        const fresh = await fetch(`${service.url}/similar-products/${probe.id}?top_n=3`, { keepalive: false, headers: { Connection: "close" } });
        expect(((await fresh.json()) as { similar_products: SimilarProduct[] }).similar_products).toEqual(similar_products);
      }
      const metrics = await (await fetch(`${service.url}/metrics`)).text();
      expect(Number(/fip_http_extra_loop_requests_total\{outcome="answered"\} (\d+)/.exec(metrics)?.[1] ?? 0)).toBeGreaterThan(0);

      // The search page and its files come from inside the binary (the checkout is out of reach here).
      for (const [path, type, marker] of [
        ["/", "text/html; charset=UTF-8", "/web/search-page.js"],
        ["/web/search-page.js", "text/javascript; charset=utf-8", "/similar-products/upload"],
        ["/web/api-client.js", "text/javascript; charset=utf-8", "sessionStorage"],
        ["/web/service-status.js", "text/javascript; charset=utf-8", "/embeddings/generate-all"],
        ["/web/search-page.css", "text/css; charset=utf-8", ".grid"],
        ["/favicon.svg", "image/svg+xml", "<svg"],
      ] as const) {
        const response = await fetch(`${service.url}${path}`);
        expect({ path, status: response.status, type: response.headers.get("Content-Type") }).toEqual({ path, status: 200, type });
        expect(await response.text()).toContain(marker);
      }
    });

    test("INFERENCE_BACKEND=wasm: the embedded WASM engine answers /ready and embeds an upload", async () => {
      expect((await indexRun).exitCode).toBe(0);
      const env = { DATA_DIR: dataDir, CATALOG_DIR: photoDir, INFERENCE_BACKEND: "wasm" };
      await using service = await sandbox.serve(env, 180_000);
      startTimes.push(`wasm engine ${ms(service.coldStartMs)}`);
      const ready = await (await fetch(`${service.url}/ready`)).json();
      expect(ready).toMatchObject({ status: "ready", inference_backend: "wasm" });
      const similar = await uploadSearch(service, probe.path);
      expect(similar[0]).toMatchObject({ id: probe.id });
      // Another engine, the same vectors up to float rounding.
      expect(similar[0]!.similarity_score).toBeGreaterThan(0.999);
    });
  });
});

async function uploadSearch(service: RunningBinary, photo: string): Promise<SimilarProduct[]> {
  const form = new FormData();
  form.append("image", Bun.file(photo), "photo.jpg");
  const response = await fetch(`${service.url}/similar-products/upload?top_n=3`, { method: "POST", body: form });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`upload answered ${response.status}: ${body}${service.logs()}`);
  return (JSON.parse(body) as { similar_products: SimilarProduct[] }).similar_products;
}

/** The binary has nothing of the checkout or ../shared mapped: its code and libraries come from itself alone. */
async function expectNothingFromTheCheckout(service: RunningBinary): Promise<void> {
  const mapped = await BinarySandbox.mappedFiles(service.pid);
  expect(mapped.filter((path) => path.startsWith(`${REPO_ROOT}/`) || path.startsWith(`${SHARED_DIR}/`))).toEqual([]);
  expect(mapped.some((path) => path.endsWith("/libonnxruntime.so.1"))).toBe(true);
}

function refs(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(refs);
  if (value && typeof value === "object") {
    return Object.entries(value).flatMap(([key, inner]) => (key === "$ref" ? [inner as string] : refs(inner)));
  }
  return [];
}

/** What a local JSON pointer (`#/components/schemas/…`) names in the document; undefined if nothing. */
function resolvePointer(doc: unknown, ref: string): unknown {
  if (!ref.startsWith("#/")) return undefined;
  const keys = ref.slice(2).split("/").map((key) => key.replaceAll("~1", "/").replaceAll("~0", "~"));
  return keys.reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], doc);
}

function ms(value: number): string {
  return `${Math.round(value)} ms`;
}
