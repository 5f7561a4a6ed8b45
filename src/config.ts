// The service's configuration, read once from the environment and validated, so a bad value stops the process at
// start with one line naming the variable instead of failing later inside a request.
import { z } from "zod";

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const emptyAsUnset = (value: unknown) => (value === "" ? undefined : value);

const httpUrl = z
  .url({ protocol: /^https?$/ })
  .transform((url) => url.replace(/\/+$/, ""));

const envSchema = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65535).default(8000),
    HOST: z.string().min(1).default("0.0.0.0"),
    DATA_DIR: z.string().min(1).default("./data"),
    MODEL_PATH: z.string().min(1).default("./models/resnet50.onnx"),
    INFERENCE_BACKEND: z.enum(["native", "wasm"]).default("native"),
    INFERENCE_THREADS: positiveInt(2),
    INFERENCE_BATCH_SIZE: positiveInt(16),
    DECODE_WORKERS: positiveInt(1),
    CATALOG_API_URL: z.preprocess(emptyAsUnset, httpUrl.optional()),
    CATALOG_API_TOKEN: z.preprocess(emptyAsUnset, z.string().optional()),
    CATALOG_DIR: z.preprocess(emptyAsUnset, z.string().optional()),
    CATALOG_TIMEOUT_MS: positiveInt(15_000),
    CATALOG_RETRIES: z.coerce.number().int().min(0).max(10).default(3),
    CATALOG_CONCURRENCY: positiveInt(8),
    PUBLIC_URL: z.preprocess(emptyAsUnset, httpUrl.optional()),
    IMAGE_URL_TEMPLATE: z.preprocess(
      emptyAsUnset,
      z.string().includes("{id}", { message: "must contain {id}" }).optional(),
    ),
    MAX_UPLOAD_BYTES: positiveInt(10 * 1024 * 1024),
    MAX_IMAGE_PIXELS: positiveInt(50_000_000),
  })
  .superRefine((env, ctx) => {
    if (Boolean(env.CATALOG_API_URL) === Boolean(env.CATALOG_DIR)) {
      ctx.addIssue({
        code: "custom",
        path: ["CATALOG_API_URL"],
        message: "set exactly one of CATALOG_API_URL (a products API) or CATALOG_DIR (a folder of <id>.jpg photos)",
      });
    }
  });

export type CatalogConfig =
  | { kind: "api"; baseUrl: string; token: string | undefined }
  | { kind: "folder"; dir: string };

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  modelPath: string;
  /** `decodeWorkers`: threads that decode photos, beside the model's `threads`. */
  inference: { backend: "native" | "wasm"; threads: number; batchSize: number; decodeWorkers: number };
  catalog: CatalogConfig;
  catalogHttp: { timeoutMs: number; retries: number; concurrency: number };
  /** `{id}` is replaced by the product id in every `image_url` the service answers with. */
  imageUrlTemplate: string;
  maxUploadBytes: number;
  maxImagePixels: number;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Pure: the same environment always gives the same config or the same error. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? "environment");
    const value = env[variable];
    const shown = value === undefined ? "" : ` (got ${JSON.stringify(value)})`;
    throw new ConfigError(`invalid configuration: ${variable}: ${issue.message}${shown}`);
  }
  const e = parsed.data;
  const catalog: CatalogConfig = e.CATALOG_API_URL
    ? { kind: "api", baseUrl: e.CATALOG_API_URL, token: e.CATALOG_API_TOKEN }
    : { kind: "folder", dir: e.CATALOG_DIR! };
  const publicUrl = e.PUBLIC_URL ?? `http://localhost:${e.PORT}`;
  const defaultImageUrl =
    catalog.kind === "api" ? `${catalog.baseUrl}/products/{id}/image` : `${publicUrl}/products/{id}/image`;
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: e.DATA_DIR,
    modelPath: e.MODEL_PATH,
    inference: {
      backend: e.INFERENCE_BACKEND,
      threads: e.INFERENCE_THREADS,
      batchSize: e.INFERENCE_BATCH_SIZE,
      decodeWorkers: e.DECODE_WORKERS,
    },
    catalog,
    catalogHttp: { timeoutMs: e.CATALOG_TIMEOUT_MS, retries: e.CATALOG_RETRIES, concurrency: e.CATALOG_CONCURRENCY },
    imageUrlTemplate: e.IMAGE_URL_TEMPLATE ?? defaultImageUrl,
    maxUploadBytes: e.MAX_UPLOAD_BYTES,
    maxImagePixels: e.MAX_IMAGE_PIXELS,
  };
}

export function imageUrlFor(template: string, productId: number): string {
  return template.replaceAll("{id}", String(productId));
}
