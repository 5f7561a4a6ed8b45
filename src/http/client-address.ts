// The client's IP address as the Bun server saw the socket, for protected mode and for the request log alike.
import type { Context } from "hono";
import { getConnInfo } from "hono/bun";

/** The client's IP address; undefined when unknown. */
export type ClientAddress = (c: Context) => string | undefined;

/**
 * What the Bun server saw: `Bun.serve({ fetch: app.fetch })` passes the server as Hono's env, where getConnInfo
 * finds it. Without a server (app.request()) the address is unknown.
 */
export const socketAddress: ClientAddress = (c) => {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined;
  }
};
