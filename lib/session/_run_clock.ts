/**
 * A test run's clock: when a timed test ends, the wait for that end, and
 * the interval reports with the `-O` omit period (at whose end the counts
 * start afresh, as iperf3's `iperf_reset_stats`).
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { delay } from "../async.ts";
import type { EventSink } from "../events.ts";
import type { RunState } from "./_run_state.ts";
import { udpNow } from "./_run_state.ts";
import { hasRetransmits, sample } from "./_run_results.ts";
import { threadsLimited } from "./_run_threads.ts";

/** How early `timeUp()` sets its timer before the test's end (then it turns the event loop). */
const END_EARLY_MS = 4;

/** How long after its nominal end a timed test ends, so that what is due at that moment goes first. */
const END_AFTER_MS = 0.5;

/**
 * When a timed test ends (`-t` + `-O` after TEST_START), as a
 * `performance.now()` value; Infinity for `-n`/`-k`.
 *
 * @param run the run
 * @returns the end
 */
export function endsAtMs(run: RunState): number {
  const { time, omit } = run.options.params;
  return time > 0 ? run.wallStartMs + (time + omit) * 1000 : Infinity;
}

/**
 * Resolves when a timed test's duration is up (counted from TEST_START, as
 * iperf3's timer), or when a `-n`/`-k` budget is used up; a timed test also
 * ends early when its budget is marked reached (a `-F` file sent whole).
 *
 * @param run the run
 * @param signal cancels the wait
 * @returns when the test should end
 */
export async function timeUp(
  run: RunState,
  signal: AbortSignal,
): Promise<void> {
  if (endsAtMs(run) === Infinity) {
    await run.budget.reached;
    await Promise.all(run.deliveries);
    return;
  }
  // Timers fire a millisecond or more late, more while the event loop is
  // busy: sleep until just before the end, then turn the event loop until
  // it comes. iperf3's timer is set just after the streams' clocks start,
  // so a datagram due at the same moment still goes out: END_AFTER_MS.
  const endMs = endsAtMs(run) + END_AFTER_MS;
  const sleep = new AbortController();
  const stop = () => sleep.abort();
  signal.addEventListener("abort", stop, { once: true });
  run.budget.reached.then(stop);
  try {
    await delay(endMs - END_EARLY_MS - performance.now(), {
      signal: sleep.signal,
    }).catch(() => {});
  } finally {
    signal.removeEventListener("abort", stop);
  }
  signal.throwIfAborted();
  while (!run.budget.exhausted && performance.now() < endMs) {
    signal.throwIfAborted();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** Options of {@linkcode reportIntervals}. */
export interface ReportOptions {
  /** Seconds between interval reports, 0 for none. */
  interval: number;
  /** Receives interval events. */
  emit: EventSink;
  /** Stops the reports (`finish()` takes the last sample itself). */
  signal: AbortSignal;
}

/**
 * Reports the intervals from TEST_START, and ends the omit period on time
 * (clearing `run.omitting`); the interval that ends the test is left to
 * `finish()`.
 *
 * @param run the run
 * @param options the interval, the event sink and the stop signal
 */
export async function reportIntervals(
  run: RunState,
  options: ReportOptions,
): Promise<void> {
  const { interval, emit, signal } = options;
  const { params } = run.options;
  const intervalMs = interval * 1000;
  let originMs = run.wallStartMs;
  if (run.omitting) {
    const omitEndMs = originMs + params.omit * 1000;
    let next = intervalMs > 0 ? originMs + intervalMs : Infinity;
    while (next <= omitEndMs) {
      await delay(next - performance.now(), { signal });
      emit({ kind: "interval", report: sample(run, performance.now()) });
      next += intervalMs;
    }
    await delay(omitEndMs - performance.now(), { signal });
    // End of the omit period: iperf3's iperf_reset_stats.
    const now = performance.now();
    run.omitting = false;
    for (const t of run.tracked) {
      t.counter.reset();
      t.stats.reset(now);
      const counts = udpNow(t);
      t.omitted = {
        packets: counts.packets,
        lost: counts.lost,
        outOfOrder: counts.outOfOrder,
      };
      t.accounting.resetJitter();
      if (hasRetransmits(run.options) && t.stream.conn) {
        // iperf_reset_stats: retransmits count from here on.
        t.tcp.prevTotal = t.stream.probe?.tcpInfo()?.totalRetrans ??
          t.tcp.prevTotal;
        t.tcp.retransmits = 0;
      }
    }
    run.budget.reset();
    if (threadsLimited(run.options)) {
      run.threaded?.armLimit(params.bytes, params.blocks);
    }
    originMs = now;
  }
  if (intervalMs <= 0) return;
  // The tick that falls on the end of a timed test is left to finish(),
  // whose final sample then closes that interval (no stray sliver after it).
  const lastTickMs = endsAtMs(run) - intervalMs * 0.01;
  for (let k = 1; originMs + k * intervalMs < lastTickMs; k++) {
    await delay(originMs + k * intervalMs - performance.now(), { signal });
    emit({ kind: "interval", report: sample(run, performance.now()) });
  }
}
