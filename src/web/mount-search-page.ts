// Serves the search page at / with its script, styles and favicon. The files are imported as text, so `bun
// src/main.ts` and the compiled binary both carry them: no CDN, nothing to build, nothing read from disk at run time.
import type { Hono } from "hono";
import { SEARCH_PAGE_POLICY } from "../http/security-headers.ts";
import favicon from "./favicon.svg" with { type: "text" };
import styles from "./search-page.css" with { type: "text" };
import page from "./search-page.html" with { type: "text" };
import script from "./search-page.js" with { type: "text" };

/** Paths of the page and its files: open to everyone, like /docs (the page asks for a key when the API wants one). */
export function isSearchPagePath(path: string): boolean {
  return path === "/" || path.startsWith("/web/") || path === "/favicon.svg" || path === "/favicon.ico";
}

export function mountSearchPage(app: Hono<any, any, any>): void {
  app.get("/", (c) => {
    c.header("Content-Security-Policy", SEARCH_PAGE_POLICY);
    c.header("Cache-Control", "no-cache");
    return c.html(page);
  });
  app.get("/web/search-page.js", () => asset(script, "text/javascript; charset=utf-8"));
  app.get("/web/search-page.css", () => asset(styles, "text/css; charset=utf-8"));
  // Browsers ask for /favicon.ico whatever the page links; an SVG answers both.
  app.get("/favicon.svg", () => asset(favicon, "image/svg+xml"));
  app.get("/favicon.ico", () => asset(favicon, "image/svg+xml"));
}

function asset(text: string, contentType: string): Response {
  // no-cache: revalidated on each load, so a new version of the service never runs with an old script.
  return new Response(text, { headers: { "Content-Type": contentType, "Cache-Control": "no-cache" } });
}
