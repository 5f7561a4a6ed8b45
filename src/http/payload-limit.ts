// Refuses a request body over `maxBytes` with a 413 in the error envelope that says the limit, before it is buffered.
import { bodyLimit } from "hono/body-limit";
import { AppError } from "../errors.ts";

export function payloadLimit(maxBytes: number, what = "the body") {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new AppError("PAYLOAD_TOO_LARGE", 413, `${what} is larger than the ${maxBytes}-byte limit`, { maxBytes });
    },
  });
}
