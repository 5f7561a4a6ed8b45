// Product id -> number, for the tables that hold an entry per stored product (where its current vector is, the last
// order ticket applied to it). A Map of a million numbers adds ~10 ms to every full garbage collection, which a
// search waiting behind it sees; here the entries live in two typed arrays the collector never walks, ~16 bytes
// each. Open addressing with linear probing; a removal shifts the entries after it back, so no tombstones pile up.
const EMPTY = 0; // product ids start at 1
const MIN_CAPACITY = 16;
const MAX_LOAD = 0.7;

export interface IdTableCopy {
  keys: Uint32Array<ArrayBuffer>;
  values: Float64Array<ArrayBuffer>;
  size: number;
}

export class IdTable {
  #keys = new Uint32Array(MIN_CAPACITY);
  #values = new Float64Array(MIN_CAPACITY);
  #mask = MIN_CAPACITY - 1;
  #shift = 32 - Math.log2(MIN_CAPACITY);
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** Its entries as two arrays another thread can take over (`IdTable.from`); later changes do not reach them. */
  copy(): IdTableCopy {
    return { keys: this.#keys.slice(), values: this.#values.slice(), size: this.#size };
  }

  static from(copy: IdTableCopy): IdTable {
    const table = new IdTable();
    table.#keys = copy.keys;
    table.#values = copy.values;
    table.#mask = copy.keys.length - 1;
    table.#shift = 32 - Math.log2(copy.keys.length);
    table.#size = copy.size;
    return table;
  }

  get(id: number): number | undefined {
    const slot = this.#find(id);
    return this.#keys[slot] === EMPTY ? undefined : this.#values[slot];
  }

  has(id: number): boolean {
    return this.#keys[this.#find(id)] !== EMPTY;
  }

  set(id: number, value: number): void {
    if (!Number.isInteger(id) || id < 1 || id > 0xffffffff) throw new RangeError(`an id must be an integer from 1 to 2^32-1, got ${id}`);
    let slot = this.#find(id);
    if (this.#keys[slot] === EMPTY) {
      if (this.#size + 1 > MAX_LOAD * this.#keys.length) {
        this.#resize(this.#keys.length * 2);
        slot = this.#find(id);
      }
      this.#keys[slot] = id;
      this.#size++;
    }
    this.#values[slot] = value;
  }

  /** Whether there was an entry. */
  delete(id: number): boolean {
    let hole = this.#find(id);
    if (this.#keys[hole] === EMPTY) return false;
    this.#size--;
    // Move back each entry of the run after the hole whose home slot is not between the hole and itself.
    for (let slot = (hole + 1) & this.#mask; this.#keys[slot] !== EMPTY; slot = (slot + 1) & this.#mask) {
      const home = this.#home(this.#keys[slot]!);
      const reachable = hole <= slot ? home > hole && home <= slot : home > hole || home <= slot;
      if (reachable) continue;
      this.#keys[hole] = this.#keys[slot]!;
      this.#values[hole] = this.#values[slot]!;
      hole = slot;
    }
    this.#keys[hole] = EMPTY;
    return true;
  }

  /** Every id, in no particular order. */
  ids(): Uint32Array {
    const ids = new Uint32Array(this.#size);
    let next = 0;
    for (const key of this.#keys) if (key !== EMPTY) ids[next++] = key;
    return ids;
  }

  #home(id: number): number {
    // Fibonacci hashing: the product's high bits, so ids with a common stride spread as well as consecutive ones.
    return Math.imul(id, 0x9e3779b1) >>> this.#shift;
  }

  /** The slot holding `id`, or the empty slot where it would go. */
  #find(id: number): number {
    let slot = this.#home(id);
    while (this.#keys[slot] !== EMPTY && this.#keys[slot] !== id) slot = (slot + 1) & this.#mask;
    return slot;
  }

  #resize(capacity: number): void {
    const keys = this.#keys;
    const values = this.#values;
    this.#keys = new Uint32Array(capacity);
    this.#values = new Float64Array(capacity);
    this.#mask = capacity - 1;
    this.#shift = 32 - Math.log2(capacity);
    for (let slot = 0; slot < keys.length; slot++) {
      if (keys[slot] === EMPTY) continue;
      const at = this.#find(keys[slot]!);
      this.#keys[at] = keys[slot]!;
      this.#values[at] = values[slot]!;
    }
  }
}
