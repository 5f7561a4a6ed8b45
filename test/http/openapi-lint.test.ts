// /openapi.json linted as client developers lint it: @redocly/cli's `recommended` rules and Spectral's `oas` rules,
// with the repo's own configs (redocly.yaml, .spectral.yaml: each rule turned off there says why). Both run offline.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { REPO_ROOT } from "../helpers/catalog-server.ts";
import { call, createUnreadyApp } from "../helpers/app-under-test.ts";
import { tempDir } from "../helpers/environment.ts";
import { type CommandResult, runCommand } from "../helpers/run-command.ts";

const bin = (name: string) => join(REPO_ROOT, "node_modules/.bin", name);

async function writeDocument(dir: string): Promise<string> {
  const response = await call(createUnreadyApp(), "/openapi.json");
  const path = join(dir, "openapi.json");
  await Bun.write(path, await response.text());
  return path;
}

function run(command: string[]): Promise<CommandResult> {
  return runCommand(command, {
    cwd: REPO_ROOT,
    // No usage reports and no update check: nothing leaves the machine.
    env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true", NO_COLOR: "1" },
  });
}

describe("the OpenAPI document passes the common linters", () => {
  test("@redocly/cli lint (recommended): no errors, no warnings", async () => {
    await using dir = await tempDir("fip-openapi-lint-");
    const document = await writeDocument(dir.path);
    const result = await run([bin("redocly"), "lint", document, "--config", join(REPO_ROOT, "redocly.yaml"), "--format", "json"]);
    const report = JSON.parse(result.stdout) as { totals: object; problems: { ruleId: string; message: string }[] };
    expect({ totals: report.totals, problems: report.problems.map((p) => `${p.ruleId}: ${p.message}`) }).toEqual({
      totals: { errors: 0, warnings: 0, ignored: 0 },
      problems: [],
    });
    expect(result.exitCode).toBe(0);
  }, 60_000);

  test("spectral lint (spectral:oas): no errors, no warnings", async () => {
    await using dir = await tempDir("fip-openapi-lint-");
    const document = await writeDocument(dir.path);
    const result = await run([
      bin("spectral"),
      "lint",
      document,
      "--ruleset",
      join(REPO_ROOT, ".spectral.yaml"),
      "--format",
      "json",
      "--fail-severity",
      "hint",
    ]);
    const problems = JSON.parse(result.stdout.slice(0, result.stdout.lastIndexOf("]") + 1)) as { code: string; message: string; path: string[] }[];
    expect(problems.map((p) => `${p.code}: ${p.message} at ${p.path.join(".")}`)).toEqual([]);
    expect(result.exitCode).toBe(0);
  }, 60_000);
});
