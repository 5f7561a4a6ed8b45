// Who may call what. With API keys: writes need a key (reads too with AUTH_READS), sent as `Authorization: Bearer`
// or `X-API-Key` and compared in constant time. With none: Redis's "protected mode", writes only from loopback.
import { createHash, timingSafeEqual } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import type { AccessConfig } from "../config.ts";
import { AppError } from "../errors.ts";
import { type ClientAddress, socketAddress } from "./client-address.ts";
import { isSearchPagePath } from "../web/mount-search-page.ts";

const METRICS_PATH = "/metrics";
const UNSAFE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);
/** Searches that take their photo in a POST: they change nothing, so they are reads. */
const SEARCHES_BY_POST = new Set(["/similar-products/upload"]);

const HOW_TO_SEND = "send it as `Authorization: Bearer <key>` or `X-API-Key: <key>`";
const PROTECTED_MODE =
  "writes are accepted only from this machine (protected mode: no API keys are set). Set API_KEYS (or " +
  "API_KEYS_FILE) and send a key as `Authorization: Bearer <key>`, or set ALLOW_ANONYMOUS_WRITES=true to let " +
  "anyone who can reach the service write";

/** No keys and no anonymous writes: protected mode. */
const NO_KEYS: AccessConfig = { apiKeys: [], authReads: false, allowAnonymousWrites: false, metricsRequireKey: false };

export function isWrite(method: string, path: string): boolean {
  return UNSAFE_METHODS.has(method) && !SEARCHES_BY_POST.has(path);
}

/**
 * Probes, the API's own description, the search page (which asks for a key itself) and (unless METRICS_REQUIRE_KEY)
 * the metrics need nothing, whatever the mode.
 */
function isOpen(path: string, access: AccessConfig): boolean {
  if (path === METRICS_PATH) return !access.metricsRequireKey;
  if (isSearchPagePath(path)) return true;
  return path === "/health" || path === "/ready" || path === "/openapi.json" || path === "/docs" || path.startsWith("/docs/");
}

export function requireAccess(access = NO_KEYS, clientAddress = socketAddress): MiddlewareHandler {
  const keyDigests = access.apiKeys.map(digest);
  return async function requireAccess(c, next) {
    const path = c.req.path;
    if (isOpen(path, access)) return next();
    const write = isWrite(c.req.method, path);
    if (keyDigests.length > 0) {
      if (write || access.authReads || path === METRICS_PATH) {
        const presented = presentedKey(c);
        if (presented === undefined || !matchesAnyKey(presented, keyDigests)) {
          const wrong = presented !== undefined;
          c.header("WWW-Authenticate", wrong ? 'Bearer error="invalid_token"' : "Bearer");
          throw new AppError("UNAUTHORIZED", 401, wrong ? `the API key is not valid; ${HOW_TO_SEND}` : `an API key is needed: ${HOW_TO_SEND}`);
        }
      }
    } else if (write && !access.allowAnonymousWrites && !isLocalClient(c, clientAddress)) {
      throw new AppError("FORBIDDEN", 403, PROTECTED_MODE);
    }
    await next();
  };
}

/** The start-up line: which of the three modes the service is in. */
export function describeAccess(access: AccessConfig): string {
  if (access.apiKeys.length > 0) {
    const metrics = access.metricsRequireKey ? ", /metrics needs a key" : "";
    return `auth: API keys (${access.apiKeys.length}), reads ${access.authReads ? "need a key" : "open"}${metrics}`;
  }
  if (access.allowAnonymousWrites) return "anonymous writes allowed (ALLOW_ANONYMOUS_WRITES=true)";
  return "protected mode: writes only from loopback; set API_KEYS (or API_KEYS_FILE) to accept writes from other machines";
}

/** Headers a proxy adds: a request that carries one came from somewhere else, even if the proxy is local. */
const PROXY_HEADERS = ["Forwarded", "X-Forwarded-For", "X-Real-IP"];

function isLocalClient(c: Context, clientAddress: ClientAddress): boolean {
  return isLoopback(clientAddress(c)) && PROXY_HEADERS.every((name) => c.req.header(name) === undefined);
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 (::ffff:127.x.y.z), in any spelling. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address)) return true;
  if (!address.includes(":")) return false;
  let canonical: string;
  try {
    canonical = new URL(`http://[${address}]/`).hostname; // WHATWG URL spells IPv6 one way: [::1], [::ffff:7f00:1]
  } catch {
    return false;
  }
  return canonical === "[::1]" || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(canonical);
}

function presentedKey(c: Context): string | undefined {
  const bearer = /^Bearer +(\S+) *$/i.exec(c.req.header("Authorization") ?? "")?.[1];
  return bearer ?? c.req.header("X-API-Key");
}

/** Fixed-length digests, so neither the comparison's time nor its length checks say anything about a key. */
function digest(key: string): Buffer {
  return createHash("sha256").update(key).digest();
}

function matchesAnyKey(presented: string, keyDigests: Buffer[]): boolean {
  const candidate = digest(presented);
  let matched = false;
  // Every key is compared, so the time does not tell which key (if any) matched.
  for (const keyDigest of keyDigests) matched = timingSafeEqual(candidate, keyDigest) || matched;
  return matched;
}
