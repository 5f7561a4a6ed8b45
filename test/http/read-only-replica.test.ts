// A search-only replica (VECTOR_STORE_READ_ONLY) refuses every write route of the OpenAPI document with 405
// READ_ONLY_REPLICA before reading anything of the request, and still admits every read; OPTIONS and Allow say what
// a path still accepts. The write routes are the access table's, which a test holds equal to the live document.
import { describe, expect, test } from "bun:test";
import { call, createUnreadyApp, expectErrorEnvelope } from "../helpers/app-under-test.ts";
import { ACCESS_TABLE, casesFor } from "./access-table.ts";

const SEARCH_ONLY = { VECTOR_STORE_URL: "postgres://fip@standby.internal:5432/shop", VECTOR_STORE_READ_ONLY: "true" };

describe("a search-only replica", () => {
  const app = createUnreadyApp({ env: SEARCH_ONLY });
  const primary = createUnreadyApp({ env: { VECTOR_STORE_URL: SEARCH_ONLY.VECTOR_STORE_URL } });

  test.each(casesFor("write"))("%s answers 405 READ_ONLY_REPLICA, Allow: OPTIONS", async (name, entry) => {
    const method = name.split(" ")[0]!;
    const response = await call(app, entry.path, entry.init?.());
    expect(response.headers.get("Allow")).toBe("OPTIONS");
    expect(await expectErrorEnvelope(response, 405, "READ_ONLY_REPLICA")).toEqual({
      code: "READ_ONLY_REPLICA",
      message: `this replica serves searches only (VECTOR_STORE_READ_ONLY=true), so ${method} ${entry.path} is refused: send writes to a replica on the primary database`,
    });
    // The same request on a replica of the primary is admitted (503 NOT_READY from this app with nothing loaded).
    expect((await call(primary, entry.path, entry.init?.())).status).toBe(503);
  });

  test("a write is refused before its body is looked at: not a 415 for a body that is not JSON", async () => {
    const response = await call(app, "/embeddings/generate", { method: "POST", body: "1,2,3", headers: { "Content-Type": "text/plain" } });
    expect((await expectErrorEnvelope(response, 405, "READ_ONLY_REPLICA")).code).toBe("READ_ONLY_REPLICA");
  });

  test.each(Object.entries(ACCESS_TABLE).filter(([, entry]) => entry.access !== "write"))("%s is still served", async (_name, entry) => {
    const response = await call(app, entry.path, entry.init?.());
    expect(response.status).not.toBe(405);
  });

  test("OPTIONS lists what a path still accepts; a method no route serves is still METHOD_NOT_ALLOWED", async () => {
    const options = async (path: string) => (await call(app, path, { method: "OPTIONS" })).headers.get("Allow");
    expect(await options("/embeddings/product/1")).toBe("OPTIONS");
    expect(await options("/embeddings/check/1")).toBe("GET, HEAD, OPTIONS");
    expect(await options("/similar-products/upload")).toBe("POST, OPTIONS");
    const patch = await call(app, "/embeddings/product/1", { method: "PATCH" });
    expect(patch.headers.get("Allow")).toBe("OPTIONS");
    expect((await expectErrorEnvelope(patch, 405, "METHOD_NOT_ALLOWED")).message).toBe("PATCH is not allowed on /embeddings/product/1; use OPTIONS");
  });

  test("the OpenAPI document declares the refusal, with Allow, on every write operation", async () => {
    const doc = (await (await call(app, "/openapi.json")).json()) as { paths: Record<string, Record<string, { responses: Record<string, any> }>> };
    for (const name of casesFor("write").map(([name]) => name)) {
      const [method, path] = name.split(" ") as [string, string];
      const refusal = doc.paths[path]![method.toLowerCase()]!.responses["405"];
      expect(refusal?.description, name).toStartWith("READ_ONLY_REPLICA: this replica serves searches only");
      expect(Object.keys(refusal.headers ?? {}), name).toEqual(["Allow"]);
    }
  });
});
