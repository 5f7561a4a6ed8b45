// A catalogue that tells the observer about each request that failed for good (after the catalogue's own retries),
// by error code. A request aborted by shutdown is not the catalogue's failure and is not reported.
import { describeError } from "../errors.ts";
import type { ServiceObserver } from "../observability/observer.ts";
import type { Catalog } from "./catalog.ts";

export function reportingFailures(catalog: Catalog, observer: Pick<ServiceObserver, "catalogError">): Catalog {
  const report =
    (signal: AbortSignal | undefined) =>
    (error: unknown): never => {
      if (!signal?.aborted) observer.catalogError(describeError(error).code);
      throw error;
    };
  return {
    fetchImage: (productId, signal, listedImageUrl) =>
      catalog.fetchImage(productId, signal, listedImageUrl).catch(report(signal)),
    listPage: (page, signal) => catalog.listPage(page, signal).catch(report(signal)),
  };
}
