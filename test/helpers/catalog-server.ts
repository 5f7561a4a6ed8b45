// A real Laravel-style products API on 127.0.0.1 for tests, with an optional bearer token and faults a test can switch
// on while it runs; plus sample photos: real fashion photos from ../shared when present, generated ones otherwise.
import { createCanvas } from "@napi-rs/canvas";
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { truncatedWithEndMarker } from "./images.ts";

export const REPO_ROOT = resolve(import.meta.dir, "../..");
export const SHARED_DIR = resolve(REPO_ROOT, "../shared");
export const FASHION_DIR = join(SHARED_DIR, "data/fashion/images");

export interface CatalogProduct {
  id: number;
  /** The photo's bytes, or the path of a file holding them. */
  image: Uint8Array | string;
}

/** Faults by product id; they apply to every route that names the product. */
export interface CatalogFaults {
  notFound?: Set<number>;
  /** Answer 500 this many more times, then succeed. */
  serverError?: Map<number, number>;
  /** Serve the first half of the photo only. */
  brokenBytes?: Set<number>;
  /** Serve the first 60% of the photo followed by an end-of-image marker (FFD9). */
  cutWithEndMarker?: Set<number>;
  /** Delay every answer, for timeouts and for holding requests in flight. */
  delayMs?: number;
  /** Hold every answer until this settles: a test keeps work in flight for as long as it needs, then lets it go. */
  hold?: Promise<unknown>;
  /** Hold only the photos' answers until this settles (list pages and records are answered). */
  holdPhotos?: Promise<unknown>;
}

export interface CatalogServerOptions {
  products: CatalogProduct[];
  perPage?: number;
  /** When set, `/api/*` requests without `Authorization: Bearer <token>` get 401. */
  token?: string;
  /** What `image_url` looks like: an absolute URL, a path on this origin, or null (use `/api/products/{id}/image`). */
  imageUrlStyle?: "absolute" | "relative" | "none";
  /** Origin that absolute image URLs point at (default: this server), e.g. another server to check the token stays home. */
  imageOrigin?: string;
  faults?: CatalogFaults;
}

export interface LoggedRequest {
  method: string;
  path: string;
  search: string;
  authorization: string | null;
  accept: string | null;
}

export interface CatalogServer extends AsyncDisposable {
  /** The API root, e.g. `http://127.0.0.1:1234/api`. */
  url: string;
  origin: string;
  /** Every request, in arrival order. */
  requests: LoggedRequest[];
  /** How many requests came for exactly this path, e.g. `/api/products/3`. */
  hits(path: string): number;
  /** Requests being answered right now, and the most there ever were at once. */
  readonly inFlight: number;
  readonly maxInFlight: number;
  /** Change these at any time; the next request sees them. */
  faults: CatalogFaults;
  stop(): Promise<void>;
}

export function startCatalogServer(options: CatalogServerOptions): CatalogServer {
  const perPage = options.perPage ?? 100;
  const imageUrlStyle = options.imageUrlStyle ?? "absolute";
  const products = new Map(options.products.map((product) => [product.id, product]));
  const ids = options.products.map((product) => product.id);
  const requests: LoggedRequest[] = [];
  let inFlight = 0;
  let maxInFlight = 0;

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      requests.push({
        method: request.method,
        path: url.pathname,
        search: url.search,
        authorization: request.headers.get("Authorization"),
        accept: request.headers.get("Accept"),
      });
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        if (handle.faults.delayMs) await delay(handle.faults.delayMs, request.signal);
        if (handle.faults.hold) await handle.faults.hold;
        return await route(request, url);
      } finally {
        inFlight--;
      }
    },
  });
  const origin = server.url.origin;
  const api = `${origin}/api`;

  async function route(request: Request, url: URL): Promise<Response> {
    const path = url.pathname;
    if (path.startsWith("/api/") && options.token && request.headers.get("Authorization") !== `Bearer ${options.token}`) {
      return Response.json({ message: "Unauthenticated." }, { status: 401 });
    }
    if (request.method !== "GET") return Response.json({ message: "Method not allowed." }, { status: 405 });
    if (path === "/api/products") return listProducts(url);
    let match = /^\/api\/products\/([1-9]\d*)$/.exec(path);
    if (match) return withProduct(Number(match[1]), showProduct);
    match = /^\/api\/products\/([1-9]\d*)\/image$/.exec(path) ?? /^\/storage\/products\/([1-9]\d*)\.jpg$/.exec(path);
    if (match) return withProduct(Number(match[1]), serveImage);
    return Response.json({ message: "Not found." }, { status: 404 });
  }

  function listProducts(url: URL): Response {
    const requested = Number(url.searchParams.get("page") ?? "1");
    // Laravel's paginator treats a missing or invalid page as page 1.
    const page = Number.isInteger(requested) && requested >= 1 ? requested : 1;
    const lastPage = Math.max(1, Math.ceil(ids.length / perPage));
    const pageIds = ids.slice((page - 1) * perPage, page * perPage);
    const pageUrl = (n: number) => `${api}/products?page=${n}`;
    return Response.json({
      data: pageIds.map(productJson),
      links: {
        first: pageUrl(1),
        last: pageUrl(lastPage),
        prev: page > 1 ? pageUrl(page - 1) : null,
        next: page < lastPage ? pageUrl(page + 1) : null,
      },
      meta: {
        current_page: page,
        from: pageIds.length ? (page - 1) * perPage + 1 : null,
        last_page: lastPage,
        path: `${api}/products`,
        per_page: perPage,
        to: pageIds.length ? (page - 1) * perPage + pageIds.length : null,
        total: ids.length,
      },
    });
  }

  async function withProduct(id: number, answer: (product: CatalogProduct) => Promise<Response> | Response) {
    const product = products.get(id);
    if (!product || handle.faults.notFound?.has(id)) {
      return Response.json({ message: `No query results for model [App\\Models\\Product] ${id}` }, { status: 404 });
    }
    const failuresLeft = handle.faults.serverError?.get(id) ?? 0;
    if (failuresLeft > 0) {
      handle.faults.serverError?.set(id, failuresLeft - 1);
      return Response.json({ message: "Server Error" }, { status: 500 });
    }
    return answer(product);
  }

  function showProduct(product: CatalogProduct): Response {
    return Response.json({ data: productJson(product.id) });
  }

  async function serveImage(product: CatalogProduct): Promise<Response> {
    if (handle.faults.holdPhotos) await handle.faults.holdPhotos;
    const bytes = typeof product.image === "string" ? await Bun.file(product.image).bytes() : product.image;
    let body = handle.faults.brokenBytes?.has(product.id) ? bytes.slice(0, Math.floor(bytes.length / 2)) : bytes;
    if (handle.faults.cutWithEndMarker?.has(product.id)) body = truncatedWithEndMarker(bytes);
    return new Response(body, { headers: { "Content-Type": "image/jpeg" } });
  }

  function productJson(id: number) {
    const imagePath = `/storage/products/${id}.jpg`;
    const imageUrl = {
      absolute: `${options.imageOrigin ?? origin}${imagePath}`,
      relative: imagePath,
      none: null,
    }[imageUrlStyle];
    return { id, name: `Product ${id}`, image_url: imageUrl };
  }

  const handle: CatalogServer = {
    url: api,
    origin,
    requests,
    hits: (path) => requests.filter((logged) => logged.path === path).length,
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    faults: options.faults ?? {},
    stop: () => server.stop(true),
    [Symbol.asyncDispose]: () => server.stop(true),
  };
  return handle;
}

/** Resolves early when the client goes away, so a stopped test leaves no answer waiting. */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

/** The first `count` fashion photos by id, or null on a machine without ../shared. */
export function fashionPhotos(count: number): { id: number; path: string }[] | null {
  if (!existsSync(FASHION_DIR)) return null;
  return readdirSync(FASHION_DIR)
    .map((name) => /^([1-9]\d*)\.jpg$/.exec(name))
    .filter((match) => match !== null)
    .map((match) => Number(match[1]))
    .sort((a, b) => a - b)
    .slice(0, count)
    .map((id) => ({ id, path: join(FASHION_DIR, `${id}.jpg`) }));
}

/** A small JPEG that differs per id in colour and shape, for tests that must run without ../shared. */
export function makePhoto(id: number, { width = 64, height = 48 }: { width?: number; height?: number } = {}): Uint8Array {
  const canvas = createCanvas(width, height);
  const context = canvas.getContext("2d");
  // Steps of the golden angle keep neighbouring ids far apart on the colour wheel.
  const hue = (id * 137.508) % 360;
  context.fillStyle = `hsl(${hue}, 70%, 60%)`;
  context.fillRect(0, 0, width, height);
  context.fillStyle = `hsl(${(hue + 180) % 360}, 70%, 30%)`;
  const size = Math.min(width, height) / 2;
  const x = (id * 7) % (width - size);
  const y = (id * 5) % (height - size);
  switch (id % 3) {
    case 0:
      context.fillRect(x, y, size, size);
      break;
    case 1:
      context.beginPath();
      context.arc(x + size / 2, y + size / 2, size / 2, 0, 2 * Math.PI);
      context.fill();
      break;
    default:
      context.beginPath();
      context.moveTo(x, y + size);
      context.lineTo(x + size / 2, y);
      context.lineTo(x + size, y + size);
      context.closePath();
      context.fill();
  }
  return new Uint8Array(canvas.toBuffer("image/jpeg"));
}
