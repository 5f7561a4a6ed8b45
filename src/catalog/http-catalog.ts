// Reads product photos from a shop's Laravel-style products API. Each request has a timeout, transient failures are
// retried with backoff, and one queue caps the requests in flight to the shop across every caller.
import PQueue from "p-queue";
import { z } from "zod";
import { AppError, productNotFoundInCatalog } from "../errors.ts";
import type { Catalog, CatalogPage } from "./catalog.ts";

export interface HttpCatalogOptions {
  /** The API root without a trailing slash, e.g. `https://shop.example/api`. */
  baseUrl: string;
  token?: string;
  timeoutMs: number;
  /** Extra attempts after the first one fails transiently. */
  retries: number;
  /** Requests in flight to the catalogue at once, across all callers. */
  concurrency: number;
  /** First retry waits about this long, doubling per attempt; tests shrink it. */
  backoffBaseMs?: number;
  maxImageBytes?: number;
}

export const DEFAULT_BACKOFF_BASE_MS = 200;
export const MAX_BACKOFF_MS = 5_000;
/** A shop asking us to come back in an hour should not stall a request or a task that long. */
export const MAX_RETRY_AFTER_MS = 30_000;
export const MAX_IMAGE_BYTES = 50 * 1024 * 1024;

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

const productId = z.int().positive();

const pageSchema = z.object({
  data: z.array(z.object({ id: productId })),
  meta: z.object({
    current_page: z.int().positive(),
    last_page: z.int().nonnegative(),
    total: z.int().nonnegative(),
  }),
});

const productSchema = z.object({
  data: z.object({ id: productId, image_url: z.string().nullish() }),
});

/** What one attempt learned when it is worth trying again. */
interface TransientFailure {
  reason: string;
  retryAfter: string | null;
}

interface GetOptions {
  kind: "json" | "image";
  /** The error for a 404; without it a 404 is just another refusal. */
  notFound?: () => AppError;
  signal: AbortSignal | undefined;
}

export class HttpCatalog implements Catalog {
  readonly #baseUrl: string;
  readonly #origin: string;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #backoffBaseMs: number;
  readonly #maxImageBytes: number;
  readonly #queue: PQueue;

  constructor(options: HttpCatalogOptions) {
    this.#baseUrl = options.baseUrl;
    this.#origin = new URL(options.baseUrl).origin;
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs;
    this.#retries = options.retries;
    this.#backoffBaseMs = options.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS;
    this.#maxImageBytes = options.maxImageBytes ?? MAX_IMAGE_BYTES;
    this.#queue = new PQueue({ concurrency: options.concurrency });
  }

  /** Requests waiting for a free slot (not yet sent). */
  get requestsWaiting(): number {
    return this.#queue.size;
  }

  async listPage(page: number, signal?: AbortSignal): Promise<CatalogPage> {
    const url = `${this.#baseUrl}/products?page=${page}`;
    const body = await this.#getJson(url, pageSchema, { kind: "json", signal });
    return {
      productIds: body.data.map((product) => product.id),
      page: body.meta.current_page,
      lastPage: body.meta.last_page,
      total: body.meta.total,
    };
  }

  async fetchImage(id: number, signal?: AbortSignal): Promise<Uint8Array> {
    const notFound = () => productNotFoundInCatalog(id);
    const productUrl = `${this.#baseUrl}/products/${id}`;
    const product = await this.#getJson(productUrl, productSchema, { kind: "json", notFound, signal });
    const imageUrl = product.data.image_url
      ? this.#resolveImageUrl(product.data.image_url, productUrl)
      : `${productUrl}/image`;
    return this.#get(imageUrl, { kind: "image", notFound, signal });
  }

  /** Relative image URLs are relative to the API's origin, the way Laravel's `/storage/...` paths are written. */
  #resolveImageUrl(imageUrl: string, productUrl: string): string {
    const resolved = URL.parse(imageUrl, this.#origin);
    // fetch() also reads file: and data: URLs, which a catalogue must not be able to point us at.
    if (!resolved || (resolved.protocol !== "http:" && resolved.protocol !== "https:")) {
      throw new AppError("CATALOG_UNAVAILABLE", 502, `${productUrl} has an unusable image_url ${JSON.stringify(imageUrl)}`);
    }
    return resolved.href;
  }

  async #getJson<T>(url: string, schema: z.ZodType<T>, options: GetOptions): Promise<T> {
    const bytes = await this.#get(url, options);
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      throw new AppError("CATALOG_UNAVAILABLE", 502, `catalogue answered ${url} with something that is not JSON`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? issue.path.join(".") : "body";
      throw new AppError(
        "CATALOG_UNAVAILABLE",
        502,
        `catalogue answered ${url} with an unexpected shape: ${where}: ${issue?.message ?? "invalid"}`,
      );
    }
    return parsed.data;
  }

  async #get(url: string, options: GetOptions): Promise<Uint8Array> {
    const { signal } = options;
    let lastFailure = "";
    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      // The queue slot covers one attempt only, so a request waiting out its backoff does not hold back others.
      const outcome = await this.#queue.add(() => this.#attempt(url, options), { signal });
      if (outcome instanceof Uint8Array) return outcome;
      lastFailure = outcome.reason;
      if (attempt >= this.#retries) break;
      await sleep(backoffDelayMs(attempt, outcome.retryAfter, { baseMs: this.#backoffBaseMs }), signal);
    }
    const tries = this.#retries + 1;
    throw new AppError(
      "CATALOG_UNAVAILABLE",
      502,
      `catalogue unavailable: ${url} failed ${tries} time${tries === 1 ? "" : "s"}, last: ${lastFailure}`,
    );
  }

  /** One request: the body, a transient failure to retry, or a thrown final error. */
  async #attempt(url: string, { kind, notFound, signal }: GetOptions): Promise<Uint8Array | TransientFailure> {
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const requestSignal = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const headers = new Headers();
    if (kind === "json") headers.set("Accept", "application/json");
    if (this.#token && new URL(url).origin === this.#origin) headers.set("Authorization", `Bearer ${this.#token}`);
    try {
      const response = await fetch(url, { headers, signal: requestSignal });
      if (!response.ok) {
        await response.body?.cancel().catch(() => {});
        return this.#refusal(url, response, notFound);
      }
      return await this.#readBody(url, response, kind);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (error instanceof AppError) throw error;
      if (timeout.aborted) return { reason: `timed out after ${this.#timeoutMs} ms`, retryAfter: null };
      return { reason: error instanceof Error ? error.message : String(error), retryAfter: null };
    }
  }

  #refusal(url: string, response: Response, notFound: (() => AppError) | undefined): TransientFailure {
    const { status } = response;
    if (status === 404 && notFound) throw notFound();
    if (status === 429 || status >= 500) {
      const honoursRetryAfter = status === 429 || status === 503;
      return { reason: `HTTP ${status}`, retryAfter: honoursRetryAfter ? response.headers.get("Retry-After") : null };
    }
    throw new AppError("CATALOG_UNAVAILABLE", 502, `catalogue answered ${status} for ${url}`);
  }

  /** Reads the whole body, stopping as soon as it passes the size limit instead of buffering a huge answer. */
  async #readBody(url: string, response: Response, kind: GetOptions["kind"]): Promise<Uint8Array> {
    const tooLarge = () =>
      kind === "image"
        ? new AppError("INVALID_IMAGE", 422, `image ${url} is larger than ${this.#maxImageBytes} bytes`)
        : new AppError("CATALOG_UNAVAILABLE", 502, `catalogue answer ${url} is larger than ${this.#maxImageBytes} bytes`);
    const declared = Number(response.headers.get("Content-Length"));
    if (declared > this.#maxImageBytes) {
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
      if (size > this.#maxImageBytes) {
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
