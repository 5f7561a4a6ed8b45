// The first middleware: gives each request an id (the client's X-Request-Id when it is sane, else a fresh UUID),
// echoes it on the answer, writes one log line per request and counts it in the metrics by route template.
import { randomUUID } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { Logger } from "../observability/log.ts";
import type { RequestRecorder } from "../observability/metrics.ts";
import { socketAddress } from "./client-address.ts";

declare module "hono" {
  interface ContextVariableMap {
    requestId: string;
    logger: Logger;
  }
}

export const REQUEST_ID_HEADER = "X-Request-Id";
const MAX_REQUEST_ID_LENGTH = 128;
/** Printable ASCII only: the id goes into log lines and a response header as it came. */
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;
/** Methods counted under their own name; anything else is `OTHER`, so a client cannot invent label values. */
const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]);

/** The client's request id if it is printable ASCII of 1 to 128 characters; otherwise undefined. */
export function acceptedRequestId(sent: string | undefined): string | undefined {
  return sent && sent.length <= MAX_REQUEST_ID_LENGTH && PRINTABLE_ASCII.test(sent) ? sent : undefined;
}

export function observeRequests(options: { logger: Logger; metrics: RequestRecorder }): MiddlewareHandler {
  const { logger, metrics } = options;
  return async function observeRequest(c, next) {
    const startedAt = performance.now();
    const requestId = acceptedRequestId(c.req.header(REQUEST_ID_HEADER)) ?? randomUUID();
    c.set("requestId", requestId);
    c.set("logger", logger);
    c.header(REQUEST_ID_HEADER, requestId);
    await next();
    echoRequestId(c, requestId);

    const durationMs = performance.now() - startedAt;
    const method = KNOWN_METHODS.has(c.req.method) ? c.req.method : "OTHER";
    const route = routeTemplate(c);
    const { status } = c.res;
    metrics.recordRequest({ method, route, status, seconds: durationMs / 1000 });
    logger.info(`${c.req.method} ${c.req.path} ${status}`, {
      request_id: requestId,
      method: c.req.method,
      path: c.req.path,
      route,
      status,
      duration_ms: Math.round(durationMs * 10) / 10,
      remote_addr: socketAddress(c),
    });
  };
}

/**
 * The OpenAPI-style template of the route that matched (`/similar-products/{product_id}`), or `unmatched`: metrics
 * labelled by raw path would grow a series per product id. Middleware (`*` paths) does not count as a match, so a
 * request refused by one (a 503 while shutting down) is still labelled with the route it asked for.
 */
function routeTemplate(c: Context): string {
  const route = matchedRoutes(c).findLast((candidate) => !candidate.path.includes("*"));
  return route ? route.path.replace(/:(\w+)(\{[^}]*\})?/g, "{$1}") : "unmatched";
}

/** Answers built as a bare Response (static files) do not carry headers set on the context; add it there too. */
function echoRequestId(c: Context, requestId: string): void {
  if (c.res.headers.get(REQUEST_ID_HEADER) === requestId) return;
  try {
    c.res.headers.set(REQUEST_ID_HEADER, requestId);
  } catch {
    // Immutable headers (a response passed through from fetch): copy the response.
    c.res = new Response(c.res.body, c.res);
    c.res.headers.set(REQUEST_ID_HEADER, requestId);
  }
}
