// HEAD answers what GET would, without the body: Hono runs the GET route and drops the body, but the length of a
// body Bun would have computed at send time is lost with it, so a HEAD of /openapi.json said Content-Length: 0.
import type { MiddlewareHandler } from "hono";

export function headLikeGet(): MiddlewareHandler {
  return async function headLikeGet(c, next) {
    await next();
    if (c.req.method !== "HEAD" || c.res.body === null || c.res.headers.has("Content-Length")) return;
    const length = (await c.res.clone().arrayBuffer()).byteLength;
    c.res.headers.set("Content-Length", String(length));
  };
}
