// The thread of bench/lib/catalog-server-thread.ts: starts the catalogue server and says where it listens.
import { type CatalogServerOptions, startCatalogServer } from "../../test/helpers/catalog-server.ts";

declare var self: Worker;

self.onmessage = (event: MessageEvent<CatalogServerOptions>) => {
  const server = startCatalogServer(event.data);
  postMessage({ url: server.url, origin: server.origin });
};
