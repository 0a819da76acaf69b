/**
 * What both sessions compute about a test's streams: how many there are and
 * which side sends on each (iperf3's `iperf_create_streams` order: with
 * `--bidir` the first `-P` streams go client to server, the rest back).
 *
 * @module
 */

import type { Role } from "../events.ts";
import type { TestParams } from "../protocol/params.ts";

/**
 * The number of data streams a test opens.
 *
 * @param p the test
 * @returns `-P`, twice that with `--bidir`
 */
export function streamCount(
  p: Pick<TestParams, "parallel" | "bidirectional">,
): number {
  return p.parallel * (p.bidirectional ? 2 : 1);
}

/**
 * Whether `role` sends on the stream created `index`-th.
 *
 * @param p the test
 * @param role this side
 * @param index the stream's creation index, from 0
 * @returns true when this side sends on it
 */
export function sendsOn(
  p: Pick<TestParams, "parallel" | "bidirectional" | "reverse">,
  role: Role,
  index: number,
): boolean {
  const clientSends = p.bidirectional ? index < p.parallel : !p.reverse;
  return role === "client" ? clientSends : !clientSends;
}

/** Whether the local side only receives (iperf3 mode RECEIVER). */
export function isReceiverOnly(params: TestParams, role: Role): boolean {
  if (params.bidirectional) return false;
  return role === "client" ? params.reverse : !params.reverse;
}
