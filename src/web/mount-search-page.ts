// Serves the search page at / with its script, styles and favicon. The files are imported as text, so `bun
// src/main.ts` and the compiled binary both carry them: no CDN, nothing to build, nothing read from disk at run time.
import type { Hono } from "hono";
import { SEARCH_PAGE_POLICY } from "../http/security-headers.ts";
import apiClient from "./api-client.js" with { type: "text" };
import duplicatesPanel from "./duplicates-panel.js" with { type: "text" };
import favicon from "./favicon.svg" with { type: "text" };
import styles from "./search-page.css" with { type: "text" };
import page from "./search-page.html" with { type: "text" };
import script from "./search-page.js" with { type: "text" };
import serviceStatus from "./service-status.js" with { type: "text" };

const JAVASCRIPT = "text/javascript; charset=utf-8";

/** The page's files under /web/, by name: its script (ES modules that import one another) and styles. */
const FILES: Record<string, [text: string, contentType: string]> = {
  "search-page.js": [script, JAVASCRIPT],
  "api-client.js": [apiClient, JAVASCRIPT],
  "service-status.js": [serviceStatus, JAVASCRIPT],
  "duplicates-panel.js": [duplicatesPanel, JAVASCRIPT],
  "search-page.css": [styles, "text/css; charset=utf-8"],
};

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
  for (const [name, [text, contentType]] of Object.entries(FILES)) {
    app.get(`/web/${name}`, () => asset(text, contentType));
  }
  // Browsers ask for /favicon.ico whatever the page links; an SVG answers both.
  app.get("/favicon.svg", () => asset(favicon, "image/svg+xml"));
  app.get("/favicon.ico", () => asset(favicon, "image/svg+xml"));
}

function asset(text: string, contentType: string): Response {
  // no-cache: revalidated on each load, so a new version of the service never runs with an old script.
  return new Response(text, { headers: { "Content-Type": contentType, "Cache-Control": "no-cache" } });
}
