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

/** What every listener of the service shares (this one, the extra HTTP loops' and their relay's). */
export const SERVER_LIMITS = { maxRequestBodySize: SERVER_BODY_LIMIT_BYTES, idleTimeout: 120 };

/**
 * `reusePort`: the extra HTTP loops (extra-loop.ts) listen on the same port, the kernel handing each new connection
 * to one of them. That lets any later socket of the same user with SO_REUSEPORT share the port too, so the port is
 * first bound without it: a port another process holds, even another instance of this service, fails as it should.
 */
export function startHttpServer(app: App, options: HttpServerOptions): Server<undefined> {
  const probe = Bun.serve({ hostname: options.hostname, port: options.port, fetch: () => new Response(null, { status: 503 }) });
  const port = probe.port;
  probe.stop(true);
  return Bun.serve({
    hostname: options.hostname,
    port,
    fetch: (request, server) => app.fetch(withAbsoluteUrl(request), server),
    reusePort: true,
    ...SERVER_LIMITS,
  });
}

/**
 * Without a Host header Bun gives the request a bare path as its URL ("/health"), and Hono, which finds the path
 * after the scheme's "://", routes it as its last character ("h").
 */
export function withAbsoluteUrl(request: Request): Request {
  if (!request.url.startsWith("/")) return request;
  return new Request(new URL(request.url, PLACEHOLDER_ORIGIN).href, request);
}
