// Errors the service expects, each with a stable code and the HTTP status it maps to. The core throws these; the
// HTTP layer turns them into the JSON error envelope, and background tasks record them per product.

/** Every code an error envelope or a task error can carry: the OpenAPI document's enum is this list. */
export const ERROR_CODES = [
  "VALIDATION_FAILED",
  "UNAUTHORIZED",
  "FORBIDDEN",
  "NOT_FOUND",
  "PRODUCT_NOT_FOUND",
  "EMBEDDING_NOT_FOUND",
  "TASK_NOT_FOUND",
  "METHOD_NOT_ALLOWED",
  "READ_ONLY_REPLICA",
  "PAYLOAD_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
  "INVALID_IMAGE",
  "IMAGE_TOO_LARGE",
  "CATALOG_UNAVAILABLE",
  "STORE_UNAVAILABLE",
  "WALK_IN_PROGRESS",
  "QUEUE_FULL",
  "OUTBOUND_URL_REFUSED",
  "NOT_READY",
  "SHUTTING_DOWN",
  "INTERNAL",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class AppError extends Error {
  override name = "AppError";
  constructor(
    readonly code: ErrorCode,
    readonly status: number,
    message: string,
    readonly details?: unknown,
    /** Response headers that belong with this answer, e.g. Retry-After on a 503. */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export const productNotFoundInCatalog = (productId: number) =>
  new AppError("PRODUCT_NOT_FOUND", 404, `product ${productId} not found in catalogue`);

export const invalidImage = (reason: string) => new AppError("INVALID_IMAGE", 422, `not a decodable image: ${reason}`);

/** Message for logs and task records, whatever was thrown. */
export function describeError(error: unknown): { code: ErrorCode; message: string } {
  if (error instanceof AppError) return { code: error.code, message: error.message };
  return { code: "INTERNAL", message: error instanceof Error ? error.message : String(error) };
}
