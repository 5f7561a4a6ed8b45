// Refuses a request body over `maxBytes` with a 413 in the error envelope that says the limit: from its Content-Length
// before reading it, or by counting a chunked body as it arrives.
import { bodyLimit } from "hono/body-limit";
import { AppError } from "../errors.ts";

export function payloadLimit(maxBytes: number, what = "the body") {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) => {
      // The server reads and drops the rest of the body, then closes; the client reads the answer, not a reset.
      c.header("Connection", "close");
      throw new AppError("PAYLOAD_TOO_LARGE", 413, `${what} is larger than the ${maxBytes}-byte limit`, { maxBytes });
    },
  });
}
