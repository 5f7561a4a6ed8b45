// The HTTP server around the app (Bun.serve): what the server itself must get right before a request reaches a
// route, so `serve` and the tests that talk to a real socket run the same thing.
import type { Server } from "bun";
import type { App } from "../app.ts";

export interface HttpServerOptions {
  hostname: string;
  port: number;
}

/**
 * Bun's own body limit. The routes refuse bodies far smaller than this with the JSON 413 (from Content-Length
 * before reading, or by counting a chunked body); Bun then reads and discards the rest of the body before closing,
 * so a client still writing can read that answer instead of a reset. Past this limit Bun answers a bare 413 itself.
 */
const SERVER_BODY_LIMIT_BYTES = 1024 * 1024 * 1024;

/** Stands in for the Host header an HTTP/1.0 request may lack; only the path and query are routed. */
const PLACEHOLDER_ORIGIN = "http://localhost";

export function startHttpServer(app: App, options: HttpServerOptions): Server<undefined> {
  return Bun.serve({
    hostname: options.hostname,
    port: options.port,
    fetch: (request, server) => app.fetch(withAbsoluteUrl(request), server),
    maxRequestBodySize: SERVER_BODY_LIMIT_BYTES,
    idleTimeout: 120,
  });
}

/**
 * Without a Host header Bun gives the request a bare path as its URL ("/health"), and Hono, which finds the path
 * after the scheme's "://", routes it as its last character ("h").
 */
function withAbsoluteUrl(request: Request): Request {
  if (!request.url.startsWith("/")) return request;
  return new Request(new URL(request.url, PLACEHOLDER_ORIGIN).href, request);
}
