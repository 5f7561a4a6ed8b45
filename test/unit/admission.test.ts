import { describe, expect, test } from "bun:test";
import { Admission, retryAfterSeconds } from "../../src/admission.ts";
import { AppError } from "../../src/errors.ts";

function refusal(action: () => unknown): AppError {
  try {
    action();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("retryAfterSeconds", () => {
  test.each([
    [1, 30, 1],
    [100, 10, 10],
    [101, 10, 11],
    [10_000, 30, 300],
    [5, null, 30],
    [5, 0, 30],
  ])("%d over capacity at %p per second: %d s", (excess, perSecond, seconds) => {
    expect(retryAfterSeconds(excess, perSecond)).toBe(seconds);
  });
});

describe("Admission", () => {
  test("admits up to its capacity, refuses past it with 503 QUEUE_FULL and Retry-After, admits again once released", () => {
    let now = 0;
    const admission = new Admission({ capacity: 3, name: "queued products", setting: "MAX_QUEUED_PRODUCTS", now: () => now });
    const first = admission.reserve(2);
    expect(admission.inUse).toBe(2);

    const full = refusal(() => admission.reserve(2));
    expect({ code: full.code, status: full.status, headers: full.headers, message: full.message, details: full.details }).toEqual({
      code: "QUEUE_FULL",
      status: 503,
      headers: { "Retry-After": "30" }, // nothing finished yet: no throughput to estimate from
      message: "the service is busy: 2 of 3 queued products are taken (MAX_QUEUED_PRODUCTS); retry in 30 s",
      details: { limit: 3, in_use: 2, retry_after_seconds: 30 },
    });
    expect(admission.inUse).toBe(2);

    now = 1000;
    first.release();
    expect(admission.inUse).toBe(1);
    const second = admission.reserve(2);
    expect(admission.inUse).toBe(3);
    expect(refusal(() => admission.reserve(1)).headers).toEqual({ "Retry-After": "1" });

    second.releaseAll();
    second.releaseAll();
    first.releaseAll();
    first.release();
    expect(admission.inUse).toBe(0);
  });

  test("estimates Retry-After from the products finished in the last 30 s", () => {
    let now = 0;
    const admission = new Admission({ capacity: 30, name: "queued products", setting: "MAX_QUEUED_PRODUCTS", now: () => now });
    const held = admission.reserve(30);
    held.release(5);
    now = 2000;
    held.release(5); // 10 in 2 s: 5 per second
    // 20 held + 30 asked = 20 over capacity, at 5 per second
    expect(refusal(() => admission.reserve(30)).headers).toEqual({ "Retry-After": "4" });
    now = 40_000; // both releases are older than the window
    expect(refusal(() => admission.reserve(30)).headers).toEqual({ "Retry-After": "30" });
  });
});
