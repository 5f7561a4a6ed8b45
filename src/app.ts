// createApp(): the HTTP face of the service: JSON errors everywhere, the routers, /openapi.json and /docs.
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AccessConfig } from "./config.ts";
import { AppError } from "./errors.ts";
import { requireAccess } from "./http/auth.ts";
import type { ClientAddress } from "./http/client-address.ts";
import { corsForOrigins } from "./http/cors.ts";
import { refuseCrossOriginWrites, requireJsonBodies } from "./http/cross-site.ts";
import { mountDocsPage } from "./http/docs-page.ts";
import { AllowedMethods, answerUnmatched, refuseWrongMethod } from "./http/allowed-methods.ts";
import { handleError, validationHook } from "./http/error-handling.ts";
import { headLikeGet } from "./http/head-requests.ts";
import { mountOpenApiDocument } from "./http/openapi-document.ts";
import { observeRequests } from "./http/request-log.ts";
import type { Logger } from "./observability/log.ts";
import type { RequestRecorder, ServiceMetrics } from "./observability/metrics.ts";
import { API_KEY_SCHEMES } from "./http/schemas.ts";
import { securityHeaders } from "./http/security-headers.ts";
import { createDuplicatesRouter } from "./routes/duplicates/duplicates.router.ts";
import { createEmbeddingsRouter } from "./routes/embeddings/embeddings.router.ts";
import { createHealthRouter } from "./routes/health/health.router.ts";
import { createMetricsRouter } from "./routes/metrics/metrics.router.ts";
import { createProductsRouter } from "./routes/products/products.router.ts";
import { createSimilarRouter } from "./routes/similar/similar.router.ts";
import { createTasksRouter } from "./routes/tasks/tasks.router.ts";
import type { ServiceSlot } from "./services.ts";
import { mountSearchPage } from "./web/mount-search-page.ts";

export interface AppDeps {
  services: ServiceSlot;
  maxUploadBytes: number;
  version: string;
  /** Set once shutdown starts: new requests are refused while in-flight work finishes. */
  isShuttingDown?: () => boolean;
  /** This app's own metrics registry, served at /metrics; the services report into it through its observer. */
  metrics: ServiceMetrics;
  /** One line per request; errors logged by the error handler carry the request id. */
  logger: Logger;
  /** API keys and modes (src/http/auth.ts); none given: protected mode, writes only from loopback. */
  access?: AccessConfig;
  /** Origins a browser page may call from (CORS); none: no CORS headers at all. */
  corsOrigins?: readonly string[];
  /** The client's IP address; by default what the Bun server saw (app.request() in tests has no socket). */
  clientAddress?: ClientAddress;
  /** A search-only replica (VECTOR_STORE_READ_ONLY): every write route answers 405 READ_ONLY_REPLICA. */
  readOnly?: boolean;
}

export function createApp(deps: AppDeps) {
  const app = createAppShell(deps);
  app
    .route("/", createHealthRouter(deps.services, { readOnly: deps.readOnly ?? false }))
    .route("/", createEmbeddingsRouter(deps.services))
    .route("/", createDuplicatesRouter(deps.services))
    .route("/", createSimilarRouter(deps.services, { maxUploadBytes: deps.maxUploadBytes }))
    .route("/", createTasksRouter(deps.services))
    .route("/", createProductsRouter(deps.services))
    .route("/", createMetricsRouter(deps.metrics));

  for (const [name, scheme] of Object.entries(API_KEY_SCHEMES)) {
    app.openAPIRegistry.registerComponent("securitySchemes", name, scheme);
  }
  mountOpenApiDocument(app, deps.version);
  mountDocsPage(app, "/openapi.json");
  mountSearchPage(app);
  return app;
}

export type App = ReturnType<typeof createAppShell>;

/** What every answer goes through, before and after its route: createApp's, and the extra HTTP loops'. */
export type ShellDeps = Pick<AppDeps, "isShuttingDown" | "logger" | "access" | "corsOrigins" | "clientAddress" | "readOnly"> & {
  metrics: RequestRecorder;
};

/** The app without routes: error handling, request logging and counting, security headers, access and CORS. */
export function createAppShell(deps: ShellDeps) {
  const app = new OpenAPIHono({ strict: false, defaultHook: validationHook });
  const allowedMethods = new AllowedMethods(app, { refuseWrites: deps.readOnly });
  app.onError(handleError);
  app.notFound(answerUnmatched(allowedMethods));
  // First, so every answer (errors, 404s, 405s, refusals by later middleware) is logged, counted and carries the
  // request id.
  app.use(observeRequests({ logger: deps.logger, metrics: deps.metrics }));
  app.use(securityHeaders());
  app.use(headLikeGet());
  app.use(refuseWrongMethod(allowedMethods));

  app.use(async function refuseWhileShuttingDown(c, next) {
    if (!deps.isShuttingDown?.()) return next();
    // The port stays open while in-flight work finishes; every answer closes its connection, and liveness stays
    // truthful.
    c.header("Connection", "close");
    if (c.req.path !== "/health") throw new AppError("SHUTTING_DOWN", 503, "the service is shutting down");
    await next();
  });

  const corsOrigins = deps.corsOrigins ?? [];
  if (corsOrigins.length > 0) app.use(corsForOrigins(corsOrigins));
  app.use(requireAccess(deps.access, deps.clientAddress));
  app.use(refuseCrossOriginWrites(corsOrigins));
  app.use(requireJsonBodies());
  return app;
}
