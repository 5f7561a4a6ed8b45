// Requests every route must refuse with 400 (or 415 for a body of the wrong type) before it touches the model or the
// index, with the answer each gets. Run against an app that is still loading and against a ready one.
import { imageForm } from "../helpers/app-under-test.ts";
import type { ErrorEnvelope } from "../helpers/app-under-test.ts";

export interface BadRequest {
  path: string;
  /** A function: a body can be read once, and the table runs against two apps. */
  init?: () => RequestInit;
  status: number;
  error: ErrorEnvelope;
}

/** What the shared validation hook answers: the failing field(s), each with its message. */
export const invalidField = (field: string, message: string): ErrorEnvelope => ({
  code: "VALIDATION_FAILED",
  message: `${field}: ${message}`,
  details: [{ field, message }],
});

/** POST /embeddings/generate reads its body by hand, and answers in the same shape as the validation hook. */
const invalidGenerateList = invalidField;

const NOT_A_POSITIVE_INTEGER = "must be a positive integer up to 2147483647";
const TOO_BIG_ID = NOT_A_POSITIVE_INTEGER;
const NOT_AN_ID_LIST = "must be an array of positive integer product ids";
const EMPTY_ID_LIST = "must name at least one product";
const MALFORMED_JSON: ErrorEnvelope = { code: "VALIDATION_FAILED", message: "Malformed JSON in request body" };
const atLeast = (n: number) => `Too small: expected number to be >=${n}`;
const wholeNumberFrom = (min: number, max: number) => `must be a whole number from ${min} to ${max}`;
const numberFrom = (min: number, max: number) => `must be a number from ${min} to ${max}`;
const UPLOAD_AS_FORM = "send a multipart/form-data body with the photo in the field `image`";

const post = (body?: RequestInit["body"], contentType?: string) => (): RequestInit => ({
  method: "POST",
  body,
  headers: contentType ? { "Content-Type": contentType } : {},
});
const postJson = (body: string) => post(body, "application/json");
const upload = () => ({ method: "POST", body: imageForm(new Uint8Array([0xff, 0xd8, 0xff, 0xd9])) });

export const BAD_REQUESTS: BadRequest[] = [
  // Product ids in the path.
  ...["abc", "0", "-1", "1.5", "0x2710", "1e3", "10000."].map((id) => ({
    path: `/embeddings/check/${id}`,
    status: 400,
    error: invalidField("product_id", NOT_A_POSITIVE_INTEGER),
  })),
  { path: "/embeddings/check/99999999999", status: 400, error: invalidField("product_id", TOO_BIG_ID) },
  ...(["POST", "PUT", "DELETE"] as const).map((method) => ({
    path: "/embeddings/product/abc",
    init: () => ({ method }),
    status: 400,
    error: invalidField("product_id", NOT_A_POSITIVE_INTEGER),
  })),
  { path: "/similar-products/0", status: 400, error: invalidField("product_id", NOT_A_POSITIVE_INTEGER) },
  { path: "/products/abc/image", status: 400, error: invalidField("product_id", NOT_A_POSITIVE_INTEGER) },
  { path: "/products/2147483648/image", status: 400, error: invalidField("product_id", TOO_BIG_ID) },

  // Paging the stored ids.
  ...["limit=0", "limit=abc", "limit=10001", "limit=1e0", "limit="].map((query) => ({
    path: `/embeddings/products?${query}`,
    status: 400,
    error: invalidField("limit", wholeNumberFrom(1, 10000)),
  })),
  ...["offset=-1", "offset="].map((query) => ({
    path: `/embeddings/products?${query}`,
    status: 400,
    error: invalidField("offset", wholeNumberFrom(0, Number.MAX_SAFE_INTEGER)),
  })),

  // Near-duplicate groups: a threshold from 0.8 to 1, and paging.
  ...["min_score=0.5", "min_score=1.5", "min_score=abc", "min_score="].map((query) => ({
    path: `/embeddings/duplicates?${query}`,
    status: 400,
    error: invalidField("min_score", numberFrom(0.8, 1)),
  })),
  ...["limit=0", "limit=1001"].map((query) => ({
    path: `/embeddings/duplicates?${query}`,
    status: 400,
    error: invalidField("limit", wholeNumberFrom(1, 1000)),
  })),

  // generate-batch: a JSON object with a non-empty list of integer ids.
  { path: "/embeddings/generate-batch", init: post(), status: 400, error: invalidField("product_ids", NOT_AN_ID_LIST) },
  { path: "/embeddings/generate-batch", init: postJson(""), status: 400, error: MALFORMED_JSON },
  { path: "/embeddings/generate-batch", init: postJson('{"product_ids": [1,'), status: 400, error: MALFORMED_JSON },
  {
    path: "/embeddings/generate-batch",
    init: postJson('{"product_ids": []}'),
    status: 400,
    error: invalidField("product_ids", EMPTY_ID_LIST),
  },
  {
    path: "/embeddings/generate-batch",
    init: postJson('{"product_ids": [1.5]}'),
    status: 400,
    error: invalidField("product_ids.0", "Invalid input: expected int, received number"),
  },
  {
    path: "/embeddings/generate-batch",
    init: postJson('{"product_ids": [1, "2"]}'),
    status: 400,
    error: invalidField("product_ids.1", "Invalid input: expected number, received string"),
  },
  {
    path: "/embeddings/generate-batch",
    init: postJson('{"product_ids": [0]}'),
    status: 400,
    error: invalidField("product_ids.0", atLeast(1)),
  },
  {
    path: "/embeddings/generate-batch",
    init: postJson("[1, 2]"),
    status: 400,
    error: invalidField("body", "Invalid input: expected object, received array"),
  },
  // A JSON body sent as text, or with no type: what a form on another site can send without a preflight.
  ...[
    ["/embeddings/generate-batch", post('{"product_ids": [1]}', "text/plain"), "text/plain"],
    ["/embeddings/generate", post("[1]", "text/plain;charset=UTF-8"), "text/plain;charset=UTF-8"],
    ["/embeddings/generate", post("[1,"), "a body with no Content-Type"],
  ].map(([path, init, got]) => ({
    path: path as string,
    init: init as () => RequestInit,
    status: 415,
    error: {
      code: "UNSUPPORTED_MEDIA_TYPE",
      message: `a write takes a body only as application/json (got ${got})`,
    } as ErrorEnvelope,
  })),

  // generate: a bare array or {"product_ids": [...]}, read by hand; an empty body means the whole catalogue.
  ...[post("[1,", "application/json"), post("{product_ids: [1]}", "application/json")].map((init) => ({
    path: "/embeddings/generate",
    init,
    status: 400,
    error: { code: "VALIDATION_FAILED", message: "body: not valid JSON" } as ErrorEnvelope,
  })),
  { path: "/embeddings/generate", init: postJson("[]"), status: 400, error: invalidGenerateList("product_ids", EMPTY_ID_LIST) },
  { path: "/embeddings/generate", init: postJson("[0]"), status: 400, error: invalidGenerateList("product_ids.0", atLeast(1)) },
  {
    path: "/embeddings/generate",
    init: postJson('["1"]'),
    status: 400,
    error: invalidGenerateList("product_ids.0", "Invalid input: expected number, received string"),
  },
  {
    path: "/embeddings/generate",
    init: postJson('{"product_ids": [2.5]}'),
    status: 400,
    error: invalidGenerateList("product_ids.0", "Invalid input: expected int, received number"),
  },
  ...['{"product_ids": "1,2"}', "{}", "null", "42"].map((body) => ({
    path: "/embeddings/generate",
    init: postJson(body),
    status: 400,
    error: invalidGenerateList("product_ids", NOT_AN_ID_LIST),
  })),

  // generate-all: paging parameters.
  ...[
    ["start_page=0", invalidField("start_page", wholeNumberFrom(1, 1_000_000))],
    ["batch_size=0", invalidField("batch_size", wholeNumberFrom(1, 256))],
    ["batch_size=abc", invalidField("batch_size", wholeNumberFrom(1, 256))],
    ["batch_size=257", invalidField("batch_size", wholeNumberFrom(1, 256))],
  ].map(([query, error]) => ({
    path: `/embeddings/generate-all?${query}`,
    init: post(),
    status: 400,
    error: error as ErrorEnvelope,
  })),

  // Similar products: search options.
  ...["top_n=0", "top_n=abc", "top_n=1001", "top_n="].map((query) => ({
    path: `/similar-products/1?${query}`,
    status: 400,
    error: invalidField("top_n", wholeNumberFrom(1, 1000)),
  })),
  ...["score_threshold=2", "score_threshold=-0.1", "score_threshold=", "score_threshold=1e-1"].map((query) => ({
    path: `/similar-products/1?${query}`,
    status: 400,
    error: invalidField("score_threshold", numberFrom(0, 1)),
  })),
  ...["maybe", "", "2", "y", "truee"].map((value) => ({
    path: `/similar-products/1?exclude_self=${value}`,
    status: 400,
    error: invalidField("exclude_self", "must be true or false (also 1/0, yes/no)"),
  })),

  // Upload: the photo must be the multipart field `image`.
  ...[
    () => {
      const form = new FormData();
      form.append("photo", new File([new Uint8Array([0xff, 0xd8, 0xff, 0xd9])], "a.jpg", { type: "image/jpeg" }));
      return { method: "POST", body: form };
    },
    () => {
      const form = new FormData();
      form.append("image", "not a file");
      return { method: "POST", body: form };
    },
    post(),
  ].map((init) => ({
    path: "/similar-products/upload",
    init,
    status: 400,
    error: invalidField("image", "attach the photo as the multipart field `image`"),
  })),
  { path: "/similar-products/upload?top_n=0", init: upload, status: 400, error: invalidField("top_n", wholeNumberFrom(1, 1000)) },
  {
    path: "/similar-products/upload?score_threshold=1.5",
    init: upload,
    status: 400,
    error: invalidField("score_threshold", numberFrom(0, 1)),
  },
  // A photo sent as the raw body, or JSON where a form belongs: refused by its media type before anything reads it.
  ...[postJson('{"image": '), post(new Uint8Array([0xff, 0xd8, 0xff, 0xd9]), "image/jpeg")].map((init) => ({
    path: "/similar-products/upload",
    init,
    status: 415,
    error: { code: "UNSUPPORTED_MEDIA_TYPE", message: UPLOAD_AS_FORM } as ErrorEnvelope,
  })),
  // An empty `image` part: nothing was attached.
  {
    path: "/similar-products/upload",
    init: () => ({ method: "POST", body: imageForm(new Uint8Array(0)) }),
    status: 400,
    error: invalidField("image", "the photo is empty"),
  },

  // Tasks.
  {
    path: "/tasks?status=bogus",
    status: 400,
    error: invalidField("status", 'Invalid option: expected one of "queued"|"running"|"succeeded"|"failed"'),
  },
  ...["limit=0", "limit=abc", "limit=101"].map((query) => ({
    path: `/tasks?${query}`,
    status: 400,
    error: invalidField("limit", wholeNumberFrom(1, 100)),
  })),
  ...["cursor=abc", "cursor=-1", "cursor="].map((query) => ({
    path: `/tasks?${query}`,
    status: 400,
    error: invalidField("cursor", "must be the next_cursor of an earlier page"),
  })),
];

/** A test name: method, path, and the body when it is text. */
export function describeRequest(request: BadRequest): string {
  const init = request.init?.();
  const contentType = (init?.headers as Record<string, string> | undefined)?.["Content-Type"];
  const body = typeof init?.body === "string" ? ` ${JSON.stringify(init.body)}` : init?.body instanceof FormData ? " (multipart)" : init?.body ? " (bytes)" : "";
  return `${init?.method ?? "GET"} ${request.path}${body}${contentType ? ` as ${contentType}` : ""} -> ${request.status}`;
}
