// Admission control: a fixed number of slots (queued products, uploads in progress) taken before work is accepted and
// given back as it finishes. Past the limit a request is refused at once with 503 QUEUE_FULL and a Retry-After
// estimated from how fast slots were given back lately, instead of piling up in memory.
import { AppError } from "./errors.ts";

/** Slots given back in this window set the pace the Retry-After estimate assumes. */
const PACE_WINDOW_MS = 30_000;
/** When nothing finished lately there is no pace to go by: come back after a window. */
const NO_PACE_RETRY_SECONDS = PACE_WINDOW_MS / 1000;
const MAX_RETRY_SECONDS = 300;

/** Seconds until `excess` slots are likely free at `perSecond`; whole seconds from 1 to 300. */
export function retryAfterSeconds(excess: number, perSecond: number | null): number {
  if (!perSecond) return NO_PACE_RETRY_SECONDS;
  return Math.min(MAX_RETRY_SECONDS, Math.max(1, Math.ceil(excess / perSecond)));
}

/** Slots held by one piece of work; giving back more than were taken is harmless. */
export interface Reservation {
  release(count?: number): void;
  releaseAll(): void;
}

export interface AdmissionOptions {
  capacity: number;
  /** What a slot is, for the refusal's message: "queued products". */
  name: string;
  /** The setting that sets the capacity, named in the refusal's message. */
  setting: string;
  now?: () => number;
}

export class Admission {
  readonly capacity: number;
  readonly setting: string;
  readonly #name: string;
  readonly #now: () => number;
  #inUse = 0;
  #released: { at: number; count: number }[] = [];

  constructor(options: AdmissionOptions) {
    this.capacity = options.capacity;
    this.#name = options.name;
    this.setting = options.setting;
    this.#now = options.now ?? Date.now;
  }

  get inUse(): number {
    return this.#inUse;
  }

  /** Takes `count` slots, or throws 503 QUEUE_FULL (with Retry-After) and takes none. */
  reserve(count: number): Reservation {
    if (this.#inUse + count > this.capacity) {
      const seconds = retryAfterSeconds(this.#inUse + count - this.capacity, this.#pace());
      throw new AppError(
        "QUEUE_FULL",
        503,
        `the service is busy: ${this.#inUse} of ${this.capacity} ${this.#name} are taken (${this.setting}); ` +
          `retry in ${seconds} s`,
        { limit: this.capacity, in_use: this.#inUse, retry_after_seconds: seconds },
        { "Retry-After": String(seconds) },
      );
    }
    this.#inUse += count;
    let held = count;
    const release = (n: number) => {
      const given = Math.min(n, held);
      if (given <= 0) return;
      held -= given;
      this.#inUse -= given;
      this.#recordRelease(given);
    };
    return { release: (n = 1) => release(n), releaseAll: () => release(held) };
  }

  /** Kept in one-second buckets, so a busy window holds about 30 entries whatever the pace. */
  #recordRelease(count: number): void {
    const second = Math.floor(this.#now() / 1000) * 1000;
    const last = this.#released.at(-1);
    if (last?.at === second) last.count += count;
    else this.#released.push({ at: second, count });
    this.#forgetOldReleases();
  }

  #forgetOldReleases(): void {
    const now = this.#now();
    while (this.#released.length > 0 && now - this.#released[0]!.at > PACE_WINDOW_MS) this.#released.shift();
  }

  /** Slots given back per second over the last window, or null if none were. */
  #pace(): number | null {
    const now = this.#now();
    this.#forgetOldReleases();
    const first = this.#released[0];
    if (!first) return null;
    const total = this.#released.reduce((sum, entry) => sum + entry.count, 0);
    return total / Math.max(1, (now - first.at) / 1000);
  }
}
