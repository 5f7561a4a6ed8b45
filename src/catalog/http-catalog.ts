// Reads product photos from a shop's Laravel-style products API: the product list page by page, each product's
// record, then its photo. Where requests may go, retries and the cap on requests in flight are CatalogFetcher's.
import { z } from "zod";
import { AppError, productNotFoundInCatalog } from "../errors.ts";
import type { Catalog, CatalogPage } from "./catalog.ts";
import { CatalogFetcher, DEFAULT_BACKOFF_BASE_MS, type FetchRequest } from "./catalog-fetcher.ts";
import { OutboundPolicy, type ResolveHost } from "./outbound-policy.ts";

export interface HttpCatalogOptions {
  /** The API root without a trailing slash, e.g. `https://shop.example/api`. */
  baseUrl: string;
  token?: string;
  timeoutMs: number;
  /** Extra attempts after the first one fails transiently. */
  retries: number;
  /** Requests in flight to the catalogue at once, across all callers. */
  concurrency: number;
  /** Origins besides the API's that photos (and redirects) may come from, e.g. a CDN: CATALOG_IMAGE_ORIGINS. */
  imageOrigins?: readonly string[];
  /** First retry waits about this long, doubling per attempt; tests shrink it. */
  backoffBaseMs?: number;
  maxImageBytes?: number;
  /** How host names become addresses; tests answer for themselves. */
  resolveHost?: ResolveHost;
}

export const MAX_IMAGE_BYTES = 50 * 1024 * 1024;

const productId = z.int().positive();
/** A list page's image_url is a shortcut: one that is not a string is ignored, and the product's record asked. */
const listedImageUrl = z.string().nullish().catch(null);

const pageSchema = z.object({
  data: z.array(z.object({ id: productId, image_url: listedImageUrl })),
  meta: z.object({
    // Read to check the shape only: the walk counts pages itself (a catalogue that ignores ?page repeats page 1).
    current_page: z.int().positive(),
    last_page: z.int().nonnegative(),
    total: z.int().nonnegative(),
  }),
});

const productSchema = z.object({
  data: z.object({ id: productId, image_url: z.string().nullish() }),
});

export class HttpCatalog implements Catalog {
  readonly #baseUrl: string;
  readonly #origin: string;
  readonly #fetcher: CatalogFetcher;

  constructor(options: HttpCatalogOptions) {
    this.#baseUrl = options.baseUrl;
    const homeOrigin = new URL(options.baseUrl).origin;
    this.#origin = homeOrigin;
    this.#fetcher = new CatalogFetcher({
      homeOrigin,
      token: options.token,
      policy: new OutboundPolicy({
        allowedOrigins: [homeOrigin, ...(options.imageOrigins ?? [])],
        resolveHost: options.resolveHost,
      }),
      timeoutMs: options.timeoutMs,
      retries: options.retries,
      concurrency: options.concurrency,
      backoffBaseMs: options.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS,
      maxBodyBytes: options.maxImageBytes ?? MAX_IMAGE_BYTES,
    });
  }

  /** Requests waiting for a free slot (not yet sent). */
  get requestsWaiting(): number {
    return this.#fetcher.requestsWaiting;
  }

  async listPage(page: number, signal?: AbortSignal): Promise<CatalogPage> {
    const url = new URL(`${this.#baseUrl}/products?page=${page}`);
    const what = `page ${page} of the product list`;
    const body = await this.#getJson(pageSchema, { url, kind: "json", what, signal });
    const imageUrls = new Map<number, string>();
    for (const product of body.data) if (product.image_url) imageUrls.set(product.id, product.image_url);
    return {
      productIds: body.data.map((product) => product.id),
      lastPage: body.meta.last_page,
      total: body.meta.total,
      imageUrls,
    };
  }

  async fetchImage(id: number, signal?: AbortSignal, listedImageUrl?: string): Promise<Uint8Array> {
    const notFound = () => productNotFoundInCatalog(id);
    if (listedImageUrl) {
      const url = this.#resolveImageUrl(id, listedImageUrl);
      return this.#fetcher.get({ url, kind: "image", what: `product ${id}'s photo`, notFound, signal });
    }
    const productUrl = new URL(`${this.#baseUrl}/products/${id}`);
    const what = `product ${id}'s record`;
    const product = await this.#getJson(productSchema, { url: productUrl, kind: "json", what, notFound, signal });
    const imageUrl = product.data.image_url
      ? this.#resolveImageUrl(id, product.data.image_url)
      : new URL(`${productUrl.href}/image`);
    return this.#fetcher.get({ url: imageUrl, kind: "image", what: `product ${id}'s photo`, notFound, signal });
  }

  /** Relative image URLs are relative to the API's origin, the way Laravel's `/storage/...` paths are written. */
  #resolveImageUrl(id: number, imageUrl: string): URL {
    const resolved = URL.parse(imageUrl, this.#origin);
    if (!resolved) {
      throw new AppError("CATALOG_UNAVAILABLE", 502, `product ${id}'s image_url is not a URL`);
    }
    return resolved;
  }

  async #getJson<T>(schema: z.ZodType<T>, request: FetchRequest): Promise<T> {
    const bytes = await this.#fetcher.get(request);
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      throw new AppError("CATALOG_UNAVAILABLE", 502, `${request.what} is not JSON`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? issue.path.join(".") : "body";
      throw new AppError(
        "CATALOG_UNAVAILABLE",
        502,
        `${request.what} has an unexpected shape: ${where}: ${issue?.message ?? "invalid"}`,
      );
    }
    return parsed.data;
  }
}
