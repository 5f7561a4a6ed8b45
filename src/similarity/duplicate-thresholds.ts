// The near-duplicate threshold's default and range, shared by GET /embeddings/duplicates and the `duplicates` command
// (a module with no imports, so the command line can read it without loading the service).

/** Chosen on the labelled photos (docs/quality.md, section 12). */
export const DEFAULT_MIN_SCORE = 0.98;
/** Below this, "near-duplicate" stops meaning anything and one group would swallow most of a catalogue. */
export const LOWEST_MIN_SCORE = 0.8;
