// Runs a command to its end and gives back its exit code and everything it printed: the one way tests wait for a
// child process that is meant to finish.
import type { SpawnOptions } from "bun";

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export async function runCommand(
  command: string[],
  options: Omit<SpawnOptions.OptionsObject<"ignore", "pipe", "pipe">, "stdout" | "stderr"> = {},
): Promise<CommandResult> {
  const child = Bun.spawn(command, { ...options, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { exitCode, stdout, stderr };
}
