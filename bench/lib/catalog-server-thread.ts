// The tests' catalogue server (test/helpers/catalog-server.ts) in a thread of its own: serving the photos of a
// full-speed ingest then never delays this process's event loop, where the benchmark's search client takes its
// timings. Sharing one event loop, a search's answer waited behind photo responses and counted that as the service's.
import type { CatalogServerOptions } from "../../test/helpers/catalog-server.ts";

export interface CatalogServerThread {
  /** The API root, e.g. `http://127.0.0.1:1234/api`. */
  url: string;
  origin: string;
  stop(): Promise<void>;
}

/** Products' images must be file paths (bytes would be copied into the thread). */
export async function startCatalogServerThread(options: Pick<CatalogServerOptions, "perPage"> & { products: { id: number; image: string }[] }): Promise<CatalogServerThread> {
  const worker = new Worker(new URL("./catalog-server-worker.ts", import.meta.url).href);
  const started = await new Promise<{ url: string; origin: string }>((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<{ url: string; origin: string }>) => resolve(event.data);
    worker.onerror = (event) => reject(new Error(`the catalogue server's thread failed: ${event.message}`));
    worker.postMessage(options);
  });
  // Once: a second terminate() has no "close" event to wait for.
  let stopped: Promise<void> | null = null;
  return {
    ...started,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        worker.addEventListener("close", () => resolve(), { once: true });
        worker.terminate();
      });
      return stopped;
    },
  };
}
