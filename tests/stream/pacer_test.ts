import assert from "node:assert/strict";
import { datagramsDue, msUntilDue } from "../../lib/stream/pacer.ts";

// iperf3 3.12's `iperf_check_throttle` gives a stream the green light while
// `bytes_sent * 8 / seconds_since_start < rate`, re-checked after every send
// and every `pacing_timer` (1 ms). So from `sent` bytes at time `t` it sends
// ceil((rate / 8 * t - sent) / len) datagrams, and none when the average is
// already at or above the target (reference doc §5.5).

const MBIT = 1_000_000;

Deno.test("datagramsDue() is unlimited at rate 0", () => {
  assert.equal(datagramsDue(0, 0, 0, 1460), Infinity);
  assert.equal(datagramsDue(0, 3, 1e12, 1460), Infinity);
});

Deno.test("datagramsDue() is 0 at the start", () => {
  assert.equal(datagramsDue(8 * MBIT, 0, 0, 1000), 0);
  assert.equal(datagramsDue(500 * MBIT, 0, 0, 1460), 0);
});

Deno.test("datagramsDue() allows one 1000-byte datagram after 1 ms at 8 Mbit/s", () => {
  // 8 Mbit/s is 1000 bytes per millisecond.
  assert.equal(datagramsDue(8 * MBIT, 0.001, 0, 1000), 1);
  assert.equal(datagramsDue(8 * MBIT, 0.002, 1000, 1000), 1);
  assert.equal(datagramsDue(8 * MBIT, 0.010, 0, 1000), 10);
});

Deno.test("datagramsDue() rounds fractional room up", () => {
  assert.equal(datagramsDue(8 * MBIT, 0.0015, 0, 1000), 2);
  assert.equal(datagramsDue(8 * MBIT, 0.0015, 1000, 1000), 1);
  assert.equal(datagramsDue(8 * MBIT, 0.0000001, 0, 1000), 1);
  assert.equal(datagramsDue(8 * MBIT, 0.001, 999, 1000), 1);
});

Deno.test("datagramsDue() is 0 when the stream is already at or ahead of the target", () => {
  // Exactly at the target: iperf3 needs the average strictly below the rate.
  assert.equal(datagramsDue(8 * MBIT, 0.001, 1000, 1000), 0);
  assert.equal(datagramsDue(8 * MBIT, 0.001, 2000, 1000), 0);
  assert.equal(datagramsDue(8 * MBIT, 1, 2_000_000, 1000), 0);
});

Deno.test("msUntilDue() is the time until the average falls to the target", () => {
  // 8 Mbit/s: 1000 bytes take 1 ms at the target.
  assertClose(msUntilDue(8 * MBIT, 0, 1000), 1);
  assertClose(msUntilDue(8 * MBIT, 0.0005, 1000), 0.5);
  assertClose(msUntilDue(8 * MBIT, 0.002, 10_000), 8);
  assertClose(msUntilDue(1 * MBIT, 1, 250_000), 1000);
});

Deno.test("msUntilDue() is 0 when a datagram is due now", () => {
  assert.equal(msUntilDue(8 * MBIT, 0, 0), 0);
  assert.equal(msUntilDue(8 * MBIT, 1, 1000), 0);
  assert.equal(msUntilDue(8 * MBIT, 0.001, 1000), 0);
});

Deno.test("msUntilDue() agrees with datagramsDue() just past the due time", () => {
  const cases: [rate: number, elapsed: number, sent: number][] = [
    [8 * MBIT, 0, 1000],
    [1 * MBIT, 0.3, 50_000],
  ];
  for (const [rate, elapsed, sent] of cases) {
    const wait = msUntilDue(rate, elapsed, sent);
    assert.ok(wait > 0);
    const before = elapsed + wait / 1000 * 0.999;
    const after = elapsed + wait / 1000 * 1.001;
    assert.equal(datagramsDue(rate, before, sent, 1000), 0);
    assert.equal(datagramsDue(rate, after, sent, 1000), 1);
  }
});

/** Sends `datagramsDue` each 1 ms tick for `seconds`; returns bytes sent by each whole second. */
function simulate(
  bitsPerSecond: number,
  seconds: number,
  len: number,
): number[] {
  let sent = 0;
  const bySecond: number[] = [];
  for (let ms = 1; ms <= seconds * 1000; ms++) {
    const due = datagramsDue(bitsPerSecond, ms / 1000, sent, len);
    assert.ok(Number.isFinite(due) && due >= 0);
    sent += due * len;
    if (ms % 1000 === 0) bySecond.push(sent);
  }
  return bySecond;
}

for (const mbit of [1, 10, 100, 500]) {
  Deno.test(`datagramsDue() paces a 3-second UDP stream within 1% of ${mbit} Mbit/s`, () => {
    const rate = mbit * MBIT;
    const len = 1460;
    const bySecond = simulate(rate, 3, len);
    const total = bySecond.at(-1)!;
    const achieved = total * 8 / 3;
    assert.ok(
      Math.abs(achieved - rate) / rate < 0.01,
      `achieved ${achieved} bit/s for target ${rate}`,
    );
    // Never more than one datagram ahead of the running average.
    assert.ok(total * 8 <= rate * 3 + len * 8);
    // Each one-second interval report stays within 1% as well.
    let previous = 0;
    for (const [i, cumulative] of bySecond.entries()) {
      const interval = (cumulative - previous) * 8;
      assert.ok(
        Math.abs(interval - rate) / rate < 0.01,
        `second ${i + 1}: ${interval} bit/s for target ${rate}`,
      );
      previous = cumulative;
    }
  });
}

function assertClose(actual: number, expected: number): void {
  assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} is not ${expected}`);
}
