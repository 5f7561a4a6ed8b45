// Router factory: every router validates with the same hook, so every validation failure looks alike.
import { OpenAPIHono } from "@hono/zod-openapi";
import { validationHook } from "./error-handling.ts";

export function createRouter() {
  return new OpenAPIHono({ strict: false, defaultHook: validationHook });
}

export type Router = ReturnType<typeof createRouter>;
