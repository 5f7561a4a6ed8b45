// A copy of the store's in-memory view on another thread, so that thread can answer reads and searches itself (the
// server's extra HTTP loops, http/extra-loop.ts). It is fed over a message port: first a snapshot of the whole view
// (the sealed segments are mapped again from their files; the page cache is shared), then every change in the order
// the store applied it. The mirror acknowledges what it has applied, and the store settles a write only once every
// mirror has it, so a client told its change is stored finds it whichever thread answers its next request.
import type { JournalRecord } from "./journal.ts";
import { SealedSegment } from "./segment-file.ts";
import { type SetChange, SegmentSet, type SetSnapshot } from "./segment-set.ts";

/** A change as it crosses threads: a replace's origins as two typed arrays rather than a million small objects. */
type WireChange =
  | { kind: "apply"; record: JournalRecord }
  | { kind: "freeze"; number: number }
  | { kind: "replace"; inputs: number[]; output: SealedSegment["source"]; segments: Uint32Array; rows: Uint32Array };

type ToMirror = { snapshot: SetSnapshot } | { changes: WireChange[]; through: number };
type FromMirror = { applied: number };

/** The store's end of a mirror: sends the snapshot and the changes, and tells when the mirror has applied them. */
export class MirrorFeed {
  readonly #port: MessagePort;
  #sent = 0;
  #applied = 0;
  #queued: WireChange[] = [];
  #waiting: { through: number; resolve: () => void }[] = [];
  #closed = false;
  readonly #onClose: () => void;

  constructor(set: SegmentSet, port: MessagePort, onClose: () => void) {
    this.#port = port;
    this.#onClose = onClose;
    const snapshot = set.snapshot();
    port.postMessage({ snapshot } satisfies ToMirror, transfersOf(snapshot));
    port.onmessage = (event) => {
      this.#applied = (event.data as FromMirror).applied;
      this.#waiting = this.#waiting.filter((waiter) => waiter.through > this.#applied || void waiter.resolve());
    };
  }

  /** Queues a change the store has applied; the changes of one turn of the event loop go in one message. */
  send(change: SetChange): void {
    if (this.#closed) return;
    if (this.#queued.length === 0) queueMicrotask(() => this.#flush());
    this.#queued.push(toWire(change));
    this.#sent++;
  }

  /** Settles once the mirror has applied every change sent so far (at once if it is closed). */
  caughtUp(): Promise<void> {
    if (this.#closed || this.#applied >= this.#sent) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push({ through: this.#sent, resolve }));
  }

  /** The mirror is gone (its thread stopped or failed): nothing waits for it any more. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose();
    this.#port.onmessage = null;
    this.#port.close();
    for (const waiter of this.#waiting) waiter.resolve();
    this.#waiting = [];
  }

  #flush(): void {
    if (this.#closed || this.#queued.length === 0) return;
    const changes = this.#queued;
    this.#queued = [];
    this.#port.postMessage({ changes, through: this.#sent } satisfies ToMirror);
  }
}

/** The other thread's end: the store's view, kept up to date, searched and read on this thread. */
export class StoreMirror {
  readonly #set: SegmentSet;
  /** Changes applied since the snapshot. */
  changes = 0;

  private constructor(set: SegmentSet) {
    this.#set = set;
  }

  /** Settles with the mirror once the snapshot has come; from then on it applies each change as it arrives. */
  static attach(port: MessagePort): Promise<StoreMirror> {
    return new Promise((resolve, reject) => {
      let mirror: StoreMirror | null = null;
      port.onmessage = (event) => {
        const message = event.data as ToMirror;
        try {
          if ("snapshot" in message) {
            resolve((mirror = new StoreMirror(SegmentSet.fromSnapshot(message.snapshot, openSource))));
            return;
          }
          for (const change of message.changes) mirror!.#apply(change);
          port.postMessage({ applied: message.through } satisfies FromMirror);
        } catch (error) {
          // A mirror that cannot follow must not answer from a stale view: the thread fails, and the store goes on.
          reject(error);
          throw error;
        }
      };
    });
  }

  /** The followed view, to read and search on this thread; never changed but by the store's changes. */
  get view(): SegmentSet {
    return this.#set;
  }

  #apply(change: WireChange): void {
    if (change.kind === "apply") {
      this.#set.apply(change.record);
      this.changes++;
    } else if (change.kind === "freeze") {
      this.#set.freeze(change.number);
    } else {
      const origins = Array.from(change.segments, (segment, i) => ({ segment, row: change.rows[i]! }));
      this.#set.replace(change.inputs, openSource(change.output), origins);
    }
  }
}

function openSource(source: SealedSegment["source"]): SealedSegment {
  return SealedSegment.open(source.dir, source.entry, source.dimensions, source.graph);
}

function toWire(change: SetChange): WireChange {
  if (change.kind === "apply") {
    const { record } = change;
    // A vector may be a view into a larger buffer (a batch), which a message would copy whole.
    return { kind: "apply", record: record.op === "put" ? { ...record, vector: record.vector.slice() } : record };
  }
  if (change.kind === "freeze") return change;
  return {
    kind: "replace",
    inputs: change.inputs,
    output: change.output,
    segments: Uint32Array.from(change.origins, (origin) => origin.segment),
    rows: Uint32Array.from(change.origins, (origin) => origin.row),
  };
}

/** The snapshot's arrays are its own copies: handed over rather than copied again. */
function transfersOf(snapshot: SetSnapshot): ArrayBuffer[] {
  const segments = snapshot.sealing ? [snapshot.sealing, snapshot.mutable] : [snapshot.mutable];
  const buffers: ArrayBuffer[] = [snapshot.current.keys.buffer, snapshot.current.values.buffer];
  for (const segment of segments) buffers.push(segment.ids.buffer, segment.vectors.buffer);
  return buffers;
}
