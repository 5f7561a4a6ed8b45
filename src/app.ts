// createApp(): the HTTP face of the service: JSON errors everywhere, the routers, /openapi.json and /docs.
import { OpenAPIHono } from "@hono/zod-openapi";
import { AppError } from "./errors.ts";
import { mountDocsPage } from "./http/docs-page.ts";
import { AllowedMethods, answerUnmatched, refuseWrongMethod } from "./http/allowed-methods.ts";
import { handleError, validationHook } from "./http/error-handling.ts";
import { createEmbeddingsRouter } from "./routes/embeddings/embeddings.router.ts";
import { createHealthRouter } from "./routes/health/health.router.ts";
import { createProductsRouter } from "./routes/products/products.router.ts";
import { createSimilarRouter } from "./routes/similar/similar.router.ts";
import { createTasksRouter } from "./routes/tasks/tasks.router.ts";
import type { ServiceSlot } from "./services.ts";

export interface AppDeps {
  services: ServiceSlot;
  maxUploadBytes: number;
  version: string;
  /** Set once shutdown starts: new requests are refused while in-flight work finishes. */
  isShuttingDown?: () => boolean;
}

export function createApp(deps: AppDeps) {
  const app = new OpenAPIHono({ strict: false, defaultHook: validationHook });
  const allowedMethods = new AllowedMethods(app);
  app.onError(handleError);
  app.notFound(answerUnmatched(allowedMethods));
  app.use(refuseWrongMethod(allowedMethods));

  app.use(async function refuseWhileShuttingDown(c, next) {
    if (!deps.isShuttingDown?.()) return next();
    // The port stays open while in-flight work finishes; every answer closes its connection, and liveness stays
    // truthful.
    c.header("Connection", "close");
    if (c.req.path !== "/health") throw new AppError("SHUTTING_DOWN", 503, "the service is shutting down");
    await next();
  });

  app
    .route("/", createHealthRouter(deps.services))
    .route("/", createEmbeddingsRouter(deps.services))
    .route("/", createSimilarRouter(deps.services, { maxUploadBytes: deps.maxUploadBytes }))
    .route("/", createTasksRouter(deps.services))
    .route("/", createProductsRouter(deps.services));

  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "fashion-image-processor",
      version: deps.version,
      description:
        "Visual similarity for fashion catalogues: ResNet50 embeddings of product photos in a USearch index. " +
        "Writes run as background tasks (202 + Location: /tasks/{task_id}). Every error is " +
        '{"error": {"code", "message", "details"?}} with a 4xx/5xx status.',
    },
  });
  mountDocsPage(app, "/openapi.json");
  return app;
}

export type App = ReturnType<typeof createApp>;
