// Protected mode and API keys with real sockets: the real service on 0.0.0.0 and a real client with a non-loopback
// address, both inside a private network namespace (unshare -n) where this machine also owns 192.0.2.1, a
// documentation range: no packet can leave the machine. Needs root or unprivileged user namespaces (CI runs as root).
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { REPO_ROOT } from "../helpers/catalog-server.ts";
import { announceSkip, requireModel } from "../helpers/environment.ts";
import { runCommand } from "../helpers/run-command.ts";

setDefaultTimeout(120_000);

/** The dummy interface needs the kernel's dummy module; an extra address on lo gives the same non-loopback source. */
const NETWORK_SETUP =
  "ip link set lo up && " +
  "{ ip link add d0 type dummy 2>/dev/null && ip addr add 192.0.2.1/24 dev d0 && ip link set d0 up || " +
  "ip addr add 192.0.2.1/24 dev lo; }";

function namespaceProblem(): string | null {
  const probe = Bun.spawnSync(["unshare", "-n", "--", "sh", "-c", NETWORK_SETUP], { stderr: "pipe" });
  if (probe.exitCode === 0) return null;
  return `unshare -n with ip is not permitted here (${probe.stderr.toString().trim() || `exit ${probe.exitCode}`})`;
}

const problem = namespaceProblem();
if (problem) announceSkip("e2e clients from another address (test/e2e/network-clients.test.ts)", problem);
const CAN_RUN = requireModel("e2e clients from another address") && problem === null;

interface ProbeResult {
  local: { status: number; body: { error?: { code: string; message: string } } };
  remote: { status: number; body: { error?: { code: string; message: string } } };
  startup: string[];
}

async function probe(settings: Record<string, string>, headers: Record<string, string> = {}): Promise<ProbeResult> {
  const script = `${NETWORK_SETUP} && exec "$0" test/e2e/network-client-probe.ts "$1" "$2"`;
  const { exitCode: code, stdout, stderr } = await runCommand(
    ["unshare", "-n", "--", "sh", "-c", script, process.execPath, JSON.stringify(settings), JSON.stringify(headers)],
    { cwd: REPO_ROOT },
  );
  if (code !== 0) throw new Error(`the probe exited with ${code}:\n${stdout}\n${stderr}`);
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as ProbeResult;
}

describe.skipIf(!CAN_RUN)("clients on another machine, over real sockets", () => {
  test("protected mode: a write from 192.0.2.1 is 403, from 127.0.0.1 it is accepted", async () => {
    const result = await probe({});
    expect({ local: result.local.status, remote: result.remote.status, code: result.remote.body.error?.code }).toEqual({
      local: 202,
      remote: 403,
      code: "FORBIDDEN",
    });
    expect(result.remote.body.error?.message).toContain("ALLOW_ANONYMOUS_WRITES=true");
    expect(result.startup).toEqual([expect.stringContaining("protected mode: writes only from loopback; set API_KEYS")]);
  });

  test("ALLOW_ANONYMOUS_WRITES=true: a write from 192.0.2.1 is accepted", async () => {
    const result = await probe({ ALLOW_ANONYMOUS_WRITES: "true" });
    expect({ local: result.local.status, remote: result.remote.status }).toEqual({ local: 202, remote: 202 });
    expect(result.startup).toEqual([expect.stringContaining("anonymous writes allowed (ALLOW_ANONYMOUS_WRITES=true)")]);
  });

  test("with API keys: the key decides, wherever the client is", async () => {
    const key = "network-test-key-0123456789";
    const keyed = { API_KEYS: `${key},another-key-0123456789abc` };
    const without = await probe(keyed);
    expect({ local: without.local.status, remote: without.remote.status }).toEqual({ local: 401, remote: 401 });
    expect(without.startup).toEqual([expect.stringContaining("auth: API keys (2), reads open")]);
    const withKey = await probe(keyed, { Authorization: `Bearer ${key}` });
    expect({ local: withKey.local.status, remote: withKey.remote.status }).toEqual({ local: 202, remote: 202 });
  });
});
