// Run by test/e2e/network-clients.test.ts inside a private network namespace where this machine also has the
// address 192.0.2.1: starts the real service on 0.0.0.0 with the settings given as JSON in argv[2], sends the same
// write from 127.0.0.1 and from 192.0.2.1 (with the headers given in argv[3]), and prints one JSON line: the
// statuses and the service's start-up lines.
import { tempDir } from "../helpers/environment.ts";
import { startService } from "../helpers/service-process.ts";

const REMOTE_ADDRESS = "192.0.2.1";

const settings = JSON.parse(process.argv[2] ?? "{}") as Record<string, string>;
const headers = JSON.parse(process.argv[3] ?? "{}") as Record<string, string>;
await using data = await tempDir("fip-net-data-");
await using catalog = await tempDir("fip-net-catalog-");
await using service = await startService({ DATA_DIR: data.path, CATALOG_DIR: catalog.path, HOST: "0.0.0.0", ...settings });

const write = async (host: string) => {
  const response = await fetch(`http://${host}:${service.port}/embeddings/product/1`, { method: "POST", headers });
  return { status: response.status, body: await response.json() };
};
const result = {
  local: await write("127.0.0.1"),
  remote: await write(REMOTE_ADDRESS),
  startup: service.logs().split("\n").filter((line) => /auth:|protected mode|anonymous writes/.test(line)),
};
await service.stop();
console.log(JSON.stringify(result));
