// Headers for every answer: no MIME sniffing, no Referer; and for HTML (the /docs page) a policy that runs only this
// service's own scripts and cannot be framed by another site.
import type { MiddlewareHandler } from "hono";

/** Swagger UI needs inline styles (it sets style attributes) and data: images (its icons); no inline script. */
const HTML_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

export function securityHeaders(): MiddlewareHandler {
  return async function securityHeaders(c, next) {
    await next();
    c.res.headers.set("X-Content-Type-Options", "nosniff");
    c.res.headers.set("Referrer-Policy", "no-referrer");
    if (c.res.headers.get("Content-Type")?.startsWith("text/html")) {
      c.res.headers.set("Content-Security-Policy", HTML_POLICY);
    }
  };
}
