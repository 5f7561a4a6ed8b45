// Schemas shared by several routes: the error envelope, product ids, the task resource. They drive both validation
// and the OpenAPI document.
import { z } from "@hono/zod-openapi";
import { MAX_PRODUCT_ID } from "../store/vector-store.ts";
import { TASK_KINDS } from "../tasks/task-registry.ts";

export const ErrorEnvelope = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "VALIDATION_FAILED" }),
      message: z.string().openapi({ example: "product_id: must be a positive integer" }),
      details: z.unknown().optional(),
    }),
  })
  .openapi("Error");

/**
 * A whole number from a path or query string: digits only, so "0x10", "1e3", "1.0" and "" are refused rather than
 * read as some other number.
 */
export function wholeNumber(options: { min: number; max: number; error?: string }) {
  const error = options.error ?? `must be a whole number from ${options.min} to ${options.max}`;
  return z
    .string()
    .regex(/^\d{1,16}$/, { error })
    .transform(Number)
    .pipe(z.number().min(options.min, { error }).max(options.max, { error }))
    .openapi({ type: "integer", minimum: options.min, maximum: options.max });
}

/** A decimal number from a query string, e.g. "0.8" or ".8"; like wholeNumber, nothing else is read as a number. */
export function decimalNumber(options: { min: number; max: number }) {
  const error = `must be a number from ${options.min} to ${options.max}`;
  return z
    .string()
    .regex(/^(\d{1,16}(\.\d{0,16})?|\.\d{1,16})$/, { error })
    .transform(Number)
    .pipe(z.number().min(options.min, { error }).max(options.max, { error }))
    .openapi({ type: "number", minimum: options.min, maximum: options.max });
}

export const ProductIdParam = z.object({
  product_id: wholeNumber({ min: 1, max: MAX_PRODUCT_ID, error: `must be a positive integer up to ${MAX_PRODUCT_ID}` })
    .openapi({ param: { name: "product_id", in: "path" }, example: 20 }),
});

/** Ids in a JSON body: numbers, not strings. */
export const ProductIdList = z
  .array(z.number().int().min(1).max(MAX_PRODUCT_ID), { error: "must be an array of positive integer product ids" })
  .min(1, { error: "must name at least one product" })
  .max(10_000, { error: "at most 10000 products per request" });

export const TaskSchema = z
  .object({
    task_id: z.string().openapi({ example: "3f1c2a8e-6f7d-4a59-9a3e-0c1b7f4d2e11" }),
    kind: z.enum(TASK_KINDS).openapi({
      description:
        "migrate_index: at start, re-embedding an index that an earlier pipeline made; find_duplicates: GET /embeddings/duplicates on a large index",
    }),
    status: z.enum(["queued", "running", "succeeded", "failed"]),
    product_id: z.number().int().nullable(),
    product_ids: z
      .array(z.number().int())
      .nullable()
      .openapi({ description: "The batch's ids. In GET /tasks, the first 100 only; GET /tasks/{task_id} has them all." }),
    progress: z.object({
      total: z.number().int().openapi({ description: "Products to process; grows as a catalogue walk lists pages." }),
      done: z.number().int(),
      failed: z.number().int(),
    }),
    errors: z
      .array(z.object({ product_id: z.number().int().nullable(), code: z.string(), message: z.string() }))
      .openapi({ description: "The first 100 failures; errors_omitted counts the rest." }),
    errors_omitted: z
      .number()
      .int()
      .openapi({ description: "Failures past the first 100, counted (also in progress.failed) but not listed." }),
    message: z.string().nullable(),
    created_at: z.string(),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
  })
  .openapi("Task");

export const errorResponse = (description: string) => ({
  content: { "application/json": { schema: ErrorEnvelope } },
  description,
});

export const jsonResponse = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});

/** Every route that needs the model or the index answers 503 until both are loaded (and while shutting down). */
export const notReadyResponse = errorResponse("The model or the index is still loading, or the service is shutting down");

/**
 * Writes and uploads: besides NOT_READY and SHUTTING_DOWN, a 503 QUEUE_FULL when too much work is already queued, with
 * Retry-After.
 */
export const busyResponse = {
  ...errorResponse(
    "QUEUE_FULL: too much work is queued (MAX_QUEUED_PRODUCTS, or MAX_PENDING_UPLOADS for uploads); retry after " +
      "Retry-After seconds. Also NOT_READY while the model or the index is loading, SHUTTING_DOWN while shutting down",
  ),
  headers: z.object({
    "Retry-After": z
      .string()
      .optional()
      .openapi({ description: "With QUEUE_FULL: whole seconds to wait, estimated from the recent pace", example: "5" }),
  }),
};

/** How a client sends an API key (API_KEYS): registered as the document's securitySchemes. */
export const API_KEY_SCHEMES = {
  bearerAuth: { type: "http", scheme: "bearer", description: "An API key (API_KEYS) as `Authorization: Bearer <key>`" },
  apiKeyAuth: { type: "apiKey", in: "header", name: "X-API-Key", description: "An API key (API_KEYS) in the X-API-Key header" },
} satisfies Record<string, { type: "http"; scheme: string; description: string } | { type: "apiKey"; in: "header"; name: string; description: string }>;

type SecurityRequirement = Record<string, string[]>;
const WITH_KEY: SecurityRequirement[] = [{ bearerAuth: [] }, { apiKeyAuth: [] }];

/** A write: needs a key when keys are set; with none, a client on the service's own machine (protected mode). */
export const writeAccess = { security: WITH_KEY };
/** A read: needs a key only with AUTH_READS=true. The key comes first so generated clients send it when they have one. */
export const readAccess = { security: [...WITH_KEY, {}] };
/** Probes: never a key. */
export const openAccess = { security: [] as SecurityRequirement[] };

const unauthorized = errorResponse("No API key, or not a valid one (the answer has WWW-Authenticate: Bearer)");
export const readRefusals = { 401: unauthorized };
export const writeRefusals = {
  401: unauthorized,
  403: errorResponse(
    "No API keys are set and the client is not on this machine (protected mode), or a browser sent the write from a " +
      "page on a site not in CORS_ORIGINS",
  ),
  415: errorResponse("A body that is not application/json (a write takes JSON or no body)"),
};
