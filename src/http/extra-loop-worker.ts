// An extra HTTP loop's thread (extra-loop.ts): answers GET and HEAD /similar-products/{product_id} from its mirror of
// the store, through the same middleware as the main app, and relays every other request to the main thread.
import type { Server } from "bun";
import { createAppShell } from "../app.ts";
import { Logger } from "../observability/log.ts";
import { createSimilarToProductRouter } from "../routes/similar/similar.router.ts";
import { SimilarityService } from "../similarity/similarity.ts";
import { MirrorIndex } from "../store/mirror-index.ts";
import { StoreMirror } from "../store/store-mirror.ts";
import { errorBody } from "./error-handling.ts";
import { SERVER_LIMITS, withAbsoluteUrl } from "./http-server.ts";
import { type FromExtraLoop, type LoopMeasures, RELAYED_CLIENT_HEADER, type ExtraLoopSettings, type ToExtraLoop } from "./extra-loop.ts";

declare const self: Worker;

/** GET /similar-products/{product_id} (not /upload, which is a POST route): the one route answered here. */
const ANSWERED_HERE = /^\/similar-products\/(?!upload\/?$)[^/]+\/?$/;

/** Measures are sent in bulk (a message a request cost both threads a quarter of the loop's throughput). */
const MEASURES_SENT_EVERY_MS = 1_000;

let server: Server<undefined> | null = null;
const noMeasures = (): LoopMeasures => ({ requests: [], searchSeconds: [], relayed: 0 });
let measures = noMeasures();

function sendMeasures(gathered?: number): void {
  if (measures.requests.length > 0 || measures.relayed > 0 || gathered !== undefined) post({ measures, gathered });
  measures = noMeasures();
}

setInterval(() => sendMeasures(), MEASURES_SENT_EVERY_MS);

self.onmessage = async (event: MessageEvent<ToExtraLoop>) => {
  const message = event.data;
  if ("gather" in message) {
    sendMeasures(message.gather);
    return;
  }
  if ("stop" in message) {
    await server?.stop();
    sendMeasures();
    post({ stopped: true });
    return;
  }
  server = await listen(message.settings, await StoreMirror.attach(message.store));
  post({ listening: true });
};

function post(message: FromExtraLoop): void {
  postMessage(message);
}

async function listen(settings: ExtraLoopSettings, mirror: StoreMirror): Promise<Server<undefined>> {
  const shuttingDown = new Int32Array(settings.shuttingDown);
  const similarity = new SimilarityService({
    store: new MirrorIndex(mirror, settings),
    embedder: null,
    imageUrlTemplate: settings.imageUrlTemplate,
    observer: { search: (seconds) => measures.searchSeconds.push(seconds) },
  });
  const app = createAppShell({
    logger: new Logger({ format: settings.logFormat }),
    metrics: { recordRequest: (request) => measures.requests.push(request) },
    access: settings.access,
    corsOrigins: settings.corsOrigins,
    isShuttingDown: () => Atomics.load(shuttingDown, 0) === 1,
  });
  app.route("/", createSimilarToProductRouter(() => similarity));
  return Bun.serve({
    hostname: settings.hostname,
    port: settings.port,
    reusePort: true,
    fetch: (request, server) => {
      const absolute = withAbsoluteUrl(request);
      const url = new URL(absolute.url);
      if ((request.method === "GET" || request.method === "HEAD") && ANSWERED_HERE.test(url.pathname)) {
        return app.fetch(absolute, server);
      }
      measures.relayed++;
      return relay(absolute, `${url.pathname}${url.search}`, server.requestIP(request)?.address, settings.relaySocket);
    },
    ...SERVER_LIMITS,
  });
}

/** Headers of one connection, not of the request: the relay's own connection has its own. */
const HOP_BY_HOP = ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"];

/** The request as it came (body streamed), to the main thread's app; its answer as it comes back. */
async function relay(request: Request, pathAndQuery: string, clientAddress: string | undefined, socket: string): Promise<Response> {
  const headers = new Headers(request.headers);
  for (const name of [...HOP_BY_HOP, RELAYED_CLIENT_HEADER]) headers.delete(name);
  if (clientAddress) headers.set(RELAYED_CLIENT_HEADER, clientAddress);
  try {
    return await fetch(`http://localhost${pathAndQuery}`, {
      unix: socket,
      method: request.method,
      headers,
      body: request.body,
      redirect: "manual",
      decompress: false,
      signal: request.signal,
    });
  } catch {
    // The main thread's relay is gone: the service is stopping.
    return Response.json(errorBody("SHUTTING_DOWN", "the service is shutting down"), { status: 503, headers: { Connection: "close" } });
  }
}
