/**
 * A test run's watchdog: it ends the test when receiving (or sending)
 * streams have made no progress for the receive (send) timeout, or when
 * the test's total rate is above the server's limit (iperf3's
 * `--rcv-timeout`, `iperf_check_total_rate`).
 *
 * @module
 */

import { delay } from "../async.ts";
import { ERROR_CODES, IperfError, StreamError } from "../errors.ts";
import type { RunState, Tracked } from "./_run_state.ts";

/** The limits the watchdog keeps to (a `TestRunOptions`). */
export interface WatchLimits {
  /** Seconds between interval reports, 0 for none. */
  interval: number;
  /** Fail when receiving streams get nothing for this long (`--rcv-timeout`, ms); 0 for never. */
  receiveTimeoutMs?: number;
  /** Fail when sending streams get nothing out for this long (`--snd-timeout`, ms); 0 for never. */
  sendTimeoutMs?: number;
  /** The server's limit on the test's total rate in bits/s (`--server-bitrate-limit`), 0 for none. */
  bitrateLimit?: number;
  /** Seconds the bitrate limit is averaged over (default 5). */
  bitrateLimitWindow?: number;
}

/** Options of {@linkcode watchRun}. */
export interface WatchOptions {
  /** The timeouts and the rate limit. */
  limits: WatchLimits;
  /** Fails the test. */
  fail: (error: unknown) => void;
  /** Stops the watch. */
  signal: AbortSignal;
}

/** What the watchdog reads of the run. */
export type WatchedRun = Pick<RunState, "tracked" | "wallStartMs">;

/**
 * Watches the run until `options.signal` aborts, or until it fails the
 * test (then it returns).
 *
 * @param run the run
 * @param options the limits, the failure callback, the stop signal
 */
export async function watchRun(
  run: WatchedRun,
  options: WatchOptions,
): Promise<void> {
  await Promise.all([watchProgress(run, options), watchRate(run, options)]);
}

/** Up to once a second: the receive and send timeouts. */
async function watchProgress(
  run: WatchedRun,
  { limits: o, fail, signal }: WatchOptions,
): Promise<void> {
  const receiveMs = o.receiveTimeoutMs ?? 0;
  const sendMs = o.sendTimeoutMs ?? 0;
  if (!receiveMs && !sendMs) return;
  const receivers = run.tracked.filter((t) => !t.stream.sender);
  const senders = run.tracked.filter((t) => t.stream.sender);
  const moved = (group: Tracked[]) =>
    group.reduce((n, t) => n + t.counter.bytes + t.counter.blocks, 0);
  let lastReceived = moved(receivers);
  let lastSent = moved(senders);
  let receivedAt = performance.now();
  let sentAt = receivedAt;
  const tickMs = Math.min(
    1000,
    ...[receiveMs, sendMs].filter((x) => x > 0).map((x) => x / 4),
  );
  while (true) {
    await delay(tickMs, { signal });
    const now = performance.now();
    const received = moved(receivers);
    const sent = moved(senders);
    if (received !== lastReceived) {
      [lastReceived, receivedAt] = [received, now];
    }
    if (sent !== lastSent) [lastSent, sentAt] = [sent, now];
    if (receiveMs && receivers.length && now - receivedAt > receiveMs) {
      fail(
        new IperfError(ERROR_CODES.IENOMSG, {
          detail: `nothing received for ${receiveMs / 1000} s`,
        }),
      );
      return;
    }
    if (sendMs && senders.length && now - sentAt > sendMs) {
      fail(
        new StreamError(
          ERROR_CODES.IESTREAMWRITE,
          senders[0]?.stream.id ?? 1,
          {
            detail: "Connection timed out",
          },
        ),
      );
      return;
    }
  }
}

/**
 * iperf3's `iperf_check_total_rate`, which every stats interval's callback
 * runs (from TEST_START): the bytes both directions moved in the last
 * `round(window / interval)` intervals (at least one), averaged, against
 * the limit; the first check comes as soon as that many intervals passed.
 * A server without interval reports (`-i 0`) checks once a second.
 */
async function watchRate(
  run: WatchedRun,
  { limits: o, fail, signal }: WatchOptions,
): Promise<void> {
  const limit = o.bitrateLimit ?? 0;
  if (!limit) return;
  const tickS = o.interval > 0 ? o.interval : 1;
  const windowS = o.bitrateLimitWindow ?? 5;
  const count = windowS <= tickS ? 1 : Math.round(windowS / tickS);
  const total = () => run.tracked.reduce((n, t) => n + t.counter.bytes, 0);
  const recent: number[] = [];
  let last = total();
  for (let k = 1;; k++) {
    await delay(run.wallStartMs + k * tickS * 1000 - performance.now(), {
      signal,
    });
    const now = total();
    // The counters restart at the end of the omit period.
    recent.push(now >= last ? now - last : now);
    last = now;
    if (recent.length > count) recent.shift();
    if (recent.length < count) continue;
    const bitsPerSecond = recent.reduce((a, b) => a + b, 0) * 8 /
      (count * tickS);
    if (bitsPerSecond > limit) {
      fail(new IperfError(ERROR_CODES.IETOTALRATE));
      return;
    }
  }
}
