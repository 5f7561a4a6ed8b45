// GET requests to the catalogue and its image origins: each hop checked by the outbound policy, redirects followed by
// hand (at most 5), a timeout per attempt, transient failures retried with backoff, one queue capping the requests in
// flight across every caller. Messages name what was asked for ("product 14's photo"), never a URL or the token.
import PQueue from "p-queue";
import { AppError } from "../errors.ts";
import { isIP } from "node:net";
import { hostOf, type OutboundPolicy, pinnedUrl } from "./outbound-policy.ts";

export const DEFAULT_BACKOFF_BASE_MS = 200;
export const MAX_BACKOFF_MS = 5_000;
/** A shop asking us to come back in an hour should not stall a request or a task that long. */
export const MAX_RETRY_AFTER_MS = 30_000;
export const MAX_REDIRECTS = 5;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * How long to wait before retry number `attempt` (0-based). A `Retry-After` in seconds wins (capped); otherwise
 * exponential backoff with jitter in [half, full] of the step, so many callers failing together do not retry together.
 */
export function backoffDelayMs(
  attempt: number,
  retryAfterHeader: string | null,
  { baseMs = DEFAULT_BACKOFF_BASE_MS, random = Math.random }: { baseMs?: number; random?: () => number } = {},
): number {
  if (retryAfterHeader !== null && /^\s*\d+(\.\d+)?\s*$/.test(retryAfterHeader)) {
    return Math.min(Number(retryAfterHeader) * 1000, MAX_RETRY_AFTER_MS);
  }
  const step = Math.min(baseMs * 2 ** attempt, MAX_BACKOFF_MS);
  return step / 2 + (step / 2) * random();
}

export interface CatalogFetcherOptions {
  /** The catalogue's own origin: the only one the token is sent to. */
  homeOrigin: string;
  token: string | undefined;
  policy: OutboundPolicy;
  timeoutMs: number;
  /** Extra attempts after the first one fails transiently. */
  retries: number;
  /** Requests in flight at once, across all callers. */
  concurrency: number;
  backoffBaseMs: number;
  maxBodyBytes: number;
}

export interface FetchRequest {
  url: URL;
  kind: "json" | "image";
  /** What is asked for, for messages: "product 14's photo", "page 3 of the product list". */
  what: string;
  /** The error for a 404; without it a 404 is just another refusal. */
  notFound?: () => AppError;
  signal: AbortSignal | undefined;
}

/** What one attempt learned when it is worth trying again. */
interface TransientFailure {
  reason: string;
  retryAfter: string | null;
}

export class CatalogFetcher {
  readonly #options: CatalogFetcherOptions;
  readonly #queue: PQueue;

  constructor(options: CatalogFetcherOptions) {
    this.#options = options;
    this.#queue = new PQueue({ concurrency: options.concurrency });
  }

  /** Requests waiting for a free slot (not yet sent). */
  get requestsWaiting(): number {
    return this.#queue.size;
  }

  async get(request: FetchRequest): Promise<Uint8Array> {
    const { signal } = request;
    const { retries, backoffBaseMs } = this.#options;
    let lastFailure = "";
    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      // The queue slot covers one attempt only, so a request waiting out its backoff does not hold back others. JSON
      // (a list page, a product's record) goes ahead of waiting photos: it is small, and each one unblocks more work.
      const priority = request.kind === "json" ? 1 : 0;
      const outcome = await this.#queue.add(() => this.#attempt(request), { signal, priority });
      if (outcome instanceof Uint8Array) return outcome;
      lastFailure = outcome.reason;
      if (attempt >= retries) break;
      await sleep(backoffDelayMs(attempt, outcome.retryAfter, { baseMs: backoffBaseMs }), signal);
    }
    const tries = retries + 1;
    throw new AppError(
      "CATALOG_UNAVAILABLE",
      502,
      `catalogue unavailable: ${request.what} failed ${tries} time${tries === 1 ? "" : "s"}, last: ${lastFailure}`,
    );
  }

  /** One attempt, redirects included: the body, a transient failure to retry, or a thrown final error. */
  async #attempt(request: FetchRequest): Promise<Uint8Array | TransientFailure> {
    const { timeoutMs } = this.#options;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
    try {
      let url = request.url;
      for (let redirects = 0; ; redirects++) {
        const response = await this.#send(url, redirects, request, signal);
        if (!REDIRECT_STATUSES.has(response.status)) {
          if (!response.ok) {
            await response.body?.cancel().catch(() => {});
            return this.#refusal(response, request);
          }
          return await this.#readBody(response, request);
        }
        await response.body?.cancel().catch(() => {});
        const location = response.headers.get("Location");
        const next = location === null ? null : URL.parse(location, url.href);
        if (!next) {
          const problem = location === null ? "without a Location" : "with an unusable Location";
          const message = `the catalogue answered ${response.status} ${problem} for ${request.what}`;
          throw new AppError("CATALOG_UNAVAILABLE", 502, message);
        }
        if (redirects === MAX_REDIRECTS) throw refused(request, `more than ${MAX_REDIRECTS} redirects`);
        url = next;
      }
    } catch (error) {
      if (request.signal?.aborted) throw request.signal.reason;
      if (error instanceof AppError) throw error;
      if (timeout.aborted) return { reason: `timed out after ${timeoutMs} ms`, retryAfter: null };
      return { reason: networkFailure(error, request.url), retryAfter: null };
    }
  }

  /** Checks the URL against the policy, then requests it from the addresses the check looked at. */
  async #send(url: URL, redirects: number, request: FetchRequest, signal: AbortSignal): Promise<Response> {
    const decision = await abortable(this.#options.policy.check(url), signal);
    if (!decision.allowed) {
      const after = redirects === 0 ? "" : ` (after ${redirects} redirect${redirects === 1 ? "" : "s"})`;
      throw refused(request, decision.reason, after);
    }
    const headers = new Headers();
    if (request.kind === "json") headers.set("Accept", "application/json");
    const { token, homeOrigin } = this.#options;
    if (token && url.origin === homeOrigin) headers.set("Authorization", `Bearer ${token}`);
    // Plain http is pinned to the checked addresses, so a second lookup cannot answer differently (DNS rebinding),
    // trying them in order as a connection would. https keeps the name for its certificate check: a rebound name
    // then fails TLS, and the metadata services this guards against speak plain http. Left open: an HTTP(S)_PROXY
    // in the environment resolves names itself.
    if (url.protocol !== "http:" || isIP(hostOf(url))) return fetch(url.href, { headers, signal, redirect: "manual" });
    headers.set("Host", url.host);
    const { addresses } = decision;
    for (let index = 0; ; index++) {
      try {
        return await fetch(pinnedUrl(url, addresses[index]!), { headers, signal, redirect: "manual" });
      } catch (error) {
        if (signal.aborted || index === addresses.length - 1) throw error;
      }
    }
  }

  #refusal(response: Response, request: FetchRequest): TransientFailure {
    const { status } = response;
    if (status === 404 && request.notFound) throw request.notFound();
    if (status === 429 || status >= 500) {
      const honoursRetryAfter = status === 429 || status === 503;
      return { reason: `HTTP ${status}`, retryAfter: honoursRetryAfter ? response.headers.get("Retry-After") : null };
    }
    throw new AppError("CATALOG_UNAVAILABLE", 502, `the catalogue answered ${status} for ${request.what}`);
  }

  /** Reads the whole body, stopping as soon as it passes the size limit instead of buffering a huge answer. */
  async #readBody(response: Response, request: FetchRequest): Promise<Uint8Array> {
    const { maxBodyBytes } = this.#options;
    const tooLarge = () =>
      new AppError(
        request.kind === "image" ? "INVALID_IMAGE" : "CATALOG_UNAVAILABLE",
        request.kind === "image" ? 422 : 502,
        `${request.what} is larger than ${maxBodyBytes} bytes`,
      );
    const declared = Number(response.headers.get("Content-Length"));
    if (declared > maxBodyBytes) {
      await response.body?.cancel().catch(() => {});
      throw tooLarge();
    }
    if (!response.body) return new Uint8Array();
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBodyBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge();
      }
      chunks.push(value);
    }
    const bytes = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return bytes;
  }
}

/** Final: a refused URL is the catalogue's answer, and asking again gets the same one. */
function refused(request: FetchRequest, reason: string, after = ""): AppError {
  return new AppError("OUTBOUND_URL_REFUSED", 502, `refused to fetch ${request.what}${after}: ${reason}`);
}

/** A network error's code (ECONNREFUSED, ENOTFOUND, ...), or its message without the host it may name. */
function networkFailure(error: unknown, url: URL): string {
  if (error instanceof Error && "code" in error && typeof error.code === "string") return error.code;
  const message = error instanceof Error ? error.message : String(error);
  return message.replaceAll(url.host, "<host>");
}

/** A DNS lookup cannot be cancelled; stop waiting for it when the attempt times out or is aborted. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
