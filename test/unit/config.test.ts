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
      inference: { backend: "native", threads: 2, batchSize: 16, decodeWorkers: 1 },
      catalog: { kind: "api", baseUrl: "https://shop.example/api", token: undefined },
      catalogHttp: { timeoutMs: 15000, retries: 3, concurrency: 8 },
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
      DECODE_WORKERS: "2",
      IMAGE_URL_TEMPLATE: "https://cdn.example/p/{id}.jpg",
    });
    expect(config.catalog).toEqual({ kind: "api", baseUrl: "https://shop.example/api", token: "secret" });
    expect(config.inference).toEqual({ backend: "wasm", threads: 4, batchSize: 16, decodeWorkers: 2 });
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
  ])("a bad environment stops with one line naming the variable (%#)", (env, message) => {
    expect(() => parseConfig(env)).toThrow(ConfigError);
    expect(() => parseConfig(env)).toThrow(message);
  });

  test("an empty variable counts as unset", () => {
    expect(parseConfig({ ...api, CATALOG_DIR: "", CATALOG_API_TOKEN: "" }).catalog).toEqual({
      kind: "api",
      baseUrl: "https://shop.example/api",
      token: undefined,
    });
  });
});
