// Runs one command line to its exit code. Each command's module (and with it the model, the native addons and the
// index) is loaded only when that command runs, so --help, --version and healthcheck start at once and need nothing
// from the host beyond the binary.
import packageJson from "../../package.json" with { type: "json" };
import { ConfigError } from "../config.ts";
import {
  type Command,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  helpText,
  PROGRAM,
  parseCommandLine,
  UsageError,
} from "./command-line.ts";

export async function runCli(argv: readonly string[], env: Record<string, string | undefined>): Promise<number> {
  let command: Command;
  try {
    command = parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${PROGRAM}: ${error.message}\n\n${helpText(error.topic)}`);
    return EXIT_USAGE;
  }
  try {
    return await run(command, env);
  } catch (error) {
    console.error(describeFailure(command, error));
    return EXIT_FAILURE;
  }
}

async function run(command: Command, env: Record<string, string | undefined>): Promise<number> {
  switch (command.name) {
    case "help":
      console.log(helpText(command.topic));
      return EXIT_OK;
    case "version":
      console.log(`${PROGRAM} ${packageJson.version}`);
      return EXIT_OK;
    case "serve": {
      const { serve } = await import("./serve.ts");
      return serve(env);
    }
    case "index": {
      const { indexFolder } = await import("./index-folder.ts");
      return indexFolder(command.folder, env);
    }
    case "search": {
      const { searchPhoto } = await import("./search-photo.ts");
      return searchPhoto(command.image, { top: command.top, json: command.json }, env);
    }
    case "duplicates": {
      const { printDuplicates } = await import("./find-duplicates.ts");
      return printDuplicates({ minScore: command.minScore, json: command.json }, env);
    }
    case "migrate-store": {
      const { migrateStore } = await import("./migrate-store.ts");
      return migrateStore(command.from, command.to, env);
    }
    case "healthcheck": {
      const { healthcheck } = await import("./healthcheck.ts");
      return healthcheck(env);
    }
  }
}

/** One line for failures the user can fix (configuration, host), the stack for anything else. */
function describeFailure(command: Command, error: unknown): string {
  // "invalid configuration: PORT: …" says it all, as it always has.
  if (error instanceof ConfigError) return error.message;
  const what = command.name === "serve" ? "failed to start" : `${command.name} failed`;
  const native = nativeLibraryError(error);
  if (native) return `${what}: ${native.message}`;
  // An index made by another pipeline, or a damaged one: the message names the files. A StartupError (a missing
  // folder or model, a taken port) names the setting.
  if (error instanceof Error && (error.name === "StoreError" || error.name === "StartupError")) return `${what}: ${error.message}`;
  return `${what}: ${(error as Error)?.stack ?? error}`;
}

/**
 * The binary's NativeLibraryError (src/runtime/native-libraries.ts) behind `error`: @napi-rs/canvas wraps it in its
 * own "Cannot find native binding" error, as a `cause`. Matched by name: importing the class here would load the
 * binary's embedded files.
 */
function nativeLibraryError(error: unknown): Error | null {
  for (let depth = 0; error instanceof Error && depth < 20; depth++, error = error.cause) {
    if (error.name === "NativeLibraryError") return error;
  }
  return null;
}
