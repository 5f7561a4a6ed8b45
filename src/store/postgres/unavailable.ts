// Which PostgreSQL failures mean "the database cannot be reached right now" (the service answers 503 and retries by
// itself) rather than a fault in a request or in the code.
import { AppError } from "../../errors.ts";

/** Socket failures and the `postgres` client's own connection errors. */
const CONNECTION_ERRORS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
]);

/**
 * SQLSTATEs: class 08 (connection exception), 53300 too many connections, 57014 statement timeout, 57P01-57P05
 * shutdown or crash of the server, 25006 read-only transaction (a failover made this server a standby).
 */
function isServerUnavailable(sqlState: string): boolean {
  return sqlState.startsWith("08") || sqlState.startsWith("57P") || ["53300", "57014", "25006"].includes(sqlState);
}

/** A socket or connection that failed under one operation (not the server refusing it): another connection may work. */
export function isLostConnection(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && CONNECTION_ERRORS.has(code);
}

export function isUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return false;
  return CONNECTION_ERRORS.has(code) || ((error as Error).name === "PostgresError" && isServerUnavailable(code));
}

/** STORE_UNAVAILABLE (503, Retry-After) for an unreachable database; anything else as it is. */
export function asStoreError(error: unknown, location: string): unknown {
  if (!isUnavailable(error)) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new AppError("STORE_UNAVAILABLE", 503, `the vector index (PostgreSQL at ${location}) is unavailable: ${reason}`, undefined, {
    "Retry-After": "5",
  });
}
