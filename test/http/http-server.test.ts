// The real HTTP server (Bun.serve as `serve` runs it) on 127.0.0.1, spoken to over a bare TCP socket: requests without
// a Host header, and oversized bodies written whole by a client that then reads the answer.
import { afterAll, describe, expect, test } from "bun:test";
import { startHttpServer } from "../../src/http/http-server.ts";
import { createUnreadyApp } from "../helpers/app-under-test.ts";
import { chunked, rawRequest } from "../helpers/raw-http.ts";

const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
const server = startHttpServer(createUnreadyApp({ maxUploadBytes: MAX_UPLOAD_BYTES }), {
  hostname: "127.0.0.1",
  port: 0,
});
const port = server.port!;
afterAll(() => server.stop(true));

describe("HTTP/1.0 without a Host header (what HAProxy's `option httpchk GET /health` sends)", () => {
  test("GET /health answers 200", async () => {
    const answer = await rawRequest(port, { head: "GET /health HTTP/1.0" });
    expect([answer.status, JSON.parse(answer.body)]).toEqual([200, { status: "ok" }]);
  });

  test("the path and query reach their route", async () => {
    const answer = await rawRequest(port, { head: "GET /embeddings/products?limit=0 HTTP/1.0" });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body).error.message).toStartWith("limit: ");
  });
});

describe("an oversized body gets the 413 envelope, read by a client that writes it whole and then waits", () => {
  const JSON_LIMIT = {
    code: "PAYLOAD_TOO_LARGE",
    message: "the body is larger than the 1048576-byte limit",
    details: { maxBytes: 1048576 },
  };
  const spaces = (megabytes: number) => new Uint8Array(megabytes * 1024 * 1024).fill(0x20);
  const expect413 = (answer: Awaited<ReturnType<typeof rawRequest>>, error: unknown) => {
    expect({ status: answer.status, type: answer.headers["content-type"], body: JSON.parse(answer.body) }).toEqual({
      status: 413,
      type: "application/json",
      body: { error: error },
    });
    expect(answer.headers.connection).toBe("close");
  };

  test.each([50, 70])("a %i MB JSON body to /embeddings/generate-batch, with Content-Length", async (megabytes) => {
    const body = spaces(megabytes);
    const answer = await rawRequest(port, {
      head: `POST /embeddings/generate-batch HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}`,
      body,
    });
    expect413(answer, JSON_LIMIT);
  });

  test("a 70 MB JSON body sent in chunks, without Content-Length", async () => {
    const answer = await rawRequest(port, {
      head: "POST /embeddings/generate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked",
      body: chunked(spaces(70)),
    });
    expect413(answer, JSON_LIMIT);
  });

  test("a 100 MB upload", async () => {
    const boundary = "----fip-test-boundary";
    const encoder = new TextEncoder();
    const parts = [
      encoder.encode(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="big.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`),
      spaces(100),
      encoder.encode(`\r\n--${boundary}--\r\n`),
    ];
    const length = parts.reduce((sum, part) => sum + part.length, 0);
    const answer = await rawRequest(port, {
      head:
        `POST /similar-products/upload HTTP/1.1\r\nHost: localhost\r\n` +
        `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${length}`,
      body: parts,
    });
    expect413(answer, {
      code: "PAYLOAD_TOO_LARGE",
      message: `the upload is larger than the ${MAX_UPLOAD_BYTES}-byte limit`,
      details: { maxBytes: MAX_UPLOAD_BYTES },
    });
  });
});

describe("HEAD answers what GET would, without the body", () => {
  test.each(["/openapi.json", "/", "/health", "/docs"])("HEAD %s has GET's Content-Length", async (path) => {
    const get = await fetch(`http://127.0.0.1:${port}${path}`);
    const length = (await get.arrayBuffer()).byteLength;
    const head = await fetch(`http://127.0.0.1:${port}${path}`, { method: "HEAD" });
    expect(length).toBeGreaterThan(0);
    expect([head.status, head.headers.get("Content-Length"), (await head.arrayBuffer()).byteLength]).toEqual([
      200,
      String(length),
      0,
    ]);
  });
});
