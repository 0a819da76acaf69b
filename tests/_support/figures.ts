/**
 * Builders of the figures the reporters consume, for reporter tests.
 *
 * @module
 */

import type { StreamInterval } from "../../lib/stats/interval.ts";
import type { TestSummary } from "../../lib/stats/summary.ts";

/** One stream's interval with the rate derived as the session derives it. */
export function interval(
  socket: number,
  sender: boolean,
  start: number,
  end: number,
  bytes: number,
): StreamInterval {
  const seconds = Math.fround(end - start);
  return {
    id: 1,
    socket,
    sender,
    start,
    end,
    seconds,
    bytes,
    bitsPerSecond: bytes / seconds * 8,
    omitted: false,
  };
}

/** A summary with zero times and CPU, changed by `overrides`. */
export function summary(overrides: Partial<TestSummary>): TestSummary {
  return {
    streams: [],
    senderTime: 0,
    receiverTime: 0,
    endTime: 0,
    senderHasRetransmits: 0,
    otherSideHasRetransmits: 0,
    cpu: { total: 0, user: 0, system: 0 },
    remoteCpu: { total: 0, user: 0, system: 0 },
    ...overrides,
  };
}
