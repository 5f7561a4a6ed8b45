// The service's log: one line per event on stdout (errors on stderr), as JSON for log collectors or as readable text
// on a terminal (LOG_FORMAT). Every line has the time and a message; fields say the rest.
export type LogFormat = "json" | "text";

export type LogValue = string | number | boolean | null | undefined;
export type LogFields = Record<string, LogValue>;

export interface LoggerOptions {
  format: LogFormat;
  /** Where info lines go; stdout by default. Tests pass their own to read the lines. */
  sink?: (line: string) => void;
  /** Where error lines go; stderr by default, or `sink` when only that is given. */
  errorSink?: (line: string) => void;
}

export class Logger {
  readonly format: LogFormat;
  readonly #sink: (line: string) => void;
  readonly #errorSink: (line: string) => void;

  constructor(options: LoggerOptions) {
    this.format = options.format;
    this.#sink = options.sink ?? ((line) => process.stdout.write(`${line}\n`));
    this.#errorSink = options.errorSink ?? options.sink ?? ((line) => process.stderr.write(`${line}\n`));
  }

  info(message: string, fields: LogFields = {}): void {
    this.#sink(this.#line("info", message, fields));
  }

  /** An unexpected failure: its message and stack go into the line. */
  error(message: string, error: unknown, fields: LogFields = {}): void {
    const described =
      error instanceof Error ? { error: error.message, stack: error.stack ?? null } : { error: String(error) };
    this.#errorSink(this.#line("error", message, { ...fields, ...described }));
  }

  #line(level: "info" | "error", message: string, fields: LogFields): string {
    const time = new Date().toISOString();
    if (this.format === "json") return JSON.stringify({ time, level, msg: message, ...fields });
    const { stack, ...rest } = fields;
    const pairs = Object.entries(rest)
      .filter(([, value]) => value !== undefined && value !== null)
      .map(([key, value]) => ` ${key}=${typeof value === "string" && /[\s"=]/.test(value) ? JSON.stringify(value) : value}`)
      .join("");
    return `${time} ${level === "error" ? "ERROR " : ""}${message}${pairs}${typeof stack === "string" ? `\n${stack}` : ""}`;
  }
}

/** LOG_FORMAT when set; otherwise text for a person at a terminal, JSON for everything else. */
export function resolveLogFormat(configured: LogFormat | null, stdoutIsTerminal: boolean): LogFormat {
  return configured ?? (stdoutIsTerminal ? "text" : "json");
}
