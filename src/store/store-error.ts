// A problem with the data directory a user can act on: another pipeline's index, a damaged file, a second process.
export class StoreError extends Error {
  override name = "StoreError";
}
