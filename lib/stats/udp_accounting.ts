/**
 * A UDP receiver's accounting: lost and out-of-order datagrams and jitter,
 * computed per datagram exactly as iperf3's `iperf_udp_recv` does (RFC 1889
 * style jitter). Plain fields, no allocation per datagram.
 *
 * @module
 */

/** Cumulative receive counters of one UDP stream. */
export class UdpAccounting {
  /** Bytes received while counting. */
  bytes = 0;
  /** Datagrams received while counting. */
  datagrams = 0;
  /** The highest sequence number seen: iperf3's receiver "packets". */
  packets = 0;
  /** Datagrams missing from the sequence (iperf3's `cnt_error`). */
  lost = 0;
  /** Datagrams that arrived after a later one (duplicates included). */
  outOfOrder = 0;
  /** Smoothed jitter in seconds. */
  jitter = 0;
  #prevTransit = 0;
  #haveTransit = false;

  /** End of the omit period: jitter starts afresh with the next datagram (iperf3's `iperf_reset_stats`). */
  resetJitter(): void {
    this.jitter = 0;
    this.#haveTransit = false;
  }

  /**
   * Accounts one datagram.
   *
   * @param seq its sequence number
   * @param sentSeconds the sender's timestamp (sec + usec / 1e6)
   * @param arrivalSeconds our monotonic clock at arrival, in seconds
   * @param bytes its size
   */
  record(
    seq: number,
    sentSeconds: number,
    arrivalSeconds: number,
    bytes: number,
  ): void {
    this.bytes += bytes;
    this.datagrams++;
    if (seq >= this.packets + 1) {
      if (seq > this.packets + 1) this.lost += seq - 1 - this.packets;
      this.packets = seq;
    } else {
      // Late or duplicate: iperf3 counts it out of order and takes one back
      // from the lost count, which had counted it missing.
      this.outOfOrder++;
      if (this.lost > 0) this.lost--;
    }
    // Only changes in transit time matter: the two clocks are unrelated.
    const transit = Math.abs(arrivalSeconds - sentSeconds);
    if (this.#haveTransit) {
      const d = Math.abs(transit - this.#prevTransit);
      this.jitter += (d - this.jitter) / 16;
    } else {
      this.#haveTransit = true;
    }
    this.#prevTransit = transit;
  }
}

/** A snapshot of the cumulative counters (to subtract at interval and omit boundaries). */
export interface UdpCounts {
  /** Highest sequence number. */
  packets: number;
  /** Lost datagrams. */
  lost: number;
  /** Out-of-order datagrams. */
  outOfOrder: number;
}

/**
 * The counters now.
 *
 * @param a the accounting
 * @returns a copy of packets, lost and out-of-order
 */
export function udpCounts(a: UdpAccounting): UdpCounts {
  return { packets: a.packets, lost: a.lost, outOfOrder: a.outOfOrder };
}
