// Headers for every answer: no MIME sniffing, no Referer; and for HTML (the /docs page) a policy that runs only this
// service's own scripts and cannot be framed by another site.
import type { MiddlewareHandler } from "hono";

/** Swagger UI needs inline styles (it sets style attributes) and data: images (its icons); no inline script. */
const policy = (imgSrc: string) =>
  [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    `img-src ${imgSrc}`,
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");

const HTML_POLICY = policy("'self' data:");

/**
 * The search page (src/web) shows product photos from their image_url, which is wherever the catalogue or
 * IMAGE_URL_TEMPLATE says, often a CDN that the catalogue's URL redirects to: so images from any http(s) origin, and
 * blob: for the preview of the photo being searched with. Images cannot run script, and Referrer-Policy keeps the
 * page's address from those origins; scripts, styles and connections stay 'self'.
 */
export const SEARCH_PAGE_POLICY = policy("'self' data: blob: https: http:");

export function securityHeaders(): MiddlewareHandler {
  return async function securityHeaders(c, next) {
    await next();
    c.res.headers.set("X-Content-Type-Options", "nosniff");
    c.res.headers.set("Referrer-Policy", "no-referrer");
    // A page that set its own policy (the search page) keeps it.
    if (c.res.headers.get("Content-Type")?.startsWith("text/html") && !c.res.headers.has("Content-Security-Policy")) {
      c.res.headers.set("Content-Security-Policy", HTML_POLICY);
    }
  };
}
