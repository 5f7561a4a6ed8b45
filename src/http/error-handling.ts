// Every non-2xx answer is the same JSON envelope: validation failures, our AppErrors, Hono's own HTTPExceptions
// (malformed JSON, body too large) and unknown errors, which are logged (with the request id) and never shown to the
// client.
import type { Hook } from "@hono/zod-openapi";
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ZodError } from "zod";
import { AppError, type ErrorCode } from "../errors.ts";

export function errorBody(code: ErrorCode, message: string, details?: unknown) {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

export function describeIssues(error: ZodError): { message: string; details: { field: string; message: string }[] } {
  const details = error.issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.join(".") : "body",
    message: issue.message,
  }));
  return { message: details.map((d) => `${d.field}: ${d.message}`).join("; "), details };
}

/** Turns a failed zod validation into a 400 with the failing fields. */
export const validationHook: Hook<unknown, any, any, unknown> = (result, c) => {
  if (!result.success) {
    const { message, details } = describeIssues(result.error as ZodError);
    return c.json(errorBody("VALIDATION_FAILED", message, details), 400);
  }
};

export const handleError: ErrorHandler = (error, c) => {
  if (error instanceof AppError) {
    for (const [name, value] of Object.entries(error.headers ?? {})) c.header(name, value);
    return c.json(errorBody(error.code, error.message, error.details), error.status as ContentfulStatusCode);
  }
  if (error instanceof HTTPException) {
    return fromHttpException(error, c);
  }
  c.var.logger.error(`${c.req.method} ${c.req.path} failed`, error, {
    request_id: c.var.requestId,
    method: c.req.method,
    path: c.req.path,
  });
  return c.json(errorBody("INTERNAL", "internal error; see the service log"), 500);
};

export const handleNotFound: NotFoundHandler = (c) =>
  c.json(errorBody("NOT_FOUND", `no route for ${c.req.method} ${c.req.path}`), 404);

function fromHttpException(error: HTTPException, c: Context) {
  const status = error.status as ContentfulStatusCode;
  const code: ErrorCode =
    status === 413 ? "PAYLOAD_TOO_LARGE" : status === 415 ? "UNSUPPORTED_MEDIA_TYPE" : status < 500 ? "VALIDATION_FAILED" : "INTERNAL";
  return c.json(errorBody(code, error.message || "bad request"), status);
}
