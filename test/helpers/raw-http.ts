// HTTP over a bare TCP socket (node:net), for what fetch cannot show: a request without a Host header, a client that
// writes a whole oversized body and still wants the answer, a connection kept open and how it is closed.
import net from "node:net";

export interface RawAnswer {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: string;
  /** The error the client got while still writing (EPIPE, ECONNRESET), if the server stopped reading early. */
  writeError: string | null;
}

export interface RawRequest {
  /** The request line and headers, without the blank line that ends them. */
  head: string;
  /** Written after the head; chunks are sent one after another (e.g. as chunked transfer encoding). */
  body?: Uint8Array | Uint8Array[];
  timeoutMs?: number;
}

/**
 * Sends one request on a new connection and reads one answer (by its Content-Length, or to the end of the stream).
 * A failed write is tolerated and reported; a connection that ends without a whole answer rejects.
 */
export function rawRequest(port: number, request: RawRequest): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let received = Buffer.alloc(0);
    let writeError: string | null = null;
    let settled = false;
    const timer = setTimeout(() => finish(new Error(`no whole answer within ${request.timeoutMs ?? 60_000} ms`)), request.timeoutMs ?? 60_000);
    const finish = (outcome: RawAnswer | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const tryParse = (atEnd: boolean) => {
      const answer = parseAnswer(received, atEnd);
      if (answer) finish({ ...answer, writeError });
      else if (atEnd) finish(new Error(`the connection ended without a whole answer (write error: ${writeError}): ${received.toString("latin1").slice(0, 200)}`));
    };
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      tryParse(false);
    });
    socket.on("end", () => tryParse(true));
    socket.on("error", (error) => {
      // Writing into a connection the server has stopped reading: the answer may still be in our receive buffer.
      writeError ??= (error as NodeJS.ErrnoException).code ?? error.message;
      tryParse(true);
    });
    socket.write(`${request.head}\r\n\r\n`);
    const chunks = request.body === undefined ? [] : Array.isArray(request.body) ? request.body : [request.body];
    for (const chunk of chunks) socket.write(chunk, (error) => error && (writeError ??= (error as NodeJS.ErrnoException).code ?? error.message));
  });
}

function parseAnswer(received: Buffer, atEnd: boolean): Omit<RawAnswer, "writeError"> | null {
  const headEnd = received.indexOf("\r\n\r\n");
  if (headEnd < 0) return null;
  const [statusLine, ...lines] = received.subarray(0, headEnd).toString("latin1").split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const body = received.subarray(headEnd + 4);
  const length = headers["content-length"];
  if (length !== undefined ? body.length < Number(length) : !atEnd) return null;
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine!)?.[1]);
  return { status, headers, body: body.subarray(0, length === undefined ? undefined : Number(length)).toString("utf8") };
}

/** `body` as chunked transfer encoding, in pieces of `chunkBytes`. */
export function chunked(body: Uint8Array, chunkBytes = 1024 * 1024): Uint8Array[] {
  const encoder = new TextEncoder();
  const pieces: Uint8Array[] = [];
  for (let offset = 0; offset < body.length; offset += chunkBytes) {
    const chunk = body.subarray(offset, offset + chunkBytes);
    pieces.push(encoder.encode(`${chunk.length.toString(16)}\r\n`), chunk, encoder.encode("\r\n"));
  }
  pieces.push(encoder.encode("0\r\n\r\n"));
  return pieces;
}

export interface IdleConnection {
  /** How the server ended the connection: "end" (a clean close) or the socket error (e.g. ECONNRESET). */
  closed: Promise<string>;
  destroy(): void;
}

/** Opens a keep-alive connection, asks GET /health on it once, then leaves it idle. */
export function idleKeepAliveConnection(port: number): Promise<IdleConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let received = Buffer.alloc(0);
    let answered = false;
    let announceClosed: (how: string) => void = () => {};
    const closed = new Promise<string>((done) => (announceClosed = done));
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (!answered && parseAnswer(received, false)?.status === 200) {
        answered = true;
        resolve({ closed, destroy: () => socket.destroy() });
      }
    });
    socket.on("end", () => announceClosed("end"));
    socket.on("error", (error) => {
      announceClosed((error as NodeJS.ErrnoException).code ?? error.message);
      if (!answered) reject(error);
    });
    socket.write("GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n");
  });
}
