// What a web page on another site can make a shopper's browser do: nothing that writes. Writes take only JSON
// bodies (a form or text/plain body needs no preflight, so it is refused with 415), writes a browser marks as
// cross-origin are refused, CORS answers only the configured origins, and HTML carries a strict CSP.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  type AppUnderTest,
  call,
  createUnreadyApp,
  expectErrorEnvelope,
  imageForm,
  runTask,
  startAppUnderTest,
} from "../helpers/app-under-test.ts";
import { MODEL_PATH, requireModel } from "../helpers/environment.ts";
import { casesFor } from "./access-table.ts";

/** Bodies a page on another site can send without a preflight, each with the Content-Type the browser sets. */
const CROSS_SITE_BODIES: [string, () => RequestInit][] = [
  ["a text/plain body", () => ({ body: "[1]", headers: { "Content-Type": "text/plain" } })],
  ["a form", () => ({ body: "product_ids=1", headers: { "Content-Type": "application/x-www-form-urlencoded" } })],
  ["an empty form", () => ({ body: "", headers: { "Content-Type": "application/x-www-form-urlencoded" } })],
  ["a multipart form", () => ({ body: imageForm(new Uint8Array([0xff, 0xd8, 0xff, 0xd9])) })],
  ["a body with no type", () => ({ body: new Blob(["[1]"]) })],
];

describe("writes take only JSON bodies", () => {
  const app = createUnreadyApp();

  test.each(casesFor("write").flatMap(([name, entry]) => CROSS_SITE_BODIES.map(([what, body]) => [name, what, entry, body] as const)))(
    "%s with %s is 415",
    async (_, __, entry, body) => {
      const method = entry.init?.().method ?? "POST";
      const response = await call(app, entry.path, { method, ...body() });
      const error = await expectErrorEnvelope(response, 415, "UNSUPPORTED_MEDIA_TYPE");
      expect(error.message).toContain("application/json");
    },
  );

  test.each(["application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8", "application/merge-patch+json"])(
    "a write with %s is JSON",
    async (contentType) => {
      const response = await call(app, "/embeddings/generate", { method: "POST", body: "[1]", headers: { "Content-Type": contentType } });
      expect(response.status).toBe(503); // admitted: the unready app answers NOT_READY
    },
  );

  test("a body-less write needs no Content-Type", async () => {
    for (const path of ["/embeddings/generate", "/embeddings/product/1", "/embeddings/generate-all"]) {
      expect((await call(app, path, { method: "POST" })).status).toBe(503);
    }
  });

  test("an upload (a search) is still multipart", async () => {
    const response = await call(app, "/similar-products/upload", { method: "POST", body: imageForm(new Uint8Array([1])) });
    expect(response.status).toBe(503);
  });
});

describe("writes a browser marks as cross-origin are refused", () => {
  const app = createUnreadyApp({ env: { CORS_ORIGINS: "https://shop.example" } });
  const fromBrowser = (headers: Record<string, string>) => call(app, "/embeddings/generate", { method: "POST", headers });

  test.each([
    [{ "Sec-Fetch-Site": "cross-site", Origin: "https://evil.example" }],
    [{ "Sec-Fetch-Site": "same-site", Origin: "https://evil.localhost" }],
    [{ Origin: "https://evil.example" }],
    [{ Origin: "null" }],
  ])("a body-less POST %j is 403", async (headers) => {
    const error = await expectErrorEnvelope(await fromBrowser(headers), 403, "FORBIDDEN");
    expect(error.message).toContain("CORS_ORIGINS");
  });

  test.each([
    [{}],
    [{ "Sec-Fetch-Site": "same-origin", Origin: "http://localhost" }],
    [{ "Sec-Fetch-Site": "none" }],
    [{ Origin: "http://localhost" }],
    [{ "Sec-Fetch-Site": "cross-site", Origin: "https://shop.example" }],
  ])("a POST %j is admitted", async (headers) => {
    expect((await fromBrowser(headers)).status).toBe(503);
  });

  test("a cross-origin read is answered (CORS decides whether the page may see it)", async () => {
    const response = await call(app, "/embeddings/count", { headers: { "Sec-Fetch-Site": "cross-site", Origin: "https://evil.example" } });
    expect(response.status).toBe(503);
  });
});

describe.skipIf(!MODEL_PATH)("cross-site writes against the real service", () => {
  let subject: AppUnderTest;
  beforeAll(async () => {
    requireModel("cross-site writes against a ready app (test/http/cross-site.test.ts)");
    subject = await startAppUnderTest();
  });
  afterAll(() => subject?.close());

  const taskCount = async () => ((await (await call(subject.app, "/tasks")).json()) as { tasks: unknown[] }).tasks.length;

  test("a text/plain POST of [1] to /embeddings/generate is 415 and starts no task", async () => {
    const before = await taskCount();
    const response = await call(subject.app, "/embeddings/generate", {
      method: "POST",
      body: "[1]",
      headers: { "Content-Type": "text/plain" },
    });
    await expectErrorEnvelope(response, 415, "UNSUPPORTED_MEDIA_TYPE");
    const form = await call(subject.app, "/embeddings/product/1", {
      method: "POST",
      body: "x=1",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    await expectErrorEnvelope(form, 415, "UNSUPPORTED_MEDIA_TYPE");
    expect(await taskCount()).toBe(before);
  });

  test("a body-less POST to /embeddings/generate still walks the catalogue; JSON with a charset still works", async () => {
    expect((await runTask(subject.app, "/embeddings/generate")).kind).toBe("embed_catalog");
    const task = await runTask(subject.app, "/embeddings/generate", {
      method: "POST",
      body: "[1]",
      headers: { "Content-Type": "application/json; charset=utf-8" },
    });
    expect(task.kind).toBe("embed_products");
  });
});

describe("CORS", () => {
  const ORIGIN = "https://shop.example";
  const preflight = (origin: string) => ({
    method: "OPTIONS",
    headers: {
      Origin: origin,
      "Access-Control-Request-Method": "POST",
      "Access-Control-Request-Headers": "authorization, content-type",
    },
  });
  const corsHeaders = (response: Response) =>
    Object.fromEntries([...response.headers].filter(([name]) => name.startsWith("access-control-") || name === "vary"));

  test("a preflight from an allowed origin is 204 with the origin, methods, headers and max age", async () => {
    const app = createUnreadyApp({ env: { CORS_ORIGINS: `http://localhost:3000,${ORIGIN}`, API_KEYS: "k".repeat(32) } });
    const response = await call(app, "/embeddings/product/1", preflight(ORIGIN));
    expect({ status: response.status, headers: corsHeaders(response) }).toEqual({
      status: 204,
      headers: {
        "access-control-allow-origin": ORIGIN,
        "access-control-allow-methods": "GET,HEAD,POST,PUT,DELETE",
        "access-control-allow-headers": "Authorization,X-API-Key,Content-Type,X-Request-Id",
        "access-control-max-age": "600",
        vary: "Origin",
      },
    });
  });

  test("a preflight from another origin gets no allow headers", async () => {
    const app = createUnreadyApp({ env: { CORS_ORIGINS: ORIGIN } });
    const response = await call(app, "/embeddings/product/1", preflight("https://evil.example"));
    expect(corsHeaders(response)).toEqual({ vary: "Origin" });
  });

  test("an answer to an allowed origin names it and exposes Location; others get no CORS headers", async () => {
    const app = createUnreadyApp({ env: { CORS_ORIGINS: ORIGIN } });
    const allowed = await call(app, "/health", { headers: { Origin: ORIGIN } });
    expect(corsHeaders(allowed)).toEqual({
      "access-control-allow-origin": ORIGIN,
      "access-control-expose-headers": "Location,Retry-After,X-Request-Id,WWW-Authenticate",
      vary: "Origin",
    });
    expect(corsHeaders(await call(app, "/health", { headers: { Origin: "https://evil.example" } }))).toEqual({ vary: "Origin" });
  });

  test("with no CORS_ORIGINS there are no CORS headers at all", async () => {
    const app = createUnreadyApp();
    for (const response of [
      await call(app, "/embeddings/product/1", preflight(ORIGIN)),
      await call(app, "/health", { headers: { Origin: ORIGIN } }),
    ]) {
      expect(corsHeaders(response)).toEqual({});
    }
  });
});

describe("security headers", () => {
  const app = createUnreadyApp();

  test("/docs has a CSP with no inline script and no framing, and loads its script from a file", async () => {
    const response = await call(app, "/docs");
    const csp = response.headers.get("Content-Security-Policy") ?? "";
    const directives = Object.fromEntries(csp.split(";").map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values.join(" ")]));
    expect(directives).toMatchObject({
      "default-src": "'none'",
      "script-src": "'self'",
      "frame-ancestors": "'none'",
      "connect-src": "'self'",
      "img-src": "'self' data:",
    });
    expect(response.headers.get("Referrer-Policy")).toBe("no-referrer");
    const html = await response.text();
    // Every <script> has a src: an inline one would be blocked by the policy.
    expect(html.match(/<script[^>]*>/g)).toEqual(['<script src="/docs/swagger-ui-bundle.js">', '<script src="/docs/swagger-init.js">']);
    const init = await call(app, "/docs/swagger-init.js");
    expect(init.headers.get("Content-Type")).toBe("text/javascript; charset=utf-8");
    expect(await init.text()).toContain('url: "/openapi.json"');
  });

  test.each(["/health", "/docs", "/docs/swagger-ui.css", "/openapi.json", "/embeddings/count", "/nope"])(
    "%s answers with X-Content-Type-Options: nosniff",
    async (path) => {
      expect((await call(app, path)).headers.get("X-Content-Type-Options")).toBe("nosniff");
    },
  );

  test("a refused write says nosniff too", async () => {
    const response = await call(createUnreadyApp({ clientAddress: "192.0.2.1" }), "/embeddings/generate", { method: "POST" });
    expect({ status: response.status, nosniff: response.headers.get("X-Content-Type-Options") }).toEqual({ status: 403, nosniff: "nosniff" });
  });
});
