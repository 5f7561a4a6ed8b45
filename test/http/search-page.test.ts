// The search page's files as the service serves them (the browser test, test/e2e/search-page.test.ts, uses them):
// from the service itself with no CDN, open to everyone like /docs, under a policy that runs only its own script.
import { describe, expect, test } from "bun:test";
import { call, createUnreadyApp } from "../helpers/app-under-test.ts";

const KEY = "search-page-test-key-0123456789";

function directives(csp: string | null): Record<string, string> {
  return Object.fromEntries((csp ?? "").split(";").map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values.join(" ")]));
}

describe("GET /", () => {
  // With keys and AUTH_READS, the page still loads: it is the page that asks for the key.
  const app = createUnreadyApp({ env: { API_KEYS: KEY, AUTH_READS: "true" } });

  test("is the search page, loading only this service's script and styles, even where reads need a key", async () => {
    const response = await call(app, "/");
    expect({ status: response.status, type: response.headers.get("Content-Type") }).toEqual({
      status: 200,
      type: "text/html; charset=UTF-8",
    });
    const html = await response.text();
    expect(html).toContain('<script type="module" src="/web/search-page.js"></script>');
    expect(html).toContain('<link rel="stylesheet" href="/web/search-page.css">');
    expect(html).toContain('<link rel="icon" href="/favicon.svg" type="image/svg+xml">');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    // No inline script: the policy forbids it.
    expect(html.match(/<script\b[^>]*>/g)).toEqual(['<script type="module" src="/web/search-page.js">']);
  });

  test("its policy runs only this service's script and calls only this service, but shows photos from any catalogue", async () => {
    const response = await call(app, "/");
    expect(directives(response.headers.get("Content-Security-Policy"))).toEqual({
      "default-src": "'none'",
      "script-src": "'self'",
      "style-src": "'self' 'unsafe-inline'",
      "img-src": "'self' data: blob: https: http:",
      "connect-src": "'self'",
      "base-uri": "'none'",
      "form-action": "'self'",
      "frame-ancestors": "'none'",
    });
    // /docs keeps its own, narrower policy.
    expect(directives((await call(app, "/docs")).headers.get("Content-Security-Policy"))["img-src"]).toBe("'self' data:");
  });

  test.each([
    ["/web/search-page.js", "text/javascript; charset=utf-8", "/similar-products/upload"],
    ["/web/api-client.js", "text/javascript; charset=utf-8", "sessionStorage"],
    ["/web/service-status.js", "text/javascript; charset=utf-8", "/embeddings/generate-all"],
    ["/web/search-page.css", "text/css; charset=utf-8", ".grid"],
    ["/favicon.svg", "image/svg+xml", "<svg"],
    ["/favicon.ico", "image/svg+xml", "<svg"],
  ])("serves %s as %s, without a key", async (path, type, marker) => {
    const response = await call(app, path);
    expect({ status: response.status, type: response.headers.get("Content-Type") }).toEqual({ status: 200, type });
    expect(await response.text()).toContain(marker);
  });

  test("the API behind it still needs the key", async () => {
    expect((await call(app, "/embeddings/count")).status).toBe(401);
  });
});
