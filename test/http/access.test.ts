// API keys and protected mode on every operation, driven by the live OpenAPI document and the access table: writes
// need a key when keys are set (and a loopback client when none are), reads need one only with AUTH_READS=true, the
// probes and the document never do. Against an app still loading: an admitted request answers 503 NOT_READY.
import { describe, expect, test } from "bun:test";
import { type App, createApp } from "../../src/app.ts";
import { Logger } from "../../src/observability/log.ts";
import { ServiceMetrics } from "../../src/observability/metrics.ts";
import { ServiceSlot } from "../../src/services.ts";
import { call, createUnreadyApp, expectErrorEnvelope, LOCAL_CLIENT, REMOTE_CLIENT } from "../helpers/app-under-test.ts";
import { type AccessCase, ACCESS_TABLE, casesFor, UNDOCUMENTED_OPEN_PATHS } from "./access-table.ts";

const KEY = "current-key-0123456789abcdef";
const PREVIOUS_KEY = "previous-key-0123456789abcdef";
const KEYS = { API_KEYS: `${KEY},${PREVIOUS_KEY}` };

function requestOf(entry: AccessCase, headers: Record<string, string> = {}): RequestInit {
  const init = entry.init?.() ?? {};
  return { ...init, headers: { ...(init.headers as Record<string, string> | undefined), ...headers } };
}

async function send(app: App, entry: AccessCase, headers?: Record<string, string>): Promise<Response> {
  return call(app, entry.path, requestOf(entry, headers));
}

/** Neither refused for who sent it nor for how (the unready app then answers 503, or a 4xx about the input). */
function expectAdmitted(response: Response): void {
  expect([401, 403, 415]).not.toContain(response.status);
}

async function expectUnauthorized(response: Response): Promise<void> {
  expect(response.headers.get("WWW-Authenticate")).toStartWith("Bearer");
  await expectErrorEnvelope(response, 401, "UNAUTHORIZED");
}

interface Operation {
  security?: Record<string, string[]>[];
  responses: Record<string, unknown>;
}

async function openapiDoc() {
  const response = await call(createUnreadyApp(), "/openapi.json");
  return (await response.json()) as {
    paths: Record<string, Record<string, Operation>>;
    components: { securitySchemes?: Record<string, unknown> };
  };
}

describe("the OpenAPI document declares who may call each operation", () => {
  test("every operation of the document is in the access table, and nothing else", async () => {
    const doc = await openapiDoc();
    const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(documented.toSorted()).toEqual(Object.keys(ACCESS_TABLE).toSorted());
  });

  test("a key is sent as a bearer token or in the X-API-Key header", async () => {
    const doc = await openapiDoc();
    expect(doc.components.securitySchemes).toEqual({
      bearerAuth: { type: "http", scheme: "bearer", description: expect.any(String) },
      apiKeyAuth: { type: "apiKey", in: "header", name: "X-API-Key", description: expect.any(String) },
    });
  });

  test("writes require a key and declare 401, 403 and 415; reads take one and declare 401; probes are open", async () => {
    const doc = await openapiDoc();
    const declared = Object.fromEntries(
      Object.entries(ACCESS_TABLE).map(([name]) => {
        const [method, path] = name.split(" ") as [string, string];
        const operation = doc.paths[path]![method.toLowerCase()]!;
        const refusals = ["401", "403", "415"].filter((status) => status in operation.responses);
        return [name, { security: operation.security, refusals }];
      }),
    );
    const withKey = [{ bearerAuth: [] }, { apiKeyAuth: [] }];
    const expected = Object.fromEntries(
      Object.entries(ACCESS_TABLE).map(([name, { access }]) => [
        name,
        access === "write"
          ? { security: withKey, refusals: ["401", "403", "415"] }
          : access === "read" || access === "metrics"
            ? // The key first, so generated clients send it when they have one; {} = anonymous is fine too.
              { security: [...withKey, {}], refusals: name.startsWith("POST") ? ["401", "415"] : ["401"] }
            : { security: [], refusals: [] },
      ]),
    );
    expect(declared).toEqual(expected);
  });
});

describe("with API keys", () => {
  // From another machine, so protected mode has no say: only the key counts.
  const app = createUnreadyApp({ env: KEYS, clientAddress: REMOTE_CLIENT });

  test.each(casesFor("write"))("%s without a key is 401 with WWW-Authenticate: Bearer", async (_, entry) => {
    await expectUnauthorized(await send(app, entry));
  });

  test.each(casesFor("write"))("%s with a wrong key is 401", async (_, entry) => {
    for (const headers of <Record<string, string>[]>[
      { Authorization: "Bearer wrong-key-0123456789abcdef" },
      { Authorization: `Bearer ${KEY}x` },
      { Authorization: `Bearer ${KEY.slice(0, -1)}` },
      { "X-API-Key": "wrong-key-0123456789abcdef" },
      { Authorization: `Basic ${btoa(`user:${KEY}`)}` },
      { Authorization: "Bearer" },
    ]) {
      await expectUnauthorized(await send(app, entry, headers));
    }
  });

  test.each(casesFor("write"))("%s with a right key, as a bearer token or X-API-Key, gets through", async (_, entry) => {
    for (const headers of <Record<string, string>[]>[
      { Authorization: `Bearer ${KEY}` },
      { Authorization: `bearer ${PREVIOUS_KEY}` },
      { "X-API-Key": KEY },
      { "X-API-Key": PREVIOUS_KEY },
    ]) {
      expectAdmitted(await send(app, entry, headers));
    }
  });

  test.each([...casesFor("read"), ...casesFor("open")])("%s needs no key (AUTH_READS=false)", async (_, entry) => {
    expectAdmitted(await send(app, entry));
  });

  test("a write from loopback needs a key too", async () => {
    const local = createUnreadyApp({ env: KEYS, clientAddress: LOCAL_CLIENT });
    await expectUnauthorized(await call(local, "/embeddings/product/1", { method: "DELETE" }));
  });

  test("the 401 says how to send a key, and never repeats the key sent", async () => {
    const response = await call(app, "/embeddings/product/1", {
      method: "DELETE",
      headers: { Authorization: "Bearer wrong-key-0123456789abcdef" },
    });
    const error = await expectErrorEnvelope(response, 401, "UNAUTHORIZED");
    expect(error.message).toContain("Authorization: Bearer");
    expect(error.message).toContain("X-API-Key");
    expect(JSON.stringify(error)).not.toContain("wrong-key");
  });
});

describe("with AUTH_READS=true", () => {
  const app = createUnreadyApp({ env: { ...KEYS, AUTH_READS: "true" }, clientAddress: REMOTE_CLIENT });

  test.each(casesFor("read"))("%s without a key is 401, with one gets through", async (_, entry) => {
    await expectUnauthorized(await send(app, entry));
    expectAdmitted(await send(app, entry, { "X-API-Key": KEY }));
  });

  test.each([...casesFor("open").map(([name, entry]) => [name, entry.path] as const), ...UNDOCUMENTED_OPEN_PATHS.map((path) => [path, path] as const)])(
    "%s stays open",
    async (_, path) => {
      expect((await call(app, path)).status).toBe(path === "/ready" ? 503 : 200);
    },
  );

  test("/metrics stays open unless METRICS_REQUIRE_KEY=true", async () => {
    expect((await call(app, "/metrics")).status).not.toBe(401);
    const keyed = createUnreadyApp({ env: { ...KEYS, METRICS_REQUIRE_KEY: "true" }, clientAddress: REMOTE_CLIENT });
    await expectUnauthorized(await call(keyed, "/metrics"));
    expect((await call(keyed, "/metrics", { headers: { "X-API-Key": KEY } })).status).not.toBe(401);
  });
});

describe("protected mode: no keys set", () => {
  test.each(casesFor("write"))("%s from another machine is 403, saying how to allow it", async (_, entry) => {
    const app = createUnreadyApp({ clientAddress: REMOTE_CLIENT });
    const error = await expectErrorEnvelope(await send(app, entry), 403, "FORBIDDEN");
    expect(error.message).toContain("API_KEYS");
    expect(error.message).toContain("ALLOW_ANONYMOUS_WRITES=true");
  });

  test.each(["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1"])(
    "a write from loopback (%s) is accepted",
    async (address) => {
      const app = createUnreadyApp({ clientAddress: address });
      for (const [, entry] of casesFor("write")) expectAdmitted(await send(app, entry));
    },
  );

  test.each(["10.0.0.1", "128.0.0.1", "::ffff:10.0.0.1", "::2", "fe80::1", "0.0.0.0", "::"])(
    "a write from %s is refused",
    async (address) => {
      const app = createUnreadyApp({ clientAddress: address });
      await expectErrorEnvelope(await call(app, "/embeddings/product/1", { method: "POST" }), 403, "FORBIDDEN");
    },
  );

  test.each(["Forwarded", "X-Forwarded-For", "X-Real-IP"])(
    "a write from loopback that came through a proxy (%s) is refused",
    async (header) => {
      const app = createUnreadyApp({ clientAddress: LOCAL_CLIENT });
      const response = await call(app, "/embeddings/product/1", { method: "POST", headers: { [header]: "for=192.0.2.7" } });
      await expectErrorEnvelope(response, 403, "FORBIDDEN");
    },
  );

  test("an app given no settings is in protected mode, and without a socket the client is not local", async () => {
    const services = new ServiceSlot();
    const metrics = new ServiceMetrics(() => services.current);
    const logger = new Logger({ format: "json", sink: () => {} });
    const app = createApp({ services, maxUploadBytes: 1024, version: "test", metrics, logger });
    await expectErrorEnvelope(await call(app, "/embeddings/product/1", { method: "PUT" }), 403, "FORBIDDEN");
  });

  test("a write from an unknown address is refused", async () => {
    const app = createUnreadyApp({ clientAddress: null });
    await expectErrorEnvelope(await call(app, "/embeddings/generate", { method: "POST" }), 403, "FORBIDDEN");
  });

  test.each([...casesFor("read"), ...casesFor("open")])("%s from another machine is open", async (_, entry) => {
    expectAdmitted(await send(createUnreadyApp({ clientAddress: REMOTE_CLIENT }), entry));
  });

  test.each(casesFor("write"))("%s from another machine is accepted with ALLOW_ANONYMOUS_WRITES=true", async (_, entry) => {
    const app = createUnreadyApp({ env: { ALLOW_ANONYMOUS_WRITES: "true" }, clientAddress: REMOTE_CLIENT });
    expectAdmitted(await send(app, entry));
  });
});
