// Writes a web page on another site cannot make a browser send. A form or text/plain body needs no CORS preflight,
// so writes take only JSON bodies; and a write the browser itself marks as cross-origin (Sec-Fetch-Site, Origin)
// is refused unless its origin is listed in CORS_ORIGINS, which also covers body-less POSTs.
import type { MiddlewareHandler } from "hono";
import { AppError } from "../errors.ts";
import { isWrite } from "./auth.ts";

/** application/json or application/<something>+json, any parameters (charset). */
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json\s*(;|$)/i;

/** A write's Content-Type, when it has one, must be JSON, and a body needs one; no body at all is fine. */
export function requireJsonBodies(): MiddlewareHandler {
  return async function requireJsonBodies(c, next) {
    if (isWrite(c.req.method, c.req.path)) {
      const contentType = c.req.header("Content-Type");
      const hasBody = c.req.raw.body !== null && c.req.header("Content-Length") !== "0";
      if (contentType !== undefined ? !JSON_MEDIA_TYPE.test(contentType) : hasBody) {
        throw new AppError(
          "UNSUPPORTED_MEDIA_TYPE",
          415,
          `a write takes a body only as application/json (got ${contentType ?? "a body with no Content-Type"})`,
        );
      }
    }
    await next();
  };
}

/**
 * What Go's net/http CrossOriginProtection does: a browser says where a request comes from (Sec-Fetch-Site, or at
 * least Origin); clients that are not browsers send neither and pass.
 */
export function refuseCrossOriginWrites(allowedOrigins: readonly string[]): MiddlewareHandler {
  const allowed = new Set(allowedOrigins);
  return async function refuseCrossOriginWrites(c, next) {
    if (isWrite(c.req.method, c.req.path)) {
      const site = c.req.header("Sec-Fetch-Site");
      const origin = c.req.header("Origin");
      const sameOrigin =
        site === "same-origin" || site === "none" || (site === undefined && (origin === undefined || hostOf(origin) === new URL(c.req.url).host));
      if (!sameOrigin && !(origin !== undefined && allowed.has(origin))) {
        throw new AppError(
          "FORBIDDEN",
          403,
          `a write from a page on another site (Origin: ${origin ?? "unknown"}) is refused; list the site in CORS_ORIGINS to allow it`,
        );
      }
    }
    await next();
  };
}

function hostOf(origin: string): string | null {
  try {
    return new URL(origin).host;
  } catch {
    return null;
  }
}
