import assert from "node:assert/strict";
import {
  intervalProbeFigures,
  percentile,
  responsiveness,
  roundTripsPerMinute,
  RttSamples,
  summarizeRtts,
  trimmedMean,
} from "../../lib/stats/latency.ts";

Deno.test("percentile() interpolates between the nearest ranks", () => {
  const sorted = [1, 2, 3, 4];
  assert.equal(percentile(sorted, 0), 1);
  assert.equal(percentile(sorted, 100), 4);
  assert.equal(percentile(sorted, 50), 2.5);
  // rank (4 - 1) × 0.9 = 2.7: 3 + 0.7 × (4 - 3)
  assert.ok(Math.abs(percentile(sorted, 90) - 3.7) < 1e-12);
  assert.equal(percentile([7], 99), 7);
  assert.equal(percentile([1, 2, 3], 50), 2);
});

Deno.test("percentile() refuses no samples and percentiles out of range", () => {
  assert.throws(() => percentile([], 50), RangeError);
  assert.throws(() => percentile([1], -1), RangeError);
  assert.throws(() => percentile([1], 101), RangeError);
  assert.throws(() => percentile([1], NaN), RangeError);
});

Deno.test("summarizeRtts() gives min, median, p90, p99 and max of unsorted samples", () => {
  const samples = Array.from({ length: 101 }, (_, i) => 100 - i);
  assert.deepEqual(summarizeRtts(samples), {
    count: 101,
    minMs: 0,
    medianMs: 50,
    p90Ms: 90,
    p99Ms: 99,
    maxMs: 100,
  });
  // The caller's array is left as it was.
  assert.equal(samples[0], 100);
});

Deno.test("summarizeRtts() has only a count without samples", () => {
  assert.deepEqual(summarizeRtts([]), { count: 0 });
  assert.deepEqual(summarizeRtts([2.5]), {
    count: 1,
    minMs: 2.5,
    medianMs: 2.5,
    p90Ms: 2.5,
    p99Ms: 2.5,
    maxMs: 2.5,
  });
});

Deno.test("trimmedMean() drops the worst 5% and averages the rest", () => {
  // 20 samples: 19 kept; the one outlier goes.
  const samples = [...Array.from({ length: 19 }, () => 10), 1000];
  assert.equal(trimmedMean(samples), 10);
  // 100 samples: the 5 largest go.
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(trimmedMean(hundred), (95 * 96 / 2) / 95);
  // Under 20 samples floor(0.95 n) is n - 1: the largest goes.
  assert.equal(trimmedMean([1, 2, 3, 100]), 2);
  // One sample stays.
  assert.equal(trimmedMean([42]), 42);
  assert.equal(trimmedMean([]), undefined);
});

Deno.test("roundTripsPerMinute() is 60000 over the trimmed mean in ms, rounded", () => {
  assert.equal(roundTripsPerMinute([40]), 1500);
  assert.equal(roundTripsPerMinute([30, 50, 40, 1000]), 1500);
  assert.equal(roundTripsPerMinute([0.07]), 857143);
  assert.equal(roundTripsPerMinute([]), undefined);
  assert.equal(roundTripsPerMinute([0]), undefined);
});

Deno.test("responsiveness() averages the two RPMs, not their RTTs", () => {
  // 10 ms → 6000 RPM, 40 ms → 1500 RPM: mean 3750 (60000 / 25 ms would be 2400).
  assert.deepEqual(responsiveness([10], [40]), {
    value: 3750,
    foreign: 6000,
    self: 1500,
  });
});

Deno.test("responsiveness() takes whichever figure exists", () => {
  assert.deepEqual(responsiveness([], [40]), { value: 1500, self: 1500 });
  assert.deepEqual(responsiveness([20], []), { value: 3000, foreign: 3000 });
  assert.deepEqual(responsiveness([], []), {});
});

Deno.test("intervalProbeFigures() gives count, lost, min, median and max", () => {
  assert.deepEqual(intervalProbeFigures([3, 1, 2, 10], 1), {
    count: 4,
    lost: 1,
    minMs: 1,
    medianMs: 2.5,
    maxMs: 10,
  });
  assert.deepEqual(intervalProbeFigures([], 2), { count: 0, lost: 2 });
});

Deno.test("RttSamples keeps every sample up to its cap, with exact figures", () => {
  const samples = new RttSamples(8);
  assert.equal(samples.count, 0);
  assert.equal(samples.mean, undefined);
  assert.deepEqual(samples.summary(), { count: 0 });
  for (const ms of [5, 1, 3]) samples.add(ms);
  assert.deepEqual(samples.values(), [5, 1, 3]);
  assert.equal(samples.mean, 3);
  assert.deepEqual(samples.summary(), summarizeRtts([5, 1, 3]));
});

Deno.test("RttSamples keeps a bounded random subset beyond its cap; count, mean, min and max stay exact", () => {
  // A fixed sequence instead of Math.random, so the test is repeatable.
  let state = 1;
  const random = () => (state = (state * 48271) % 2147483647) / 2147483647;
  const samples = new RttSamples(100, random);
  for (let i = 1; i <= 10_000; i++) samples.add(i);
  assert.equal(samples.values().length, 100);
  assert.equal(samples.count, 10_000);
  assert.equal(samples.mean, 5000.5);
  const s = samples.summary();
  assert.equal(s.count, 10_000);
  assert.equal(s.minMs, 1);
  assert.equal(s.maxMs, 10_000);
  // A uniform subset: its median lies near the whole's (5000.5).
  assert.ok(
    Math.abs((s.medianMs ?? 0) - 5000) < 1500,
    `median ${s.medianMs}`,
  );
  assert.deepEqual(
    intervalProbeFigures(samples, 0),
    { count: 10_000, lost: 0, minMs: 1, medianMs: s.medianMs, maxMs: 10_000 },
  );
});
