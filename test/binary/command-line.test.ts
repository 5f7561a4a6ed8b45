// The command line's grammar and the index command's progress display: pure functions, no binary needed.
import { describe, expect, test } from "bun:test";
import { DEFAULT_TOP, helpText, parseCommandLine, UsageError } from "../../src/cli/command-line.ts";
import { formatDuration, progressBar, progressLine, tenth } from "../../src/cli/progress.ts";

describe("parseCommandLine", () => {
  test.each([
    [[], { name: "serve" }],
    [["serve"], { name: "serve" }],
    [["index", "photos"], { name: "index", folder: "photos" }],
    [["search", "a.jpg"], { name: "search", image: "a.jpg", top: DEFAULT_TOP, json: false }],
    [["search", "a.jpg", "--top", "3", "--json"], { name: "search", image: "a.jpg", top: 3, json: true }],
    [["search", "--top=5", "a.jpg"], { name: "search", image: "a.jpg", top: 5, json: false }],
    [["search", "-n", "1", "a.jpg"], { name: "search", image: "a.jpg", top: 1, json: false }],
    [["duplicates"], { name: "duplicates", minScore: 0.98, json: false }],
    [["duplicates", "--min-score", "0.95", "--json"], { name: "duplicates", minScore: 0.95, json: true }],
    [["duplicates", "--min-score=1"], { name: "duplicates", minScore: 1, json: false }],
    [["migrate-store", "--from", "./data", "--to", "postgres://db/shop"], { name: "migrate-store", from: "./data", to: "postgres://db/shop" }],
    [["healthcheck"], { name: "healthcheck" }],
    [["--version"], { name: "version" }],
    [["-v"], { name: "version" }],
    [["--help"], { name: "help", topic: null }],
    [["help", "search"], { name: "help", topic: "search" }],
    [["index", "--help"], { name: "help", topic: "index" }],
    [["search", "-h"], { name: "help", topic: "search" }],
  ])("%p", (argv, command) => {
    expect(parseCommandLine(argv)).toEqual(command as ReturnType<typeof parseCommandLine>);
  });

  test.each([
    [["bogus"], 'unknown command "bogus"', null],
    [["--port"], "unknown option --port", null],
    [["--version", "x"], "--version takes no arguments", null],
    [["help", "nope"], 'unexpected argument "nope" after help', null],
    [["serve", "x"], "serve takes no arguments", "serve"],
    [["serve", "--port", "1"], "Unknown option '--port'", "serve"],
    [["index"], "index needs <folder>", "index"],
    [["index", ""], "index: <folder> is empty", "index"],
    [["index", "a", "b"], "index takes one <folder>, got 2", "index"],
    [["index", "a", "--top", "3"], "Unknown option '--top'", "index"],
    [["search"], "search needs <image>", "search"],
    [["search", "a.jpg", "--top"], "argument missing", "search"],
    [["search", "a.jpg", "--top", "0"], '--top must be a whole number from 1 to 1000, got "0"', "search"],
    [["search", "a.jpg", "--top", "2.5"], "--top must be a whole number", "search"],
    [["search", "a.jpg", "--top", "1001"], "--top must be a whole number", "search"],
    [["search", "a.jpg", "--json=yes"], "--json", "search"],
    [["healthcheck", "now"], "healthcheck takes no arguments", "healthcheck"],
    [["duplicates", "x"], "duplicates takes no arguments", "duplicates"],
    [["duplicates", "--min-score", "0.5"], '--min-score must be a number from 0.8 to 1, got "0.5"', "duplicates"],
    [["duplicates", "--min-score", "1.01"], "--min-score must be a number from 0.8 to 1", "duplicates"],
    [["duplicates", "--min-score", "abc"], "--min-score must be a number from 0.8 to 1", "duplicates"],
    [["duplicates", "--top", "3"], "Unknown option '--top'", "duplicates"],
    [["migrate-store", "--from", "./data"], "migrate-store needs --from and --to", "migrate-store"],
    [["migrate-store", "--from", "./data", "--to", "./data"], "--from and --to are the same index", "migrate-store"],
    [["migrate-store", "x", "--from", "a", "--to", "b"], 'migrate-store takes --from and --to, not "x"', "migrate-store"],
  ])("%p is a usage error", (argv, message, topic) => {
    let error: unknown;
    try {
      parseCommandLine(argv);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toContain(message);
    expect((error as UsageError).topic).toBe(topic as UsageError["topic"]);
  });

  test("every command has its own help", () => {
    for (const topic of ["serve", "index", "search", "duplicates", "healthcheck", "migrate-store"] as const) {
      expect(helpText(topic)).toStartWith(`Usage: fashion-image-processor ${topic === "serve" ? "[serve]" : topic}`);
    }
  });
});

describe("progress", () => {
  test("a bar with counts, rate, ETA and failures", () => {
    expect(progressBar({ done: 38, failed: 2, total: 120, elapsedMs: 10_000 })).toBe(
      "[##########--------------------]  40/120   33%  4.0 photos/s  ETA 20s  2 failed",
    );
    expect(progressBar({ done: 0, failed: 0, total: 5, elapsedMs: 0 })).toBe(
      "[------------------------------] 0/5    0%  0.0 photos/s",
    );
    expect(progressBar({ done: 5, failed: 0, total: 5, elapsedMs: 2_000 })).toBe(
      "[##############################] 5/5  100%  2.5 photos/s",
    );
  });

  test("plain lines, one per tenth of the way", () => {
    expect(progressLine({ done: 38, failed: 2, total: 120, elapsedMs: 10_000 })).toBe(
      "40/120 photos (33%), 2 failed, 4.0 photos/s",
    );
    const tenths = [0, 11, 12, 119, 120].map((done) => tenth({ done, failed: 0, total: 120, elapsedMs: 1 }));
    expect(tenths).toEqual([0, 0, 1, 9, 10]);
    expect(tenth({ done: 3, failed: 0, total: 0, elapsedMs: 1 })).toBe(0);
  });

  test("durations", () => {
    expect([0, 1_234, 9_949, 9_950, 59_400, 61_000, 3_600_000 + 120_000].map(formatDuration)).toEqual([
      "0.0s",
      "1.2s",
      "9.9s",
      "10s",
      "59s",
      "1m01s",
      "1h02m",
    ]);
  });
});
