// The command line's grammar: which command, with which arguments. Pure, so every bad argument is tested without
// starting anything; the commands themselves live beside this file and are loaded only when chosen.
import { parseArgs } from "node:util";
import { DEFAULT_MIN_SCORE, LOWEST_MIN_SCORE } from "../similarity/duplicate-thresholds.ts";

export const PROGRAM = "fashion-image-processor";

export const EXIT_OK = 0;
/** The command ran and failed: a missing folder, no photo embedded, a service that does not answer. */
export const EXIT_FAILURE = 1;
/** The command line itself is wrong; usage was printed. */
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;

export type Command =
  | { name: "serve" }
  | { name: "index"; folder: string }
  | { name: "search"; image: string; top: number; json: boolean }
  | { name: "duplicates"; minScore: number; json: boolean }
  | { name: "healthcheck" }
  | { name: "migrate-store"; from: string; to: string }
  | { name: "help"; topic: CommandName | null }
  | { name: "version" };

export type CommandName = "serve" | "index" | "search" | "duplicates" | "healthcheck" | "migrate-store";

/** A command line that cannot be run: the message names what is wrong, `topic` picks the usage to show. */
export class UsageError extends Error {
  override name = "UsageError";
  constructor(
    message: string,
    readonly topic: CommandName | null = null,
  ) {
    super(message);
  }
}

export const DEFAULT_TOP = 10;

const MAX_TOP = 1000;

const ENVIRONMENT_NOTE = `Settings come from the environment (PORT, HOST, DATA_DIR, MODEL_PATH, INFERENCE_BACKEND,
CATALOG_API_URL or CATALOG_DIR, VECTOR_STORE_URL, ...; see the README). In the compiled binary MODEL_PATH defaults
to the embedded model, and native libraries are unpacked into NATIVE_LIB_DIR (default: $TMPDIR/${PROGRAM}-<uid>).`;

const FORMS: [form: string, what: string][] = [
  ["[serve]", "run the HTTP service (the default)"],
  ["index <folder>", "embed a folder of <id>.jpg photos into DATA_DIR"],
  ["search <image> [--top N] [--json]", "print the stored products most like a photo"],
  ["duplicates [--min-score S] [--json]", "print groups of near-identical products in DATA_DIR"],
  ["healthcheck", "exit 0 if the service answers /health"],
  ["migrate-store --from A --to B", "copy an index between a DATA_DIR and PostgreSQL, without re-embedding"],
  ["--help | --version", ""],
];

const formWidth = Math.max(...FORMS.map(([form]) => form.length));

const HELP: Record<CommandName | "top", string> = {
  top: `${PROGRAM}: visual similarity for fashion catalogues

Usage:
${FORMS.map(([form, what]) => `  ${PROGRAM} ${form.padEnd(formWidth)}  ${what}`.trimEnd()).join("\n")}

Run \`${PROGRAM} <command> --help\` for one command's details.

${ENVIRONMENT_NOTE}`,
  serve: `Usage: ${PROGRAM} [serve]

Runs the HTTP service: answers /health at once and /ready once the model is loaded and the index in DATA_DIR is
open. SIGTERM or SIGINT stop it gracefully.

${ENVIRONMENT_NOTE}`,
  index: `Usage: ${PROGRAM} index <folder>

Embeds every photo in <folder> named <id>.jpg, .jpeg, .png or .webp (id a positive integer) into the index in
DATA_DIR (default ./data), replacing the vectors those ids had, then prints a summary and exits: 0 when at least
one photo was embedded, 1 when none could be (or the folder has no such photos). Do not run it on a DATA_DIR that a
running service is using: stop the service first.`,
  search: `Usage: ${PROGRAM} search <image> [--top N] [--json]

Embeds <image> (JPEG, PNG or WebP) and prints the N (default ${DEFAULT_TOP}) stored products that look most like
it, best first, one per line: id, score (cosine similarity, 1 for the same photo) and image_url. --json prints
{"similar_products": [...]}, the shape of POST /similar-products/upload. Reads DATA_DIR (or, with VECTOR_STORE_URL,
the database) without changing it, so it is safe while the service runs.`,
  duplicates: `Usage: ${PROGRAM} duplicates [--min-score S] [--json]

Prints the groups of stored products whose photos score at least S (default ${DEFAULT_MIN_SCORE}, from ${LOWEST_MIN_SCORE} to 1) with
each other, largest first, one per line: size, lowest score inside the group, ids. Groups are connected components
(A~B and B~C put A and C together). --json prints {"groups": [...]}, the shape of GET /embeddings/duplicates. Reads
DATA_DIR (or, with VECTOR_STORE_URL, the database) without changing it, loads no model, and reports progress on
stderr.`,
  "migrate-store": `Usage: ${PROGRAM} migrate-store --from <DATA_DIR | postgres://...> --to <DATA_DIR | postgres://...>

Copies every vector of an index, as stored (no photo is fetched or embedded again), from a DATA_DIR into PostgreSQL
(the table VECTOR_STORE_URL names) or back. The target must be empty or hold an index of the same pipeline; products
already there are replaced, others are kept. Stop the services writing to either side first: a DATA_DIR in use is
refused (its lock), and changes made to the source meanwhile may be missed. Exits 0 once everything is copied.`,
  healthcheck: `Usage: ${PROGRAM} healthcheck

Asks the service on this machine (HOST, PORT; default 127.0.0.1:8000) for GET /health; exits 0 when it answers
200, 1 otherwise. Meant for a Docker HEALTHCHECK on images without curl.`,
};

export function helpText(topic: CommandName | null): string {
  return HELP[topic ?? "top"];
}

const COMMAND_NAMES: readonly CommandName[] = ["serve", "index", "search", "duplicates", "healthcheck", "migrate-store"];

const isCommandName = (word: string): word is CommandName => (COMMAND_NAMES as readonly string[]).includes(word);

/** Throws UsageError for anything that is not exactly one of the documented forms. */
export function parseCommandLine(argv: readonly string[]): Command {
  const [first, ...rest] = argv;
  if (first === undefined) return { name: "serve" };
  if (first === "--version" || first === "-v") {
    if (rest.length > 0) throw new UsageError(`${first} takes no arguments`);
    return { name: "version" };
  }
  if (first === "--help" || first === "-h" || first === "help") {
    const [topic, ...extra] = rest;
    if (extra.length > 0 || (topic !== undefined && !isCommandName(topic))) {
      throw new UsageError(`unexpected argument ${JSON.stringify(topic)} after ${first}`);
    }
    return { name: "help", topic: topic ?? null };
  }
  if (!isCommandName(first)) {
    const what = first.startsWith("-") ? `unknown option ${first}` : `unknown command ${JSON.stringify(first)}`;
    throw new UsageError(what);
  }

  const parsed = parseCommandArgs(first, rest);
  if (parsed.values.help) return { name: "help", topic: first };
  const positionals = parsed.positionals;
  switch (first) {
    case "serve":
    case "healthcheck":
      if (positionals.length > 0) throw new UsageError(`${first} takes no arguments`, first);
      return { name: first };
    case "index": {
      const folder = onePositional(first, "<folder>", positionals);
      return { name: "index", folder };
    }
    case "search": {
      const image = onePositional(first, "<image>", positionals);
      return { name: "search", image, top: parseTop(parsed.values.top), json: parsed.values.json === true };
    }
    case "duplicates":
      if (positionals.length > 0) throw new UsageError(`${first} takes no arguments`, first);
      return { name: "duplicates", minScore: parseMinScore(parsed.values["min-score"]), json: parsed.values.json === true };
    case "migrate-store": {
      if (positionals.length > 0) throw new UsageError(`${first} takes --from and --to, not ${JSON.stringify(positionals[0])}`, first);
      const { from, to } = parsed.values;
      if (!from || !to) throw new UsageError(`${first} needs --from and --to (a DATA_DIR or a postgres:// URL each)`, first);
      if (from === to) throw new UsageError(`${first}: --from and --to are the same index`, first);
      return { name: "migrate-store", from, to };
    }
  }
}

function parseCommandArgs(command: CommandName, args: string[]) {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: "boolean", short: "h" },
        ...(command === "search" ? { top: { type: "string", short: "n" }, json: { type: "boolean" } } : {}),
        ...(command === "duplicates" ? { "min-score": { type: "string" }, json: { type: "boolean" } } : {}),
        ...(command === "migrate-store" ? { from: { type: "string" }, to: { type: "string" } } : {}),
      },
    }) as { values: { help?: boolean; top?: string; json?: boolean; "min-score"?: string; from?: string; to?: string }; positionals: string[] };
  } catch (error) {
    // node:util's messages are already precise ("Unknown option '--x'", "Option '--top <value>' argument missing").
    throw new UsageError((error as Error).message, command);
  }
}

function onePositional(command: CommandName, what: string, positionals: string[]): string {
  if (positionals.length === 0) throw new UsageError(`${command} needs ${what}`, command);
  if (positionals.length > 1) throw new UsageError(`${command} takes one ${what}, got ${positionals.length}`, command);
  const value = positionals[0]!;
  if (value === "") throw new UsageError(`${command}: ${what} is empty`, command);
  return value;
}

function parseTop(value: string | undefined): number {
  if (value === undefined) return DEFAULT_TOP;
  const top = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(top) || top < 1 || top > MAX_TOP) {
    throw new UsageError(`--top must be a whole number from 1 to ${MAX_TOP}, got ${JSON.stringify(value)}`, "search");
  }
  return top;
}

function parseMinScore(value: string | undefined): number {
  if (value === undefined) return DEFAULT_MIN_SCORE;
  const score = Number(value);
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(value) || score < LOWEST_MIN_SCORE || score > 1) {
    throw new UsageError(`--min-score must be a number from ${LOWEST_MIN_SCORE} to 1, got ${JSON.stringify(value)}`, "duplicates");
  }
  return score;
}
