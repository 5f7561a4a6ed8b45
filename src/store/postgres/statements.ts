// Runs the index's statements on the pool: each prepared once per connection, bounded in time, tried once more on a
// fresh connection when its own broke, and its failure explained (unavailable, or another build's pipeline).
import type postgres from "postgres";
import type { Sql, TransactionSql } from "postgres";
import { StoreError } from "../store-error.ts";
import { asStoreError, isLostConnection } from "./unavailable.ts";

export class Statements {
  readonly location: string;
  readonly #sql: Sql;
  readonly #pipeline: string;
  readonly #timeoutMs: number;
  #closed = false;

  constructor(sql: Sql, location: string, pipeline: string, timeoutMs: number) {
    this.#sql = sql;
    this.location = location;
    this.#pipeline = pipeline;
    this.#timeoutMs = timeoutMs;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Every statement is prepared once per connection (named), so the hot ones are planned once; that also keeps a
   * statement's parse and bind together on poolers and proxies that multiplex sessions.
   */
  query(text: string, parameters: postgres.ParameterOrJSON<never>[] = []) {
    return this.#sql.unsafe(text, parameters, { prepare: true });
  }

  transaction<T>(work: (tx: TransactionSql) => Promise<T>) {
    return this.#sql.begin(work);
  }

  /**
   * Runs one operation, its failure explained. It settles within twice the timeout (a connect, then a statement) even
   * if the connection hangs without closing, so a task records an error for the product rather than waiting forever.
   */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new StoreError("the store is closed");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${2 * this.#timeoutMs} ms`), { code: "ETIMEDOUT" })), 2 * this.#timeoutMs);
    });
    // A connection that broke or never came up (one begun while the database was away) is worth one more try on a
    // fresh one: every operation is a read or an upsert guarded by its ticket, so running it twice leaves the table as
    // once would.
    const attempt = () => work().catch((error: unknown) => (isLostConnection(error) && !this.#closed ? work() : Promise.reject(error)));
    try {
      return await Promise.race([attempt(), late]);
    } catch (error) {
      throw this.#explain(error);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#sql.end({ timeout: 5 });
  }

  #explain(error: unknown): unknown {
    // The CHECK on the pipeline column, or a vector size the table no longer has: another replica, running another
    // build, has moved the table to its pipeline since this one started.
    const { code, message } = error as { code?: string; message?: string };
    if (code === "23514" || (code === "22000" && /^expected \d+ dimensions/.test(message ?? ""))) {
      return new StoreError(`the index at ${this.location} now holds another pipeline's vectors than ${this.#pipeline}: restart this replica with the build that made them`);
    }
    return asStoreError(error, this.location);
  }
}
