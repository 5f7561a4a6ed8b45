// The log line formats (JSON for collectors, text for a terminal), the LOG_FORMAT default, and an unexpected error
// logged by the error handler with the request's id.
import { describe, expect, test } from "bun:test";
import { OpenAPIHono } from "@hono/zod-openapi";
import { handleError } from "../../src/http/error-handling.ts";
import { observeRequests } from "../../src/http/request-log.ts";
import { Logger, resolveLogFormat } from "../../src/observability/log.ts";
import { ServiceMetrics } from "../../src/observability/metrics.ts";

const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

function capture(format: "json" | "text") {
  const lines: string[] = [];
  return { lines, logger: new Logger({ format, sink: (line) => lines.push(line) }) };
}

describe("Logger", () => {
  test("JSON: one object per line with time, level, msg and the fields; unset fields left out", () => {
    const { lines, logger } = capture("json");
    logger.info("listening on http://127.0.0.1:8000", { port: 8000, host: undefined });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual({
      time: expect.stringMatching(TIME),
      level: "info",
      msg: "listening on http://127.0.0.1:8000",
      port: 8000,
    });
  });

  test("text: time, message, then key=value (quoted when needed), the stack on the following lines", () => {
    const { lines, logger } = capture("text");
    logger.info("task embed_products succeeded", { task_id: "t-1", done: 3, message: "all done" });
    const error = new Error("boom");
    logger.error("GET /x failed", error, { request_id: "r-1" });
    expect(lines[0]).toMatch(/^\S+Z task embed_products succeeded task_id=t-1 done=3 message="all done"$/);
    expect(lines[1]!.split("\n")[0]).toMatch(/^\S+Z ERROR GET \/x failed request_id=r-1 error=boom$/);
    expect(lines[1]).toContain(error.stack!);
  });

  test("LOG_FORMAT wins; unset, a terminal gets text and anything else JSON", () => {
    expect([
      resolveLogFormat("json", true),
      resolveLogFormat("text", false),
      resolveLogFormat(null, true),
      resolveLogFormat(null, false),
    ]).toEqual(["json", "text", "text", "json"]);
  });
});

test("an unexpected error is logged with the request id, and the 500 carries that id", async () => {
  const { lines, logger } = capture("json");
  const app = new OpenAPIHono();
  app.onError(handleError);
  app.use(observeRequests({ logger, metrics: new ServiceMetrics(() => null) }));
  app.get("/explode", () => {
    throw new Error("kaboom");
  });
  const response = await app.request("/explode", { headers: { "X-Request-Id": "req-500" } });
  expect({ status: response.status, id: response.headers.get("X-Request-Id") }).toEqual({ status: 500, id: "req-500" });
  const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(logged.map(({ level, msg, request_id, error }) => ({ level, msg, request_id, error }))).toEqual([
    { level: "error", msg: "GET /explode failed", request_id: "req-500", error: "kaboom" },
    { level: "info", msg: "GET /explode 500", request_id: "req-500", error: undefined },
  ]);
});
