// End to end: two extra HTTP loops (src/http/extra-loop.ts) share the service's port with the main one (HTTP_LOOPS=3,
// more than this machine's cores, so that more than one mirror follows the store). Requests on fresh connections land
// on any loop: searches are answered alike by all and each counted once, a settled write is seen by the next search on
// any connection, and what the extra loops relay keeps its client's address and its streamed body.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { CatalogServer } from "../helpers/catalog-server.ts";
import { requireModel, tempDir, waitFor } from "../helpers/environment.ts";
import { type ServiceProcess, startService } from "../helpers/service-process.ts";
import { catalogPhotos, runTask, startCatalogOf, uploadForm } from "./e2e-fixtures.ts";

const HAVE_MODEL = requireModel("e2e extra HTTP loops");
setDefaultTimeout(120_000);

const MAX_UPLOAD_BYTES = 2 * 1024 * 1024;
/** Enough fresh connections that the main loop and the extra ones all get some (none: a chance of 2^-40 or less). */
const CONNECTIONS = 40;

describe.skipIf(!HAVE_MODEL)("extra HTTP loops", () => {
  const photos = catalogPhotos(12);
  const cleanup = new AsyncDisposableStack();
  let catalog: CatalogServer;
  let service: ServiceProcess;

  /** A request on a connection of its own, so the kernel picks a loop for it. */
  const fresh = (path: string, init: RequestInit = {}) =>
    fetch(`${service.url}${path}`, { ...init, keepalive: false, headers: { ...init.headers, Connection: "close" } });
  const metric = async (line: string) => {
    const text = await (await fresh("/metrics")).text();
    return Number(text.split("\n").find((candidate) => candidate.startsWith(`${line} `))?.split(" ")[1] ?? 0);
  };
  const extraLoopCount = (outcome: "answered" | "relayed") => metric(`fip_http_extra_loop_requests_total{outcome="${outcome}"}`);

  beforeAll(async () => {
    catalog = cleanup.use(startCatalogOf(photos));
    const dataDir = cleanup.use(await tempDir("fip-e2e-second-loop-")).path;
    service = cleanup.use(await startService({ DATA_DIR: dataDir, CATALOG_API_URL: catalog.url, MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES), HTTP_LOOPS: "3" }));
    await runTask(service, "POST", "/embeddings/generate-all");
    await waitFor(() => (service.logs().includes("3 HTTP loops answer on the port") ? true : undefined), { timeoutMs: 30_000, what: "the extra loop" });
  });

  afterAll(() => cleanup.disposeAsync());

  test("searches on fresh connections are answered by the main loop and the extra ones, alike, and each is counted once", async () => {
    const id = photos.ids[0]!;
    const path = `/similar-products/${id}?top_n=5`;
    const reference = await (await fresh(path)).json();
    const counted = `fip_http_requests_total{method="GET",route="/similar-products/{product_id}",status="200"}`;
    const [before, answeredBefore] = [await metric(counted), await extraLoopCount("answered")];
    for (let i = 0; i < CONNECTIONS; i++) {
      const answer = await fresh(path);
      expect(answer.status).toBe(200);
      expect(await answer.json()).toEqual(reference);
    }
    const answeredThere = (await extraLoopCount("answered")) - answeredBefore;
    expect(answeredThere).toBeGreaterThan(0);
    expect(answeredThere).toBeLessThan(CONNECTIONS);
    expect((await metric(counted)) - before).toBe(CONNECTIONS);
  });

  test("a settled write is seen by the next search on any connection", async () => {
    const id = photos.ids[1]!;
    for (const round of [1, 2]) {
      expect((await runTask(service, "DELETE", `/embeddings/product/${id}`)).status).toBe("succeeded");
      for (let i = 0; i < CONNECTIONS / 2; i++) expect((await fresh(`/similar-products/${id}`)).status).toBe(404);
      expect((await runTask(service, "POST", `/embeddings/product/${id}`)).status).toBe("succeeded");
      for (let i = 0; i < CONNECTIONS / 2; i++) {
        const answer = await fresh(`/similar-products/${id}?top_n=1`);
        expect(answer.status, `round ${round}`).toBe(200);
        expect(((await answer.json()) as any).similar_products[0].id).toBe(id);
      }
    }
  });

  test("what it relays keeps the client's address (a loopback write is let in) and streams its body", async () => {
    const relayedBefore = await extraLoopCount("relayed");
    const photo = await photos.bytes(photos.ids[2]!);
    for (let i = 0; i < CONNECTIONS / 2; i++) {
      const upload = await fresh("/similar-products/upload?top_n=1", { method: "POST", body: uploadForm(photo) });
      expect(upload.status).toBe(200);
      expect(((await upload.json()) as any).similar_products[0].id).toBe(photos.ids[2]);
      // Protected mode lets writes in from loopback only: a relayed write is let in only if its address came along.
      expect((await fresh(`/embeddings/product/${photos.ids[3]}`, { method: "PUT" })).status).toBe(202);
    }
    const tooLarge = await fresh("/similar-products/upload", { method: "POST", body: uploadForm(new Uint8Array(MAX_UPLOAD_BYTES + 1)) });
    expect(tooLarge.status).toBe(413);
    expect(((await tooLarge.json()) as any).error.code).toBe("PAYLOAD_TOO_LARGE");
    expect((await extraLoopCount("relayed")) - relayedBefore).toBeGreaterThan(0);
    const logged = service.logs().split("\n").filter((line) => line.includes('"path":"/similar-products/upload"'));
    expect(logged.length).toBeGreaterThan(CONNECTIONS / 2);
    for (const line of logged) expect(JSON.parse(line).remote_addr).toBe("127.0.0.1");
  });
});
