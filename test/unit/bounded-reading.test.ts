// The index-size gauge's reading: one read in flight however often metrics are scraped, a bounded wait, and the last
// value when a read fails or is late (a PostgreSQL index that is slow or away must not pile up count queries).
import { expect, test } from "bun:test";
import { BoundedReading } from "../../src/observability/bounded-reading.ts";

test("one read at a time, a bounded wait, and the last value when a read fails or is late", async () => {
  let reads = 0;
  let answer: (value: number) => void = () => {};
  let fail: (error: Error) => void = () => {};
  const reading = new BoundedReading(
    () =>
      new Promise<number>((resolve, reject) => {
        reads++;
        answer = resolve;
        fail = reject;
      }),
    50,
  );
  // Three scrapes while the first read hangs: one read, each scrape back after the timeout with nothing yet.
  const started = performance.now();
  expect(await Promise.all([reading.value(), reading.value(), reading.value()])).toEqual([null, null, null]);
  expect(performance.now() - started).toBeLessThan(1_000);
  expect(reads).toBe(1);
  answer(7);
  expect(await reading.value()).toBe(7); // the hanging read's answer
  expect(reads).toBe(1);
  // A read that is late or fails leaves the last value in place.
  expect(await reading.value()).toBe(7);
  expect(reads).toBe(2);
  fail(new Error("database gone"));
  expect(await reading.value()).toBe(7);
  const next = reading.value();
  answer(11);
  expect(await next).toBe(11);
  expect(reads).toBe(3);
});
