// `serve`: the service. Config -> HTTP server (answering /health at once, /ready with 503 until loaded) -> model and
// index -> ready -> extra HTTP loops on the same port (src/http/extra-loop.ts); on SIGTERM/SIGINT, refuse new work
// (503, the port stays open), let what is in flight finish within the grace period, close the port, save, and settle
// with exit code 0.
import packageJson from "../../package.json" with { type: "json" };
import { type App, createApp } from "../app.ts";
import { type Config, parseConfig } from "../config.ts";
import { Logger, resolveLogFormat } from "../observability/log.ts";
import { ServiceMetrics } from "../observability/metrics.ts";
import { combineObservers } from "../observability/observer.ts";
import { logTasks } from "../observability/task-log.ts";
import { describeAccess } from "../http/auth.ts";
import { startHttpServer } from "../http/http-server.ts";
import { ExtraLoop } from "../http/extra-loop.ts";
import { EmbeddedIndex } from "../store/embedded-index.ts";
import { describeModelPath, withBinaryDefaults } from "../runtime/standalone.ts";
import { createServices, type Services, ServiceSlot } from "../services.ts";
import { checkStartable, describeListenFailure } from "./startup-checks.ts";

/** Settles once the service has stopped after a signal; rejects if it cannot start. */
export async function serve(env: Record<string, string | undefined>): Promise<number> {
  const environment = await withBinaryDefaults(env);
  const requested = parseConfig(environment);
  const logger = new Logger({ format: resolveLogFormat(requested.logFormat, process.stdout.isTTY === true) });
  const log = (message: string) => logger.info(message);
  const services = new ServiceSlot();
  const metrics = new ServiceMetrics(() => services.current);
  let shuttingDown = false;
  const app = createApp({
    services,
    maxUploadBytes: requested.maxUploadBytes,
    version: packageJson.version,
    isShuttingDown: () => shuttingDown,
    metrics,
    logger,
    access: requested.access,
    corsOrigins: requested.corsOrigins,
    readOnly: requested.vectorStore.readOnly,
  });
  await checkStartable(requested);
  let server: ReturnType<typeof startHttpServer>;
  try {
    server = startHttpServer(app, { hostname: requested.host, port: requested.port });
  } catch (error) {
    throw describeListenFailure(error, requested.host, requested.port);
  }
  // With PORT=0 the port is known only now, and image URLs in folder mode name it.
  const config = requested.port === 0 ? parseConfig({ ...environment, PORT: String(server.port) }) : requested;
  log(`listening on http://${server.hostname}:${server.port} (catalogue: ${describeCatalog(config)})`);
  log(describeAccess(config.access));

  let loaded: Services | null = null;
  const extraLoops = new Set<ExtraLoop>();
  let stopped: (code: number) => void = () => {};
  const stoppedCleanly = new Promise<number>((resolve) => (stopped = resolve));
  const stop = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    for (const loop of extraLoops) loop.shuttingDown();
    const graceMs = config.shutdownGraceMs;
    const deadline = performance.now() + graceMs;
    log(`${signal}: finishing running tasks (up to ${graceMs / 1000} s), then saving`);
    // Tasks take no new products; those in flight finish, or are cut off when the grace period is over. Meanwhile
    // the port stays open and answers new requests 503 SHUTTING_DOWN (and /health 200), each with Connection: close.
    await loaded?.finishTasks(graceMs);
    // Closing the port lets in-flight requests finish and closes idle keep-alive connections; one that hangs on
    // past the grace period (at least a second) is cut off.
    const closed = Promise.all([server.stop(), ...[...extraLoops].map((loop) => loop.stop())]);
    await Promise.race([closed, Bun.sleep(Math.max(1_000, deadline - performance.now()))]);
    void server.stop(true);
    await loaded?.close(0);
    log("stopped cleanly");
    stopped(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));

  const started = performance.now();
  const loading = createServices(config, {
    observer: combineObservers(metrics.observer, logTasks(logger)),
    waiting: (reason) => services.waiting(reason),
  }).then(async (ready) => {
    loaded = ready;
    services.fill(ready);
    log(
      `ready in ${Math.round(performance.now() - started)} ms: ${await ready.store.count()} embeddings in ${ready.store.location}` +
        `${config.vectorStore.readOnly ? " (read-only: searches only)" : ""}, ` +
        `${ready.embedder.backend} ${config.inference.precision} inference, model: ${describeModelPath(config.modelPath)}`,
    );
    if (ready.store instanceof EmbeddedIndex) {
      const context = { app, store: ready.store, metrics, logger, port: server.port!, config };
      await startExtraLoops(config.httpLoops - 1, context, extraLoops, () => shuttingDown);
    }
  });
  // A signal while the model is still loading stops the process without waiting for it.
  return Promise.race([stoppedCleanly, loading.then(() => stoppedCleanly)]);
}

/**
 * Starts `count` extra HTTP loops on the port, one at a time (each copies the index's view), into `running`. One that
 * does not start, or stops later, is logged and left out: the loops that run answer alone.
 */
async function startExtraLoops(
  count: number,
  context: { app: App; store: EmbeddedIndex; metrics: ServiceMetrics; logger: Logger; port: number; config: Config },
  running: Set<ExtraLoop>,
  shuttingDown: () => boolean,
): Promise<void> {
  const { app, store, metrics, logger, port, config } = context;
  for (let started = 0; started < count && !shuttingDown(); started++) {
    const loop: ExtraLoop | null = await ExtraLoop.start({
      app,
      store: store.store,
      settings: {
        hostname: config.host,
        port,
        logFormat: logger.format,
        access: config.access,
        corsOrigins: config.corsOrigins,
        imageUrlTemplate: config.imageUrlTemplate,
        pipeline: store.pipeline,
        location: store.location,
      },
      metrics,
      onFailure: (message) => {
        if (loop) running.delete(loop);
        logger.error("an extra HTTP loop stopped; the others answer without it", new Error(message));
      },
    }).catch((error) => {
      logger.error("an extra HTTP loop did not start; the others answer without it", error);
      return null;
    });
    if (!loop) return;
    if (shuttingDown()) return loop.stop(); // the shutdown began while it started: it is not among those it stops
    running.add(loop);
  }
  if (running.size > 0) logger.info(`${running.size + 1} HTTP loops answer on the port, each searching on its own core`);
}

function describeCatalog(config: Config): string {
  return config.catalog.kind === "api" ? config.catalog.baseUrl : `folder ${config.catalog.dir}`;
}
