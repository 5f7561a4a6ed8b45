// The process's entry point, for `bun src/main.ts` and for the compiled binary alike: runs the command line (the
// service when there are no arguments) and exits with its code. The only file with side effects at import.
import { runCli } from "./cli/cli.ts";

process.exit(await runCli(process.argv.slice(2), process.env));
