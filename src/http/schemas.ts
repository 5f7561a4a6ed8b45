// Schemas shared by several routes: the error envelope, product ids, the task resource. They drive both validation
// and the OpenAPI document.
import { z } from "@hono/zod-openapi";
import { ERROR_CODES } from "../errors.ts";
import { MAX_PRODUCT_ID } from "../store/store-limits.ts";
import { TASK_KINDS } from "../tasks/task-registry.ts";

const ErrorCodeSchema = z.enum(ERROR_CODES).openapi("ErrorCode", {
  description: "What went wrong, stable across versions; the message says it for people. See the README's Errors table.",
});

/** The envelope of every non-2xx answer; `details`, where a status has them, is declared by that status's schema. */
function errorEnvelope<Details extends z.ZodType>(name: string, details?: Details) {
  const error = z.object({
    code: ErrorCodeSchema,
    message: z.string().openapi({ example: "product_id: must be a positive integer" }),
  });
  return z.object({ error: details ? error.extend({ details: details.optional() }) : error }).openapi(name);
}

/** Errors with no details: 401, 403, 404, 415, a 503 while loading, 500. */
export const ErrorResponse = errorEnvelope("ErrorResponse");

/** 400: the fields that failed, each with its message (absent for a body that is not JSON at all). */
export const ValidationErrorResponse = errorEnvelope(
  "ValidationErrorResponse",
  z.array(
    z.object({
      field: z.string().openapi({ description: "The parameter or body field, dotted (`product_ids.2`), or `body`" }),
      message: z.string(),
    }),
  ),
);

/** 413: the limit the body went over. */
export const PayloadTooLargeResponse = errorEnvelope(
  "PayloadTooLargeResponse",
  z.object({ maxBytes: z.number().int().openapi({ description: "The limit, in bytes", example: 10485760 }) }),
);

/** 409: the catalogue walk already queued or running. */
export const WalkInProgressResponse = errorEnvelope(
  "WalkInProgressResponse",
  z.object({ task_id: z.uuid().openapi({ description: "The walk to follow at /tasks/{task_id}" }) }),
);

/** 422: with IMAGE_TOO_LARGE, the photo's size and the limit (none with INVALID_IMAGE). */
export const ImageRefusedResponse = errorEnvelope(
  "ImageRefusedResponse",
  z.object({ width: z.number().int(), height: z.number().int(), maxPixels: z.number().int() }),
);

/** 503: with QUEUE_FULL, how full the queue is (none with NOT_READY or SHUTTING_DOWN). */
export const BusyErrorResponse = errorEnvelope(
  "BusyErrorResponse",
  z.object({
    limit: z.number().int().openapi({ description: "MAX_QUEUED_PRODUCTS, or MAX_PENDING_UPLOADS for uploads" }),
    in_use: z.number().int(),
    retry_after_seconds: z.number().int(),
  }),
);

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

export const BOOLEAN_SPELLINGS = "On the wire: true/false, 1/0 or yes/no, in any letter case.";

/**
 * A yes/no query parameter, declared a boolean so generated clients take `true`; the wire accepts what people and old
 * clients type (`1`, `True`, `yes`), and refuses anything else rather than guess.
 */
export function booleanFlag() {
  const error = "must be true or false (also 1/0, yes/no)";
  return z
    .string()
    .regex(/^(true|false|1|0|yes|no)$/i, { error })
    .transform((value) => /^(true|1|yes)$/i.test(value))
    .default(false)
    .openapi({ type: "boolean", default: false });
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

/** Task ids are UUIDs (answers only: a path that names anything else is simply not found). */
export const TaskId = z.string().openapi({ format: "uuid", example: "3f1c2a8e-6f7d-4a59-9a3e-0c1b7f4d2e11" });
const timestamp = z.string().openapi({ format: "date-time", example: "2026-12-02T16:56:23.418Z" });

export const TaskSchema = z
  .object({
    task_id: TaskId,
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
      total: z.number().int().openapi({
        description:
          "Products to process. A catalogue walk from page 1 knows the catalogue's size from its first page; from a " +
          "later page it grows as pages are listed.",
      }),
      done: z.number().int(),
      failed: z.number().int(),
    }),
    errors: z
      .array(z.object({ product_id: z.number().int().nullable(), code: ErrorCodeSchema, message: z.string() }))
      .openapi({ description: "The first 100 failures; errors_omitted counts the rest." }),
    errors_omitted: z
      .number()
      .int()
      .openapi({ description: "Failures past the first 100, counted (also in progress.failed) but not listed." }),
    message: z.string().nullable(),
    created_at: timestamp,
    started_at: timestamp.nullable(),
    finished_at: timestamp.nullable(),
  })
  .openapi("Task");

export const errorResponse = (description: string, schema: z.ZodType = ErrorResponse) => ({
  content: { "application/json": { schema } },
  description,
});

/** A 400 VALIDATION_FAILED, with the failing fields in details. */
export const badRequestResponse = (description: string) => errorResponse(description, ValidationErrorResponse);

export const jsonResponse = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});

/** Every route that needs the model or the index answers 503 until both are loaded (and while shutting down). */
export const notReadyResponse = errorResponse(
  "The model or the index is still loading, the service is shutting down, or the index's database cannot be reached (STORE_UNAVAILABLE)",
);

/**
 * Writes and uploads: besides NOT_READY and SHUTTING_DOWN, a 503 QUEUE_FULL when too much work is already queued, with
 * Retry-After.
 */
export const busyResponse = {
  ...errorResponse(
    "QUEUE_FULL: too much work is queued (MAX_QUEUED_PRODUCTS, or MAX_PENDING_UPLOADS for uploads); retry after " +
      "Retry-After seconds. Also NOT_READY while the model or the index is loading, SHUTTING_DOWN while shutting down",
    BusyErrorResponse,
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
  405: {
    ...errorResponse(
      "READ_ONLY_REPLICA: this replica serves searches only (VECTOR_STORE_READ_ONLY=true); send writes to a replica on " +
        "the primary database. Nothing of the request is read and no task is made",
    ),
    headers: z.object({
      Allow: z.string().openapi({ description: "The methods this path still accepts on this replica", example: "OPTIONS" }),
    }),
  },
  415: errorResponse("A body that is not application/json (a write takes JSON or no body)"),
};
