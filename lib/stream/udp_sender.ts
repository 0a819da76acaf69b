/**
 * The UDP sending loop: one preallocated datagram whose header (timestamp,
 * sequence number) is rewritten in place before each send, paced to the
 * target rate (iperf3 `iperf_udp_send` with `iperf_check_throttle`).
 *
 * @module
 */

import { setImmediate } from "node:timers";
import type { UdpSocket } from "../net/datagram.ts";
import { writeUdpHeader } from "../protocol/udp_header.ts";
import type { TransferBudget, TransferCounter } from "../stats/counter.ts";
import { datagramsDue, msUntilDue } from "./pacer.ts";

/** Options of {@linkcode runUdpSender}. */
export interface UdpSenderOptions {
  /** The datagram, `-l` bytes, payload filled once; its header is rewritten per send. */
  datagram: Uint8Array;
  /** Where this stream's sent bytes and datagrams are counted. */
  counter: TransferCounter;
  /** The test's `-n`/`-k` budget. */
  budget: TransferBudget;
  /** Ends the loop after the send in flight. */
  stop: AbortSignal;
  /** Target rate in bits per second, 0 for as fast as the socket takes (`-b`). */
  bitsPerSecond: number;
  /** Datagrams sent back to back when due (`-b rate/N`), 0 for no limit. */
  burst: number;
  /** The pacing timer in microseconds (iperf3's `--pacing-timer`, default 1000). */
  pacingTimerUs: number;
  /** 64-bit sequence numbers (`--udp-counters-64bit`). */
  counters64: boolean;
}

/** How many datagrams go out before the loop yields to the event loop. */
const YIELD_EVERY = 64;

/**
 * Sends datagrams to `peer` until `stop` fires or the budget is used up.
 * Sequence numbers start at 1. Bytes and datagrams are counted only while
 * `counter.counting` is set; the sequence number always advances, as iperf3's.
 *
 * @param socket the stream's socket
 * @param peer the receiving side
 * @param options datagram, counters, pacing
 * @returns when stopped; rejects when a send fails for another reason than a refused peer
 */
export async function runUdpSender(
  socket: UdpSocket,
  peer: Deno.NetAddr,
  options: UdpSenderOptions,
): Promise<void> {
  const { datagram, counter, budget, stop, bitsPerSecond, counters64 } =
    options;
  const view = new DataView(
    datagram.buffer,
    datagram.byteOffset,
    datagram.byteLength,
  );
  const size = datagram.byteLength;
  const burst = options.burst > 0 ? options.burst : Infinity;
  const tickMs = Math.max(options.pacingTimerUs, 100) / 1000;
  const startMs = performance.now();
  let sentBytes = 0;
  let seq = 0;
  while (!stop.aborted && !budget.exhausted) {
    const now = performance.now();
    const elapsed = (now - startMs) / 1000;
    let due = Math.min(
      datagramsDue(bitsPerSecond, elapsed, sentBytes, size),
      burst,
      YIELD_EVERY,
    );
    if (due === 0) {
      // Ahead of the rate: sleep until the next datagram is due (a timer,
      // not a spin, so an idle sender costs no CPU).
      const wait = Math.max(
        msUntilDue(bitsPerSecond, elapsed, sentBytes),
        tickMs,
      );
      await new Promise((resolve) => setTimeout(resolve, wait));
      continue;
    }
    while (due-- > 0 && !stop.aborted && !budget.exhausted) {
      seq++;
      const ms = performance.now();
      const sec = Math.floor(ms / 1000);
      writeUdpHeader(
        view,
        sec,
        Math.floor((ms - sec * 1000) * 1000),
        seq,
        counters64,
      );
      let n: number;
      try {
        n = await socket.send(datagram, peer);
      } catch (error) {
        // A peer that has gone answers with ICMP "port unreachable"; iperf3
        // keeps sending, and the control connection says what happened.
        if (error instanceof Deno.errors.ConnectionRefused) continue;
        throw error;
      }
      sentBytes += n;
      counter.packets++;
      if (counter.counting) {
        counter.bytes += n;
        counter.blocks++;
        budget.add(n);
      }
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
