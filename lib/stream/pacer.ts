/**
 * The UDP sender's pacing arithmetic, as iperf3's `iperf_check_throttle`: a
 * stream may send while its average rate since its start is below the
 * target. Pure functions of time and bytes.
 *
 * @module
 */

/**
 * How many datagrams the stream may send now to stay at `bitsPerSecond`
 * on average since it started.
 *
 * @param bitsPerSecond the target rate, 0 for unlimited
 * @param elapsedSeconds time since the stream started sending
 * @param bytesSent bytes sent so far
 * @param datagramSize bytes per datagram
 * @returns datagrams allowed now (Infinity when unlimited)
 */
export function datagramsDue(
  bitsPerSecond: number,
  elapsedSeconds: number,
  bytesSent: number,
  datagramSize: number,
): number {
  if (bitsPerSecond <= 0) return Infinity;
  const allowedBytes = bitsPerSecond / 8 * elapsedSeconds - bytesSent;
  // iperf3 sends while the average is below the target: one more datagram
  // whenever there is any room at all.
  return allowedBytes > 0 ? Math.ceil(allowedBytes / datagramSize) : 0;
}

/**
 * How long until the next datagram is due.
 *
 * @param bitsPerSecond the target rate (above 0)
 * @param elapsedSeconds time since the stream started sending
 * @param bytesSent bytes sent so far
 * @returns milliseconds, 0 when one is due now
 */
export function msUntilDue(
  bitsPerSecond: number,
  elapsedSeconds: number,
  bytesSent: number,
): number {
  const dueAt = bytesSent * 8 / bitsPerSecond;
  return Math.max(0, (dueAt - elapsedSeconds) * 1000);
}
