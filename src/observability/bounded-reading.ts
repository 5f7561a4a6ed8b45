// A value read from somewhere that may be slow or away (the index's row count in PostgreSQL) for a metrics scrape:
// at most one read in flight whatever the scrape rate, a scrape waits for it at most `timeoutMs`, and when it fails or
// is late the scrape gets the last value read (null before the first).
export class BoundedReading {
  readonly #read: () => Promise<number>;
  readonly #timeoutMs: number;
  #inFlight: Promise<void> | null = null;
  #last: number | null = null;

  constructor(read: () => Promise<number>, timeoutMs: number) {
    this.#read = read;
    this.#timeoutMs = timeoutMs;
  }

  async value(): Promise<number | null> {
    this.#inFlight ??= this.#read().then(
      (value) => void (this.#last = value),
      () => {}, // the last value stands; the failure is the store's to report (/ready, the request that met it)
    ).finally(() => (this.#inFlight = null));
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.#inFlight, new Promise((settle) => (timer = setTimeout(settle, this.#timeoutMs)))]);
    clearTimeout(timer);
    return this.#last;
  }
}
