// 405 with `Allow` for a known path asked with a method it does not serve, or (on a search-only replica) a write. The
// methods come from the routes the app registered (Hono's route table) and which of them write from the rule auth
// uses, so neither can drift from the routes themselves.
import type { MiddlewareHandler, NotFoundHandler } from "hono";
import { AppError } from "../errors.ts";
import { isWrite } from "./auth.ts";
import { handleNotFound } from "./error-handling.ts";

interface RegisteredRoute {
  path: string;
  method: string;
}

interface PathPattern {
  regex: RegExp;
  /** Parameters and wildcards in the path: fewer is more specific. */
  variables: number;
  methods: Set<string>;
}

/** Allow lists methods in this order. */
const METHOD_ORDER = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

export class AllowedMethods {
  readonly #routes: { readonly routes: RegisteredRoute[] };
  readonly #refuseWrites: boolean;
  #patterns: PathPattern[] | null = null;

  /**
   * Reads the app's routes at the first request, once every router is mounted. `refuseWrites`: a search-only replica,
   * where the write routes are served by none of its methods.
   */
  constructor(app: { readonly routes: RegisteredRoute[] }, options: { refuseWrites?: boolean } = {}) {
    this.#routes = app;
    this.#refuseWrites = options.refuseWrites ?? false;
  }

  /** The methods a request may use at `path`: those its routes serve, less the writes on a search-only replica. */
  at(path: string): string[] {
    const served = this.served(path);
    return this.#refuseWrites ? served.filter((method) => !isWrite(method, path)) : served;
  }

  /**
   * The methods served at `path` by its most specific routes (a fixed segment wins over a parameter, as in
   * /similar-products/upload against /similar-products/{product_id}); HEAD wherever GET is, and OPTIONS. Empty when
   * no route has this path.
   */
  served(path: string): string[] {
    const matching = this.#compile().filter((pattern) => pattern.regex.test(path));
    if (matching.length === 0) return [];
    const fewest = Math.min(...matching.map((pattern) => pattern.variables));
    const methods = new Set(["OPTIONS"]);
    for (const pattern of matching.filter((p) => p.variables === fewest)) {
      for (const method of pattern.methods) methods.add(method);
    }
    if (methods.has("GET")) methods.add("HEAD");
    return METHOD_ORDER.filter((method) => methods.has(method));
  }

  #compile(): PathPattern[] {
    if (this.#patterns) return this.#patterns;
    const byPath = new Map<string, Set<string>>();
    // Middleware is registered with the method ALL, and a catch-all ("*") names no path: only handlers of real
    // paths say what a path serves.
    const servesPaths = (route: RegisteredRoute) => route.method !== "ALL" && route.path !== "*" && route.path !== "/*";
    for (const route of this.#routes.routes.filter(servesPaths)) {
      byPath.set(route.path, (byPath.get(route.path) ?? new Set()).add(route.method));
    }
    this.#patterns = [...byPath].map(([path, methods]) => {
      let variables = 0;
      const source = path
        .split("/")
        .map((segment) => {
          if (segment === "*") return variables++, ".*";
          if (segment.startsWith(":")) return variables++, "[^/]+";
          return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        })
        .join("/");
      return { regex: new RegExp(`^${source}/?$`), variables, methods };
    });
    return this.#patterns;
  }
}

/**
 * Refuses a method the path does not serve, and a write on a search-only replica (before anything of its body is
 * read); OPTIONS goes on (to CORS, or to the 204 of `answerUnmatched`).
 */
export function refuseWrongMethod(allowed: AllowedMethods): MiddlewareHandler {
  return async function refuseWrongMethod(c, next) {
    const { method, path } = c.req;
    const methods = allowed.at(path);
    if (methods.length === 0 || methods.includes(method)) return next();
    const allow = methods.join(", ");
    c.header("Allow", allow);
    if (allowed.served(path).includes(method)) {
      throw new AppError(
        "READ_ONLY_REPLICA",
        405,
        `this replica serves searches only (VECTOR_STORE_READ_ONLY=true), so ${method} ${path} is refused: send writes to a replica on the primary database`,
      );
    }
    throw new AppError("METHOD_NOT_ALLOWED", 405, `${method} is not allowed on ${path}; use ${allow}`);
  };
}

/** No handler matched: OPTIONS on a known path says what it serves (204 with Allow); anything else is 404. */
export function answerUnmatched(allowed: AllowedMethods): NotFoundHandler {
  return function answerUnmatched(c) {
    const methods = c.req.method === "OPTIONS" ? allowed.at(c.req.path) : [];
    if (methods.length > 0) return c.body(null, 204, { Allow: methods.join(", ") });
    return handleNotFound(c);
  };
}
