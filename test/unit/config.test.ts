import { describe, expect, test } from "bun:test";
import { availableParallelism } from "node:os";
import { ConfigError, imageUrlFor, parseConfig } from "../../src/config.ts";

const api = { CATALOG_API_URL: "https://shop.example/api/" };

describe("parseConfig", () => {
  test("defaults with a products API", () => {
    expect(parseConfig(api)).toEqual({
      port: 8000,
      host: "0.0.0.0",
      dataDir: "./data",
      vectorStore: { url: null, poolSize: 10, timeoutMs: 5000, readOnly: false },
      modelPath: "./models/resnet50-int8.onnx",
      inference: { backend: "native", precision: "int8", threads: 2, batchSize: 16, decodeWorkers: 1 },
      catalog: { kind: "api", baseUrl: "https://shop.example/api", token: undefined },
      catalogHttp: { timeoutMs: 15000, retries: 3, concurrency: 8, imageOrigins: [] },
      catalogMaxPages: 100_000,
      imageUrlTemplate: "https://shop.example/api/products/{id}/image",
      maxUploadBytes: 10 * 1024 * 1024,
      logFormat: null,
      maxImagePixels: 25_000_000,
      maxQueuedProducts: 10_000,
      maxPendingUploads: 16,
      access: { apiKeys: [], authReads: false, allowAnonymousWrites: false, metricsRequireKey: false },
      corsOrigins: [],
      shutdownGraceMs: 8000,
      httpLoops: availableParallelism(),
    });
  });

  test("folder mode serves its own photos at the public URL", () => {
    const config = parseConfig({ CATALOG_DIR: "/photos", PORT: "9000" });
    expect(config.catalog).toEqual({ kind: "folder", dir: "/photos" });
    expect(config.imageUrlTemplate).toBe("http://localhost:9000/products/{id}/image");
    expect(parseConfig({ CATALOG_DIR: "/photos", PUBLIC_URL: "https://img.example/" }).imageUrlTemplate).toBe(
      "https://img.example/products/{id}/image",
    );
  });

  test("reads every variable", () => {
    const config = parseConfig({
      ...api,
      CATALOG_API_TOKEN: "secret",
      INFERENCE_BACKEND: "wasm",
      INFERENCE_THREADS: "4",
      DECODE_WORKERS: "2",
      IMAGE_URL_TEMPLATE: "https://cdn.example/p/{id}.jpg",
      SHUTDOWN_GRACE_MS: "2500",
      HTTP_LOOPS: "3",
    });
    expect(config.shutdownGraceMs).toBe(2500);
    expect(config.httpLoops).toBe(3);
    expect(config.catalog).toEqual({ kind: "api", baseUrl: "https://shop.example/api", token: "secret" });
    expect(config.inference).toEqual({ backend: "wasm", precision: "int8", threads: 4, batchSize: 16, decodeWorkers: 2 });
    expect(imageUrlFor(config.imageUrlTemplate, 20)).toBe("https://cdn.example/p/20.jpg");
  });

  test("INFERENCE_PRECISION chooses the model file; MODEL_PATH still overrides it", () => {
    expect(parseConfig({ ...api, INFERENCE_PRECISION: "int8" })).toMatchObject({
      modelPath: "./models/resnet50-int8.onnx",
      inference: { precision: "int8" },
    });
    expect(parseConfig({ ...api, INFERENCE_PRECISION: "fp32" })).toMatchObject({
      modelPath: "./models/resnet50.onnx",
      inference: { precision: "fp32" },
    });
    expect(parseConfig({ ...api, INFERENCE_PRECISION: "int8", MODEL_PATH: "/m/q.onnx" }).modelPath).toBe("/m/q.onnx");
  });

  test.each([
    [{ ...api, INFERENCE_PRECISION: "fp16" }, /^invalid configuration: INFERENCE_PRECISION: .*\(got "fp16"\)$/],
    [{ ...api, PORT: "http" }, /^invalid configuration: PORT: .*\(got "http"\)$/],
    [{ ...api, PORT: "70000" }, /^invalid configuration: PORT: /],
    [{ ...api, INFERENCE_BACKEND: "gpu" }, /^invalid configuration: INFERENCE_BACKEND: /],
    [{ CATALOG_API_URL: "ftp://shop.example" }, /^invalid configuration: CATALOG_API_URL: /],
    [{}, /^invalid configuration: CATALOG_API_URL: set exactly one of CATALOG_API_URL .* or CATALOG_DIR/],
    [{ ...api, CATALOG_DIR: "/photos" }, /^invalid configuration: CATALOG_API_URL: set exactly one of/],
    [{ ...api, IMAGE_URL_TEMPLATE: "https://cdn.example/p.jpg" }, /^invalid configuration: IMAGE_URL_TEMPLATE: must contain \{id\}/],
    [{ ...api, MAX_UPLOAD_BYTES: "0" }, /^invalid configuration: MAX_UPLOAD_BYTES: /],
    [{ ...api, LOG_FORMAT: "yaml" }, /^invalid configuration: LOG_FORMAT: .*\(got "yaml"\)$/],
    [{ ...api, MAX_QUEUED_PRODUCTS: "0" }, /^invalid configuration: MAX_QUEUED_PRODUCTS: /],
    [{ ...api, MAX_PENDING_UPLOADS: "many" }, /^invalid configuration: MAX_PENDING_UPLOADS: /],
    [{ ...api, SHUTDOWN_GRACE_MS: "soon" }, /^invalid configuration: SHUTDOWN_GRACE_MS: /],
    [{ ...api, CATALOG_MAX_PAGES: "0" }, /^invalid configuration: CATALOG_MAX_PAGES: /],
  ])("a bad environment stops with one line naming the variable (%#)", (env, message) => {
    expect(() => parseConfig(env)).toThrow(ConfigError);
    expect(() => parseConfig(env)).toThrow(message);
  });

  test("LOG_FORMAT: json or text; unset (or empty) leaves the choice to the terminal", () => {
    expect(parseConfig({ ...api, LOG_FORMAT: "json" }).logFormat).toBe("json");
    expect(parseConfig({ ...api, LOG_FORMAT: "text" }).logFormat).toBe("text");
    expect(parseConfig({ ...api, LOG_FORMAT: "" }).logFormat).toBeNull();
  });

  test("reads the limits on queued work", () => {
    const config = parseConfig({ ...api, MAX_QUEUED_PRODUCTS: "5", MAX_PENDING_UPLOADS: "2", MAX_IMAGE_PIXELS: "1000" });
    expect([config.maxQueuedProducts, config.maxPendingUploads, config.maxImagePixels]).toEqual([5, 2, 1000]);
  });

  test("CATALOG_IMAGE_ORIGINS: comma-separated origins, normalised; CATALOG_MAX_PAGES", () => {
    const config = parseConfig({
      ...api,
      CATALOG_IMAGE_ORIGINS: " https://CDN.shop.example/ ,http://img.shop.example:8080,, https://cdn2.shop.example:443",
      CATALOG_MAX_PAGES: "500",
    });
    expect(config.catalogHttp.imageOrigins).toEqual([
      "https://cdn.shop.example",
      "http://img.shop.example:8080",
      "https://cdn2.shop.example",
    ]);
    expect(config.catalogMaxPages).toBe(500);
    expect(parseConfig({ ...api, CATALOG_IMAGE_ORIGINS: "" }).catalogHttp.imageOrigins).toEqual([]);
  });

  test.each([
    ["cdn.shop.example", /^invalid configuration: CATALOG_IMAGE_ORIGINS: "cdn.shop.example" is not an http\(s\) origin/],
    ["ftp://cdn.shop.example", /^invalid configuration: CATALOG_IMAGE_ORIGINS: "ftp:\/\/cdn.shop.example" is not an http\(s\) origin/],
    [
      "https://cdn.shop.example/photos",
      /CATALOG_IMAGE_ORIGINS: "https:\/\/cdn.shop.example\/photos" is not an http\(s\) origin \(scheme:\/\/host\[:port\], no path\)/,
    ],
    ["https://user:pw@cdn.shop.example", /CATALOG_IMAGE_ORIGINS: .* is not an http\(s\) origin/],
    ["*", /CATALOG_IMAGE_ORIGINS: "\*" is not an http\(s\) origin/],
    [
      "http://169.254.169.254",
      /CATALOG_IMAGE_ORIGINS: http:\/\/169.254.169.254 is a link-local, metadata or unspecified address; the service never/,
    ],
    ["https://cdn.shop.example,http://[fd00:ec2::254]", /CATALOG_IMAGE_ORIGINS: http:\/\/\[fd00:ec2::254\] is a link-local/],
  ])("a bad CATALOG_IMAGE_ORIGINS (%p) stops the start", (origins, message) => {
    expect(() => parseConfig({ ...api, CATALOG_IMAGE_ORIGINS: origins })).toThrow(message);
  });

  test.each(["http://0.0.0.0:8000/api", "http://169.254.169.254/api", "http://[::]/api", "http://[fe80::1]/api"])(
    "CATALOG_API_URL on an address the service never fetches from (%s) stops the start",
    (url) => {
      expect(() => parseConfig({ CATALOG_API_URL: url })).toThrow(
        /^invalid configuration: CATALOG_API_URL: .* is a link-local, metadata or unspecified address/,
      );
    },
  );

  test("an empty variable counts as unset", () => {
    expect(parseConfig({ ...api, CATALOG_DIR: "", CATALOG_API_TOKEN: "" }).catalog).toEqual({
      kind: "api",
      baseUrl: "https://shop.example/api",
      token: undefined,
    });
  });
});

describe("parseConfig: keys, access and origins", () => {
  const KEY_A = "a".repeat(16);
  const KEY_B = "0123456789abcdef0123456789abcdef";

  test("API_KEYS is a comma-separated list, for rotation; the flags read true/false/1/0", () => {
    const config = parseConfig({ ...api, API_KEYS: ` ${KEY_A} ,${KEY_B},`, AUTH_READS: "1", METRICS_REQUIRE_KEY: "true" });
    expect(config.access).toEqual({ apiKeys: [KEY_A, KEY_B], authReads: true, allowAnonymousWrites: false, metricsRequireKey: true });
    expect(parseConfig({ ...api, ALLOW_ANONYMOUS_WRITES: "true" }).access.allowAnonymousWrites).toBe(true);
  });

  test("API_KEYS_FILE has one key a line; blank lines and # comments are skipped", () => {
    const files: Record<string, string> = { "/run/secrets/keys": `# rotated 2026-12\n${KEY_A}\r\n\n  ${KEY_B}  \n` };
    const config = parseConfig({ ...api, API_KEYS_FILE: "/run/secrets/keys" }, (path) => files[path]!);
    expect(config.access.apiKeys).toEqual([KEY_A, KEY_B]);
  });

  test("CORS_ORIGINS is a comma-separated list of exact origins", () => {
    expect(parseConfig({ ...api, CORS_ORIGINS: "https://shop.example, http://localhost:3000" }).corsOrigins).toEqual([
      "https://shop.example",
      "http://localhost:3000",
    ]);
  });

  test.each([
    [{ API_KEYS: "short" }, /^invalid configuration: API_KEYS: key 1 is too weak: at least 16 characters/],
    [{ API_KEYS: `${KEY_A},${"b".repeat(15)}` }, /^invalid configuration: API_KEYS: key 2 is too weak/],
    [{ API_KEYS: KEY_A, API_KEYS_FILE: "/keys" }, /^invalid configuration: API_KEYS_FILE: set API_KEYS or API_KEYS_FILE, not both/],
    [{ API_KEYS_FILE: "/nonexistent/keys" }, /^invalid configuration: API_KEYS_FILE: cannot read \/nonexistent\/keys/],
    [{ AUTH_READS: "true" }, /^invalid configuration: AUTH_READS: needs API_KEYS or API_KEYS_FILE/],
    [{ METRICS_REQUIRE_KEY: "true" }, /^invalid configuration: METRICS_REQUIRE_KEY: needs API_KEYS/],
    [{ API_KEYS: KEY_A, ALLOW_ANONYMOUS_WRITES: "true" }, /^invalid configuration: ALLOW_ANONYMOUS_WRITES: cannot be true while API keys are set/],
    [{ AUTH_READS: "yes" }, /^invalid configuration: AUTH_READS: /],
    [{ CORS_ORIGINS: "*" }, /^invalid configuration: CORS_ORIGINS: "\*" is not an origin/],
    [{ CORS_ORIGINS: "https://shop.example/" }, /^invalid configuration: CORS_ORIGINS: "https:\/\/shop.example\/" is not an origin/],
  ])("a bad access setting stops with one line naming the variable (%#)", (env, message) => {
    expect(() => parseConfig({ ...api, ...env })).toThrow(ConfigError);
    expect(() => parseConfig({ ...api, ...env })).toThrow(message);
  });

  test("VECTOR_STORE_URL chooses PostgreSQL; its pool and timeout; a password is never repeated in an error", () => {
    const url = "postgres://fip:s3cret@db.internal:5432/shop?sslmode=verify-full";
    expect(parseConfig({ ...api, VECTOR_STORE_URL: url, VECTOR_STORE_POOL_SIZE: "4", VECTOR_STORE_TIMEOUT_MS: "2000" }).vectorStore).toEqual({
      url,
      poolSize: 4,
      timeoutMs: 2000,
      readOnly: false,
    });
    expect(parseConfig({ ...api, VECTOR_STORE_URL: "postgresql://db/shop" }).vectorStore.url).toBe("postgresql://db/shop");
    expect(parseConfig({ ...api, VECTOR_STORE_URL: "" }).vectorStore.url).toBeNull();
    const refused = () => parseConfig({ ...api, VECTOR_STORE_URL: "mysql://fip:s3cret@db/shop" });
    expect(refused).toThrow(/^invalid configuration: VECTOR_STORE_URL: must be a postgres:\/\/user:password@host:5432\/database URL$/);
    expect(() => parseConfig({ ...api, VECTOR_STORE_POOL_SIZE: "0" })).toThrow(/^invalid configuration: VECTOR_STORE_POOL_SIZE: /);
  });

  test("VECTOR_STORE_READ_ONLY makes a search-only replica, and only on PostgreSQL", () => {
    const url = "postgres://fip:s3cret@standby.internal:5432/shop";
    expect(parseConfig({ ...api, VECTOR_STORE_URL: url, VECTOR_STORE_READ_ONLY: "true" }).vectorStore).toEqual({
      url,
      poolSize: 10,
      timeoutMs: 5000,
      readOnly: true,
    });
    expect(parseConfig({ ...api, VECTOR_STORE_URL: url, VECTOR_STORE_READ_ONLY: "0" }).vectorStore.readOnly).toBe(false);
    // Several standbys, tried in turn by the client.
    const standbys = "postgres://fip:s3cret@standby1:5432,standby2:5433/shop?target_session_attrs=prefer-standby";
    expect(parseConfig({ ...api, VECTOR_STORE_URL: standbys, VECTOR_STORE_READ_ONLY: "true" }).vectorStore.url).toBe(standbys);
    expect(() => parseConfig({ ...api, VECTOR_STORE_URL: "mysql://a:1,b:2/shop" })).toThrow(/^invalid configuration: VECTOR_STORE_URL: must be/);
    expect(() => parseConfig({ ...api, VECTOR_STORE_READ_ONLY: "true" })).toThrow(
      /^invalid configuration: VECTOR_STORE_READ_ONLY: needs VECTOR_STORE_URL: a search-only replica reads the PostgreSQL index/,
    );
    expect(() => parseConfig({ ...api, VECTOR_STORE_URL: url, VECTOR_STORE_READ_ONLY: "yes" })).toThrow(/^invalid configuration: VECTOR_STORE_READ_ONLY: /);
  });

  test("a key is never repeated in an error message", () => {
    const secret = "weak-secret";
    expect(() => parseConfig({ ...api, API_KEYS: secret })).toThrow(ConfigError);
    try {
      parseConfig({ ...api, API_KEYS: secret });
    } catch (error) {
      expect((error as Error).message).not.toContain(secret);
    }
    const files = { "/keys": "one weak line\n" };
    expect(() => parseConfig({ ...api, API_KEYS_FILE: "/keys" }, (path) => files[path as "/keys"])).toThrow(
      /^invalid configuration: API_KEYS_FILE: key 1 is too weak/,
    );
  });
});
