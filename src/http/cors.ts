// CORS for the origins in CORS_ORIGINS only (exact matches): a preflight from one of them is answered 204 with what
// a browser page may send; any other origin gets no allow headers, so its browser keeps the answers from it.
import type { MiddlewareHandler } from "hono";

const ALLOWED_METHODS = "GET,HEAD,POST,PUT,DELETE";
const ALLOWED_HEADERS = "Authorization,X-API-Key,Content-Type,X-Request-Id";
/** Headers a page may read from an answer: where a task is, when to retry, the request id, why it was refused. */
const EXPOSED_HEADERS = "Location,Retry-After,X-Request-Id,WWW-Authenticate";
const PREFLIGHT_MAX_AGE_SECONDS = "600";

export function corsForOrigins(origins: readonly string[]): MiddlewareHandler {
  const allowed = new Set(origins);
  return async function corsForOrigins(c, next) {
    const origin = c.req.header("Origin");
    const isAllowed = origin !== undefined && allowed.has(origin);
    if (c.req.method === "OPTIONS" && origin !== undefined && c.req.header("Access-Control-Request-Method")) {
      const headers = new Headers({ Vary: "Origin" });
      if (isAllowed) {
        headers.set("Access-Control-Allow-Origin", origin);
        headers.set("Access-Control-Allow-Methods", ALLOWED_METHODS);
        headers.set("Access-Control-Allow-Headers", ALLOWED_HEADERS);
        headers.set("Access-Control-Max-Age", PREFLIGHT_MAX_AGE_SECONDS);
      }
      return new Response(null, { status: 204, headers });
    }
    await next();
    // Answers differ by Origin, so caches must keep them apart.
    c.res.headers.append("Vary", "Origin");
    if (isAllowed) {
      c.res.headers.set("Access-Control-Allow-Origin", origin);
      c.res.headers.set("Access-Control-Expose-Headers", EXPOSED_HEADERS);
    }
  };
}
