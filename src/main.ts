// The service's entry point and its only file with side effects: config -> HTTP server -> model and index ->
// ready; on SIGTERM/SIGINT, stop taking requests, let running tasks finish, save, exit.
import packageJson from "../package.json" with { type: "json" };
import { createApp } from "./app.ts";
import { ConfigError, parseConfig } from "./config.ts";
import { createServices, type Services, ServiceSlot } from "./services.ts";

const SHUTDOWN_GRACE_MS = 20_000;

async function main(): Promise<void> {
  const config = parseConfig(process.env);
  const services = new ServiceSlot();
  let shuttingDown = false;
  const app = createApp({
    services,
    maxUploadBytes: config.maxUploadBytes,
    version: packageJson.version,
    isShuttingDown: () => shuttingDown,
  });
  const server = Bun.serve({
    hostname: config.host,
    port: config.port,
    fetch: app.fetch,
    // Uploads are limited by the app with a clear 413; this only stops absurd bodies before they are buffered.
    maxRequestBodySize: config.maxUploadBytes + 1024 * 1024,
    idleTimeout: 120,
  });
  log(`listening on http://${server.hostname}:${server.port} (catalogue: ${describeCatalog(config)})`);

  let loaded: Services | null = null;
  const stop = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log(`${signal}: finishing running tasks (up to ${SHUTDOWN_GRACE_MS / 1000} s), then saving`);
    // In-flight requests finish; an idle keep-alive connection must not hold the shutdown up.
    await Promise.race([server.stop(), Bun.sleep(5_000)]);
    void server.stop(true);
    await loaded?.close(SHUTDOWN_GRACE_MS);
    log("stopped cleanly");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));

  const started = performance.now();
  loaded = await createServices(config);
  services.fill(loaded);
  log(
    `ready in ${Math.round(performance.now() - started)} ms: ${loaded.store.count} embeddings in ${config.dataDir}, ` +
      `${loaded.embedder.backend} inference`,
  );
}

function describeCatalog(config: ReturnType<typeof parseConfig>): string {
  return config.catalog.kind === "api" ? config.catalog.baseUrl : `folder ${config.catalog.dir}`;
}

function log(message: string): void {
  console.log(`${new Date().toISOString()} ${message}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : `failed to start: ${(error as Error).stack ?? error}`);
  process.exit(1);
});
