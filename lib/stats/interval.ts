/**
 * Per-stream interval bookkeeping: counters in, one snapshot per interval out.
 * Pure arithmetic over millisecond timestamps from a monotonic clock.
 *
 * @module
 */

import type { IntervalLatency } from "./latency.ts";

/** One stream's figures for one reporting interval (one element of iperf3's `intervals[].streams`). */
export interface StreamInterval {
  /** The stream id (1, 3, 4, ...). */
  id: number;
  /** The stream's socket number as printed in `[  5]`. */
  socket: number;
  /** Whether this side sends on the stream. */
  sender: boolean;
  /** Seconds from the stream's start to the interval's start (microsecond resolution). */
  start: number;
  /** Seconds from the stream's start to the interval's end. */
  end: number;
  /** The interval's length as iperf3 stores it: a 32-bit float. */
  seconds: number;
  /** Bytes moved in the interval. */
  bytes: number;
  /** Bits per second: bytes / seconds × 8. */
  bitsPerSecond: number;
  /** Whether the interval lies in the `-O` omit period. */
  omitted: boolean;
  /** UDP only: datagram figures of the interval. */
  udp?: UdpInterval;
  /** TCP senders that read TCP_INFO: the interval's retransmits and the socket's state at its end. */
  tcp?: TcpInterval;
}

/** TCP_INFO figures of one interval (iperf3's interval `retransmits`, `snd_cwnd`, ...). */
export interface TcpInterval {
  /** Segments retransmitted in the interval. */
  retransmits: number;
  /** Congestion window in bytes at the interval's end. */
  sndCwnd: number;
  /** The peer's advertised window in bytes. */
  sndWnd: number;
  /** Smoothed RTT in microseconds. */
  rtt: number;
  /** RTT variation in microseconds. */
  rttvar: number;
  /** Path MTU in bytes. */
  pmtu: number;
  /** Reordering events seen so far (`tcpi_reord_seen`; iperf3 3.21's `reorder`). */
  reorder?: number;
}

/** A UDP stream's figures for one interval. */
export interface UdpInterval {
  /** Datagrams sent (sender) or the advance of the highest sequence number (receiver). */
  packets: number;
  /** Datagrams lost in the interval (receiver). */
  lost: number;
  /** Datagrams out of order in the interval (receiver). */
  outOfOrder: number;
  /** The receiver's running jitter in seconds at the interval's end. */
  jitter: number;
}

/** A UDP stream's cumulative counts, from which interval figures are differences. */
export interface UdpCumulative {
  /** Datagrams sent, or the highest sequence number seen. */
  packets: number;
  /** Datagrams lost. */
  lost: number;
  /** Datagrams out of order. */
  outOfOrder: number;
  /** Running jitter in seconds. */
  jitter: number;
}

/** All streams' figures for one reporting interval. */
export interface IntervalReport {
  /** One entry per stream, in the order the streams were created. */
  streams: StreamInterval[];
  /** iperf3's `sender_has_retransmits == 1`: the sending streams carry {@linkcode StreamInterval.tcp}. */
  retransmits?: boolean;
  /** The test's last interval, taken when it ended (iperf3 prints it with the results). */
  final?: boolean;
  /** `--latency` (client): the interval's probe and TCP_INFO RTT figures. */
  latency?: IntervalLatency;
}

/**
 * Microseconds of a monotonic millisecond timestamp: iperf3 keeps times as
 * seconds + microseconds, so every time it prints has at most 6 decimals.
 *
 * @param ms a `performance.now()` value
 * @returns whole microseconds
 */
export function toMicros(ms: number): number {
  return Math.round(ms * 1000);
}

/** Interval state of one stream; owned by the session, fed from the stream's counter. */
export class StreamStats {
  /** The stream id. */
  readonly id: number;
  /** The printed socket number. */
  readonly socket: number;
  /** Whether this side sends on the stream. */
  readonly sender: boolean;
  /** Every interval taken so far, omitted ones included. */
  readonly intervals: StreamInterval[] = [];
  #originUs = 0;
  #lastUs = 0;
  #lastBytes = 0;
  #lastUdp: UdpCumulative = { packets: 0, lost: 0, outOfOrder: 0, jitter: 0 };

  /**
   * Creates an instance.
   *
   * @param id the stream id
   * @param socket the printed socket number
   * @param sender whether this side sends on the stream
   */
  constructor(id: number, socket: number, sender: boolean) {
    this.id = id;
    this.socket = socket;
    this.sender = sender;
  }

  /**
   * Starts the stream's clock (TEST_START) or restarts it (end of the omit
   * period); the caller zeroes the counter at the same moment.
   *
   * @param nowMs a `performance.now()` value
   */
  reset(nowMs: number): void {
    this.#originUs = this.#lastUs = toMicros(nowMs);
    this.#lastBytes = 0;
  }

  /**
   * Closes the current interval at `nowMs`.
   *
   * @param nowMs a `performance.now()` value
   * @param counterBytes the stream counter's bytes since the last reset
   * @param omitted whether the interval lies in the omit period
   * @param udp UDP streams: the cumulative counts now (interval figures are
   *   the differences from the previous interval, as iperf3's; an omit reset
   *   does not restart them)
   * @returns the interval, also kept in `intervals`
   */
  sample(
    nowMs: number,
    counterBytes: number,
    omitted: boolean,
    udp?: UdpCumulative,
  ): StreamInterval {
    const nowUs = Math.max(toMicros(nowMs), this.#lastUs);
    const seconds = Math.fround((nowUs - this.#lastUs) / 1e6);
    const bytes = counterBytes - this.#lastBytes;
    const interval: StreamInterval = {
      id: this.id,
      socket: this.socket,
      sender: this.sender,
      start: (this.#lastUs - this.#originUs) / 1e6,
      end: (nowUs - this.#originUs) / 1e6,
      seconds,
      bytes,
      bitsPerSecond: seconds > 0 ? bytes / seconds * 8 : 0,
      omitted,
    };
    if (udp) {
      interval.udp = {
        packets: udp.packets - this.#lastUdp.packets,
        lost: udp.lost - this.#lastUdp.lost,
        outOfOrder: udp.outOfOrder - this.#lastUdp.outOfOrder,
        jitter: udp.jitter,
      };
      this.#lastUdp = udp;
    }
    this.#lastUs = nowUs;
    this.#lastBytes = counterBytes;
    this.intervals.push(interval);
    return interval;
  }

  /**
   * Seconds since the stream's clock started.
   *
   * @param nowMs a `performance.now()` value
   * @returns the elapsed time, microsecond resolution
   */
  elapsed(nowMs: number): number {
    return (toMicros(nowMs) - this.#originUs) / 1e6;
  }
}

/**
 * Whether iperf3 would print a final interval: it drops one shorter than 10%
 * of the reporting interval in which no stream moved a byte
 * (`iperf_print_intermediate`).
 *
 * @param report the interval
 * @param interval the reporting interval in seconds
 * @returns true to print it
 */
export function isReportable(
  report: IntervalReport,
  interval: number,
): boolean {
  return report.streams.some((s) =>
    s.end - s.start >= interval * 0.1 || s.bytes > 0
  );
}
