import { describe, expect, test } from "bun:test";
import { ConfigError, imageUrlFor, parseConfig } from "../../src/config.ts";

const api = { CATALOG_API_URL: "https://shop.example/api/" };

describe("parseConfig", () => {
  test("defaults with a products API", () => {
    expect(parseConfig(api)).toEqual({
      port: 8000,
      host: "0.0.0.0",
      dataDir: "./data",
      modelPath: "./models/resnet50.onnx",
      inference: { backend: "native", threads: 2, batchSize: 16 },
      catalog: { kind: "api", baseUrl: "https://shop.example/api", token: undefined },
      catalogHttp: { timeoutMs: 15000, retries: 3, concurrency: 8, imageOrigins: [] },
      catalogMaxPages: 100_000,
      imageUrlTemplate: "https://shop.example/api/products/{id}/image",
      maxUploadBytes: 10 * 1024 * 1024,
      maxImagePixels: 50_000_000,
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
      IMAGE_URL_TEMPLATE: "https://cdn.example/p/{id}.jpg",
    });
    expect(config.catalog).toEqual({ kind: "api", baseUrl: "https://shop.example/api", token: "secret" });
    expect(config.inference).toEqual({ backend: "wasm", threads: 4, batchSize: 16 });
    expect(imageUrlFor(config.imageUrlTemplate, 20)).toBe("https://cdn.example/p/20.jpg");
  });

  test.each([
    [{ ...api, PORT: "http" }, /^invalid configuration: PORT: .*\(got "http"\)$/],
    [{ ...api, PORT: "70000" }, /^invalid configuration: PORT: /],
    [{ ...api, INFERENCE_BACKEND: "gpu" }, /^invalid configuration: INFERENCE_BACKEND: /],
    [{ CATALOG_API_URL: "ftp://shop.example" }, /^invalid configuration: CATALOG_API_URL: /],
    [{}, /^invalid configuration: CATALOG_API_URL: set exactly one of CATALOG_API_URL .* or CATALOG_DIR/],
    [{ ...api, CATALOG_DIR: "/photos" }, /^invalid configuration: CATALOG_API_URL: set exactly one of/],
    [{ ...api, IMAGE_URL_TEMPLATE: "https://cdn.example/p.jpg" }, /^invalid configuration: IMAGE_URL_TEMPLATE: must contain \{id\}/],
    [{ ...api, MAX_UPLOAD_BYTES: "0" }, /^invalid configuration: MAX_UPLOAD_BYTES: /],
    [{ ...api, CATALOG_MAX_PAGES: "0" }, /^invalid configuration: CATALOG_MAX_PAGES: /],
  ])("a bad environment stops with one line naming the variable (%#)", (env, message) => {
    expect(() => parseConfig(env)).toThrow(ConfigError);
    expect(() => parseConfig(env)).toThrow(message);
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
