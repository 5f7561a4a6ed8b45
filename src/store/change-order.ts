// Order tickets: changes to one product apply in the order they were requested, not the order their work (a photo
// download, a model run) finishes in. A ticket is taken when the request arrives and handed to put/delete; a change
// holding an older ticket than the last one applied to its product is dropped.
import { IdTable } from "./id-table.ts";

export class ChangeOrder {
  /** Highest ticket applied per product. */
  readonly #applied = new IdTable();
  #next = 1;

  take(): number {
    return this.#next++;
  }

  /** Whether a change to `id` holding `ticket` may apply (and records it as the latest if so). */
  claim(id: number, ticket: number): boolean {
    if ((this.#applied.get(id) ?? 0) > ticket) return false;
    this.#applied.set(id, ticket);
    return true;
  }

  isLatest(id: number, ticket: number): boolean {
    return this.#applied.get(id) === ticket;
  }
}
