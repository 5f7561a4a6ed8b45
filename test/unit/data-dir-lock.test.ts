import { describe, expect, test } from "bun:test";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { VectorStore } from "../../src/store/vector-store.ts";
import { tempDir } from "../helpers/environment.ts";

const HOLDER = join(import.meta.dir, "../helpers/hold-data-dir.ts");

const openStore = (dataDir: string) => VectorStore.open({ dataDir, dimensions: 8, pipeline: "test-pipeline/v1" });

/** Another process that opens the store in `dataDir`; `said` is its first line ("open" or its refusal). */
function holder(dataDir: string) {
  const child = Bun.spawn([process.execPath, HOLDER, dataDir], { stdout: "pipe", stderr: "inherit" });
  const said = (async () => {
    let text = "";
    for await (const chunk of child.stdout) {
      text += new TextDecoder().decode(chunk);
      if (text.includes("\n")) break;
    }
    return text.trim();
  })();
  const dispose = async () => {
    child.kill("SIGKILL");
    await child.exited;
  };
  return { child, said, [Symbol.asyncDispose]: dispose };
}

describe("the DATA_DIR lock", () => {
  test("a second process is refused while the first lives, and gets the lock once the first is killed", async () => {
    await using dir = await tempDir();
    await using first = holder(dir.path);
    expect(await first.said).toBe("open");
    expect(openStore(dir.path)).rejects.toThrow(`${dir.path} is in use by process ${first.child.pid}; stop it first`);
    await using second = holder(dir.path);
    expect(await second.said).toContain(`is in use by process ${first.child.pid}`);
    expect(await second.child.exited).toBe(1);

    first.child.kill("SIGKILL"); // a crash: no release, the LOCK file and its pid stay
    await first.child.exited;
    expect((await readFile(join(dir.path, "LOCK"), "utf8")).trim()).toBe(String(first.child.pid));
    const store = await openStore(dir.path);
    expect((await readFile(join(dir.path, "LOCK"), "utf8")).trim()).toBe(String(process.pid));
    await store.close();
  });

  test("a pid left in LOCK that now belongs to another live process does not block a start", async () => {
    await using dir = await tempDir();
    const unrelated = Bun.spawn(["sleep", "30"]);
    try {
      await writeFile(join(dir.path, "LOCK"), `${unrelated.pid}\n`);
      const store = await openStore(dir.path);
      expect(store.count).toBe(0);
      await store.close();
    } finally {
      unrelated.kill();
      await unrelated.exited;
    }
  });

  test("closing the store lets another process open it", async () => {
    await using dir = await tempDir();
    const store = await openStore(dir.path);
    await store.close();
    await using other = holder(dir.path);
    expect(await other.said).toBe("open");
  });
});
