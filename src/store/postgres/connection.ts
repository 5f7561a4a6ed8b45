// The connection pool to the index's PostgreSQL: pooled, bounded waits, connections renewed so that a failover or a
// proxy's restart is picked up without restarting the service. TLS and other settings ride in the URL.
import postgres, { type Sql } from "postgres";
import { hostsOf, withFirstHost } from "./database-url.ts";

export const POOL_SIZE = 10;
export const TIMEOUT_MS = 5_000;

export interface ConnectionOptions {
  /** postgres://user:password@host:5432/db?sslmode=require (TLS settings, application_name and the like ride along). */
  url: string;
  /** Connections this replica keeps open at most (VECTOR_STORE_POOL_SIZE). */
  poolSize?: number;
  /** Longest wait to connect, and longest a statement may run (VECTOR_STORE_TIMEOUT_MS). */
  timeoutMs?: number;
}

export function connect(options: ConnectionOptions): Sql {
  const timeoutMs = options.timeoutMs ?? TIMEOUT_MS;
  return postgres(options.url, {
    max: options.poolSize ?? POOL_SIZE,
    connect_timeout: Math.max(1, Math.ceil(timeoutMs / 1000)),
    // Closed after a minute unused and renewed every half hour.
    idle_timeout: 60,
    max_lifetime: 30 * 60,
    connection: { application_name: "fashion-image-processor", statement_timeout: timeoutMs },
    onnotice: () => {},
  });
}

/** host:port/database (each host of a list), never the user's password. */
export function describeUrl(url: string): string {
  const parsed = URL.parse(withFirstHost(url));
  if (!parsed) return "PostgreSQL";
  return `${hostsOf(url)}${parsed.pathname}`;
}
