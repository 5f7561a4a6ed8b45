// Order tickets that hold across replicas: wall-clock microseconds, bumped by one when two are taken within the same
// microsecond (or the clock steps back), so one process's tickets always increase and tickets taken on different
// machines compare by when they were taken, to within the clocks' skew (NTP keeps it to milliseconds).
export class HybridClock {
  #last = 0;
  readonly #nowMicros: () => number;

  constructor(nowMicros: () => number = () => Math.floor((performance.timeOrigin + performance.now()) * 1000)) {
    this.#nowMicros = nowMicros;
  }

  /** Below 2^53 until the year 2255, so a JavaScript number holds it exactly, as does a bigint column. */
  take(): number {
    this.#last = Math.max(this.#last + 1, this.#nowMicros());
    return this.#last;
  }
}
