// The service's configuration, read once from the environment and validated, so a bad value stops the process at
// start with one line naming the variable instead of failing later inside a request.
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { z } from "zod";
import type { LogFormat } from "./observability/log.ts";
import { hostOf, isNeverFetched } from "./catalog/outbound-policy.ts";
import { withFirstHost } from "./store/postgres/database-url.ts";

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const emptyAsUnset = (value: unknown) => (value === "" ? undefined : value);

const flag = z.enum(["true", "false", "1", "0"]).default("false").transform((value) => value === "true" || value === "1");

/** Comma-separated, blanks ignored: "a, b,," is ["a", "b"]. */
const commaList = (value: string | undefined) => (value ?? "").split(",").map((item) => item.trim()).filter(Boolean);

/**
 * ResNet50 in float32, or quantized to int8: int8 is the default, as it met the rule set for it in docs/performance.md
 * (at least 2x the model-only throughput, embeddings within cosine 0.99, retrieval within 0.5 points).
 */
export type InferencePrecision = "fp32" | "int8";

export const DEFAULT_PRECISION: InferencePrecision = "int8";

/** The model `npm install` builds for each precision, under models/ (embedded in the compiled binary). */
export const MODEL_FILES: Readonly<Record<InferencePrecision, string>> = {
  fp32: "resnet50.onnx",
  int8: "resnet50-int8.onnx",
};

/** Keys shorter than this are refused at start: guessable, or a placeholder left in. */
export const MIN_API_KEY_LENGTH = 16;

/** Settings whose values must never be repeated in an error message or a log line. */
const SECRET_VARIABLES = new Set(["API_KEYS", "CATALOG_API_TOKEN", "VECTOR_STORE_URL"]);

const httpUrl = z
  .url({ protocol: /^https?$/ })
  .transform((url) => url.replace(/\/+$/, ""));

const neverFetched = (url: URL) =>
  `${url.origin} is a link-local, metadata or unspecified address; the service never fetches from it`;

/** `https://cdn.example, http://img.example:8080` -> normalised origins; anything else is a readable issue. */
const originList = z.preprocess(
  emptyAsUnset,
  z
    .string()
    .default("")
    .transform((value, ctx) => {
      const origins: string[] = [];
      for (const entry of value.split(",").map((part) => part.trim()).filter(Boolean)) {
        const url = URL.parse(entry);
        const isOrigin =
          url !== null &&
          (url.protocol === "http:" || url.protocol === "https:") &&
          !url.username &&
          !url.password &&
          url.pathname === "/" &&
          !url.search &&
          !url.hash;
        if (!isOrigin) {
          const message = `${JSON.stringify(entry)} is not an http(s) origin (scheme://host[:port], no path)`;
          ctx.addIssue({ code: "custom", message });
          return z.NEVER;
        }
        if (isNeverFetched(hostOf(url))) {
          ctx.addIssue({ code: "custom", message: neverFetched(url) });
          return z.NEVER;
        }
        origins.push(url.origin);
      }
      return origins;
    }),
);

const variables = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  HOST: z.string().min(1).default("0.0.0.0"),
  DATA_DIR: z.string().min(1).default("./data"),
  VECTOR_STORE_URL: z.preprocess(
    emptyAsUnset,
    z
      .string()
      // Several hosts (host1:5432,host2:5432) are the client's; the URL is checked as if it named the first only.
      .refine((url) => /^postgres(ql)?:$/.test(URL.parse(withFirstHost(url))?.protocol ?? ""), {
        message: "must be a postgres://user:password@host:5432/database URL",
      })
      .optional(),
  ),
  VECTOR_STORE_POOL_SIZE: positiveInt(10),
  VECTOR_STORE_TIMEOUT_MS: positiveInt(5_000),
  VECTOR_STORE_READ_ONLY: flag,
  MODEL_PATH: z.string().min(1).optional(),
  INFERENCE_PRECISION: z.enum(["fp32", "int8"]).default(DEFAULT_PRECISION),
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
  CATALOG_IMAGE_ORIGINS: originList,
  CATALOG_MAX_PAGES: positiveInt(100_000),
  PUBLIC_URL: z.preprocess(emptyAsUnset, httpUrl.optional()),
  IMAGE_URL_TEMPLATE: z.preprocess(
    emptyAsUnset,
    z.string().includes("{id}", { message: "must contain {id}" }).optional(),
  ),
  MAX_UPLOAD_BYTES: positiveInt(10 * 1024 * 1024),
  LOG_FORMAT: z.preprocess(emptyAsUnset, z.enum(["json", "text"]).optional()),
  // 25 MP: a 6000x4000 camera original; a decoded photo takes width x height x 4 bytes (100 MB at the limit).
  MAX_IMAGE_PIXELS: positiveInt(25_000_000),
  // One full batch (10,000 ids); about 5 minutes of work at ~30 photos/s on 2 cores.
  MAX_QUEUED_PRODUCTS: positiveInt(10_000),
  // Each holds up to MAX_UPLOAD_BYTES of body while it waits for the decoder.
  MAX_PENDING_UPLOADS: positiveInt(16),
  API_KEYS: z.preprocess(emptyAsUnset, z.string().optional()),
  API_KEYS_FILE: z.preprocess(emptyAsUnset, z.string().optional()),
  AUTH_READS: flag,
  ALLOW_ANONYMOUS_WRITES: flag,
  METRICS_REQUIRE_KEY: flag,
  CORS_ORIGINS: z.preprocess(emptyAsUnset, z.string().optional()),
  // Leaves time to save within `docker stop`'s default 10 s.
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(8_000),
  // One per core: each extra loop answers searches on a core of its own (src/http/extra-loop.ts).
  HTTP_LOOPS: positiveInt(availableParallelism()),
});

/** Every environment variable the service reads. */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(variables.shape);

const envSchema = variables.superRefine((env, ctx) => {
  const problem = (variable: string, message: string) => ctx.addIssue({ code: "custom", path: [variable], message });
  if (env.VECTOR_STORE_READ_ONLY && !env.VECTOR_STORE_URL) {
    // The embedded index has one writer per DATA_DIR; only a database can be shared with replicas that write.
    problem("VECTOR_STORE_READ_ONLY", "needs VECTOR_STORE_URL: a search-only replica reads the PostgreSQL index that replicas on the primary write");
  }
  if (env.API_KEYS && env.API_KEYS_FILE) {
    // One source of truth: a key removed from one place must not live on in the other.
    problem("API_KEYS_FILE", "set API_KEYS or API_KEYS_FILE, not both");
  }
  const keysSet = Boolean(env.API_KEYS || env.API_KEYS_FILE);
  if (!keysSet) {
    for (const variable of ["AUTH_READS", "METRICS_REQUIRE_KEY"] as const) {
      if (env[variable]) problem(variable, "needs API_KEYS or API_KEYS_FILE (there is no key to require)");
    }
  } else if (env.ALLOW_ANONYMOUS_WRITES) {
    problem("ALLOW_ANONYMOUS_WRITES", "cannot be true while API keys are set: writes need a key");
  }
  for (const origin of commaList(env.CORS_ORIGINS)) {
    if (!isExactOrigin(origin)) {
      problem("CORS_ORIGINS", `${JSON.stringify(origin)} is not an origin like https://shop.example (scheme, host, optional port; no path, no *)`);
      break;
    }
  }
  if (Boolean(env.CATALOG_API_URL) === Boolean(env.CATALOG_DIR)) {
    ctx.addIssue({
      code: "custom",
      path: ["CATALOG_API_URL"],
      message: "set exactly one of CATALOG_API_URL (a products API) or CATALOG_DIR (a folder of <id>.jpg photos)",
    });
  }
  const apiUrl = env.CATALOG_API_URL ? new URL(env.CATALOG_API_URL) : null;
  if (apiUrl && isNeverFetched(hostOf(apiUrl))) {
    ctx.addIssue({ code: "custom", path: ["CATALOG_API_URL"], message: neverFetched(apiUrl) });
  }
});

export type CatalogConfig =
  | { kind: "api"; baseUrl: string; token: string | undefined }
  | { kind: "folder"; dir: string };

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /**
   * Where the vector index lives: `url` null is the embedded store in `dataDir`; a postgres:// URL is a table in
   * PostgreSQL shared by every replica, through at most `poolSize` connections, each wait bounded by `timeoutMs`.
   * `readOnly`: a search-only replica (pointed at a read replica): no migration, no writes, write routes refused.
   */
  vectorStore: { url: string | null; poolSize: number; timeoutMs: number; readOnly: boolean };
  modelPath: string;
  /** `decodeWorkers`: threads that decode photos, beside the model's `threads`. */
  inference: {
    backend: "native" | "wasm";
    /** Which model MODEL_PATH defaults to, and part of the pipeline's name (int8 vectors differ from fp32 ones). */
    precision: InferencePrecision;
    threads: number;
    batchSize: number;
    decodeWorkers: number;
  };
  catalog: CatalogConfig;
  catalogHttp: {
    timeoutMs: number;
    retries: number;
    concurrency: number;
    /** Origins besides the API's that photos and redirects may come from (a CDN); nothing else is fetched. */
    imageOrigins: string[];
  };
  /** Most pages one catalogue walk reads. */
  catalogMaxPages: number;
  /** `{id}` is replaced by the product id in every `image_url` the service answers with. */
  imageUrlTemplate: string;
  maxUploadBytes: number;
  maxImagePixels: number;
  /** LOG_FORMAT; null when unset: text on a terminal, JSON otherwise (decided by the serve command). */
  logFormat: LogFormat | null;
  /** Products queued or in flight across all write tasks; past it, writes answer 503 QUEUE_FULL. */
  maxQueuedProducts: number;
  /** Uploads being received, decoded or searched at once; past it, uploads answer 503 QUEUE_FULL. */
  maxPendingUploads: number;
  access: AccessConfig;
  /** Origins allowed to call from a browser (CORS); empty: no CORS headers at all. */
  corsOrigins: string[];
  /** After SIGTERM: how long running work may take to finish before it is stopped. */
  shutdownGraceMs: number;
  /** Event loops answering HTTP on the port: the main one and HTTP_LOOPS - 1 extra (with the embedded index only). */
  httpLoops: number;
}

/** Who may do what (see src/http/auth.ts). No keys: writes only from loopback, unless anonymous writes are allowed. */
export interface AccessConfig {
  apiKeys: string[];
  authReads: boolean;
  allowAnonymousWrites: boolean;
  metricsRequireKey: boolean;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * Pure but for API_KEYS_FILE, read through `readTextFile`: the same environment (and file) always gives the same
 * config or the same error.
 */
export function parseConfig(
  env: Record<string, string | undefined>,
  readTextFile: (path: string) => string = (path) => readFileSync(path, "utf8"),
): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? "environment");
    const value = env[variable];
    const shown = value === undefined || SECRET_VARIABLES.has(variable) ? "" : ` (got ${JSON.stringify(value)})`;
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
    vectorStore: {
      url: e.VECTOR_STORE_URL ?? null,
      poolSize: e.VECTOR_STORE_POOL_SIZE,
      timeoutMs: e.VECTOR_STORE_TIMEOUT_MS,
      readOnly: e.VECTOR_STORE_READ_ONLY,
    },
    modelPath: e.MODEL_PATH ?? `./models/${MODEL_FILES[e.INFERENCE_PRECISION]}`,
    inference: {
      backend: e.INFERENCE_BACKEND,
      precision: e.INFERENCE_PRECISION,
      threads: e.INFERENCE_THREADS,
      batchSize: e.INFERENCE_BATCH_SIZE,
      decodeWorkers: e.DECODE_WORKERS,
    },
    catalog,
    catalogHttp: {
      timeoutMs: e.CATALOG_TIMEOUT_MS,
      retries: e.CATALOG_RETRIES,
      concurrency: e.CATALOG_CONCURRENCY,
      imageOrigins: e.CATALOG_IMAGE_ORIGINS,
    },
    catalogMaxPages: e.CATALOG_MAX_PAGES,
    imageUrlTemplate: e.IMAGE_URL_TEMPLATE ?? defaultImageUrl,
    maxUploadBytes: e.MAX_UPLOAD_BYTES,
    maxImagePixels: e.MAX_IMAGE_PIXELS,
    logFormat: e.LOG_FORMAT ?? null,
    maxQueuedProducts: e.MAX_QUEUED_PRODUCTS,
    maxPendingUploads: e.MAX_PENDING_UPLOADS,
    access: {
      apiKeys: readApiKeys(e.API_KEYS, e.API_KEYS_FILE, readTextFile),
      authReads: e.AUTH_READS,
      allowAnonymousWrites: e.ALLOW_ANONYMOUS_WRITES,
      metricsRequireKey: e.METRICS_REQUIRE_KEY,
    },
    corsOrigins: commaList(e.CORS_ORIGINS),
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    httpLoops: e.HTTP_LOOPS,
  };
}

/** API_KEYS is comma-separated; API_KEYS_FILE has one key a line (blank lines and `#` comments skipped). */
function readApiKeys(list: string | undefined, file: string | undefined, readTextFile: (path: string) => string): string[] {
  let keys = commaList(list);
  let variable = "API_KEYS";
  if (file) {
    variable = "API_KEYS_FILE";
    let text: string;
    try {
      text = readTextFile(file);
    } catch (error) {
      throw new ConfigError(`invalid configuration: API_KEYS_FILE: cannot read ${file}: ${(error as Error).message}`);
    }
    keys = text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== "" && !line.startsWith("#"));
    if (keys.length === 0) throw new ConfigError(`invalid configuration: API_KEYS_FILE: ${file} holds no key`);
  }
  // Never the key itself in the message: it would end up in logs.
  keys.forEach((key, index) => {
    if (key.length < MIN_API_KEY_LENGTH || /\s/.test(key)) {
      throw new ConfigError(
        `invalid configuration: ${variable}: key ${index + 1} is too weak: at least ${MIN_API_KEY_LENGTH} characters, ` +
          "no spaces (e.g. openssl rand -hex 32)",
      );
    }
  });
  return keys;
}

/** "https://shop.example" or "http://localhost:3000": what a browser sends as Origin, nothing more. */
function isExactOrigin(origin: string): boolean {
  try {
    const url = new URL(origin);
    return (url.protocol === "http:" || url.protocol === "https:") && url.origin === origin;
  } catch {
    return false;
  }
}

export function imageUrlFor(template: string, productId: number): string {
  return template.replaceAll("{id}", String(productId));
}
