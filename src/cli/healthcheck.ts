// `healthcheck`: asks the service on this machine for GET /health, for a Docker HEALTHCHECK in an image that has no
// curl (distroless). Exit 0 when it answers 200, 1 otherwise.
import { EXIT_FAILURE, EXIT_OK } from "./command-line.ts";

const TIMEOUT_MS = 3_000;
const ANY_INTERFACE = new Set(["", "0.0.0.0", "::", "[::]"]);

export async function healthcheck(env: Record<string, string | undefined>): Promise<number> {
  const host = ANY_INTERFACE.has(env.HOST ?? "") ? "127.0.0.1" : env.HOST!;
  const url = `http://${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}:${env.PORT || "8000"}/health`;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    if (response.status === 200) return EXIT_OK;
    console.error(`healthcheck: ${url} answered ${response.status}`);
  } catch (error) {
    console.error(`healthcheck: ${url}: ${(error as Error).message}`);
  }
  return EXIT_FAILURE;
}
