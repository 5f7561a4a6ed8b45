// PostgreSQL for the tests, with no server installed: PGlite (PostgreSQL compiled to WASM) with pgvector, served over
// the real wire protocol on 127.0.0.1 by pglite-socket, so the service's `postgres` client talks to it as to a real
// server. It can stop listening (every connection cut, as when a database goes away) and listen again on the same
// port with the same data.
//
// PGlite is one backend session shared by every connection. pglite-socket's own queue runs each protocol message as
// it comes, so two connections' extended-protocol queries interleave (one's Bind lands on the other's unnamed
// statement: "portal does not exist"). This queue runs a connection's messages up to its Sync (or Flush, simple
// Query, Terminate) as one unit, and while a transaction is open runs only the connection that opened it.
import { createServer, type Server, type Socket } from "node:net";
import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import { PGLiteSocketHandler, type PGLiteSocketHandlerOptions } from "@electric-sql/pglite-socket";

type OnData = (data: Uint8Array) => void;

interface Unit {
  handlerId: number;
  message: Uint8Array;
  onData: OnData;
  done: (bytes: number) => void;
  failed: (error: unknown) => void;
}

const ENDS_A_UNIT = new Set(["S", "H", "Q", "X"].map((letter) => letter.charCodeAt(0)));
const STARTUP_PROTOCOL = 196608;

/** The part of pglite-socket's QueryQueueManager its handler calls, grouping messages into units. */
class UnitQueue {
  readonly #db: PGlite;
  readonly #pending = new Map<number, Uint8Array[]>();
  #units: Unit[] = [];
  #running = false;
  /** The connection whose unit ran last: while it holds a transaction open, only its units run. */
  #last: number | null = null;

  constructor(db: PGlite) {
    this.#db = db;
  }

  enqueue(handlerId: number, message: Uint8Array, onData: OnData): Promise<number> {
    const isStartup = message.length >= 8 && new DataView(message.buffer, message.byteOffset).getInt32(4) === STARTUP_PROTOCOL;
    const parts = this.#pending.get(handlerId) ?? [];
    parts.push(message);
    if (!isStartup && !ENDS_A_UNIT.has(message[0]!)) {
      this.#pending.set(handlerId, parts);
      return Promise.resolve(0);
    }
    this.#pending.delete(handlerId);
    return new Promise((done, failed) => {
      this.#units.push({ handlerId, message: Buffer.concat(parts), onData, done, failed });
      void this.#run();
    });
  }

  async #run(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      for (;;) {
        const index = this.#db.isInTransaction() && this.#last !== null ? this.#units.findIndex((unit) => unit.handlerId === this.#last) : 0;
        const unit = index >= 0 ? this.#units.splice(index, 1)[0] : undefined;
        if (!unit) return;
        let bytes = 0;
        try {
          await this.#db.runExclusive(() =>
            this.#db.execProtocolRawStream(unit.message, { onRawData: (data) => ((bytes += data.length), unit.onData(data)) }),
          );
          this.#last = unit.handlerId;
          unit.done(bytes);
        } catch (error) {
          unit.failed(error);
        }
      }
    } finally {
      this.#running = false;
    }
  }

  getQueueLength(): number {
    return this.#units.length;
  }

  clearQueueForHandler(handlerId: number): void {
    this.#pending.delete(handlerId);
    for (const unit of this.#units.filter((unit) => unit.handlerId === handlerId)) unit.failed(new Error("connection closed"));
    this.#units = this.#units.filter((unit) => unit.handlerId !== handlerId);
  }

  /** A connection cut inside its transaction: roll it back so the others can run. */
  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    if (this.#db.isInTransaction() && this.#last === handlerId) {
      await this.#db.exec("ROLLBACK");
      this.#last = null;
      void this.#run();
    }
  }
}

export interface PgliteServer extends AsyncDisposable {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  db: PGlite;
  /** Cuts every connection and stops listening: the database is gone for its clients. */
  stopListening(): Promise<void>;
  /** Listens again on the same port, with the same data. */
  listen(): Promise<void>;
  close(): Promise<void>;
}

/** A fresh in-memory database with pgvector, listening on 127.0.0.1 (port 0 unless given). */
export async function startPgliteServer(port = 0): Promise<PgliteServer> {
  const db = await PGlite.create({ extensions: { vector } });
  const queue = new UnitQueue(db);
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let boundPort = port;

  const listen = async () => {
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      const handler = new PGLiteSocketHandler({
        queryQueue: queue as unknown as PGLiteSocketHandlerOptions["queryQueue"],
        closeOnDetach: true,
      });
      handler.addEventListener("error", () => socket.destroy());
      void handler.attach(socket);
    });
    const listening = server;
    await new Promise<void>((resolve, reject) => {
      listening.once("error", reject);
      listening.listen(boundPort, "127.0.0.1", () => resolve());
    });
    boundPort = (listening.address() as { port: number }).port;
  };
  const stopListening = async () => {
    const closing = server;
    server = null;
    if (!closing) return;
    const closed = new Promise<void>((resolve) => closing.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
    if (db.isInTransaction()) await db.exec("ROLLBACK");
  };

  await listen();
  const close = async () => {
    await stopListening();
    await db.close();
  };
  return {
    get url() {
      return `postgres://postgres@127.0.0.1:${boundPort}/postgres`;
    },
    get port() {
      return boundPort;
    },
    db,
    stopListening,
    listen,
    close,
    [Symbol.asyncDispose]: close,
  };
}
