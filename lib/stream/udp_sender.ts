/**
 * The UDP sending loop: one preallocated datagram whose header (timestamp,
 * sequence number) is rewritten in place before each send, paced to the
 * target rate (iperf3 `iperf_udp_send` with `iperf_check_throttle`).
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { delay } from "../async.ts";
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
  /**
   * When the stream's clock started, a `performance.now()` value: the rate is
   * kept from there, as iperf3 paces from `start_time_fixed` (TEST_START).
   * Defaults to the call.
   */
  startMs?: number;
  /**
   * When a timed test ends, a `performance.now()` value (default: never).
   * The datagram due last before it decides whether the receiver counts it,
   * so the sender wakes for it as early as the test's end timer does.
   */
  endsAtMs?: number;
}

/** How many datagrams go out before the loop yields to the event loop. */
const YIELD_EVERY = 64;

/**
 * Bounds of how early the timer is set before a datagram is due. Deno's
 * timers fire up to a few milliseconds late (whole milliseconds, then the
 * event loop); the loop measures that and turns the event loop for the rest.
 */
const MIN_EARLY_MS = 0.25;
const MAX_EARLY_MS = 4;

/** Datagrams due this close before the test's end wake MAX_EARLY_MS early. */
const END_WINDOW_MS = 50;

/**
 * Waits at least this long are timed to the datagram; shorter ones sleep on
 * the timer alone, since turning the event loop for a millisecond out of
 * every few would cost a CPU.
 */
const PRECISE_WAIT_MS = 10;

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
  const startMs = options.startMs ?? performance.now();
  const endsAtMs = options.endsAtMs ?? Infinity;
  // How late timers have fired lately, so the next one is set that early.
  let lateMs = 1;
  let earlyMs = 1.3;
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
      const wait = msUntilDue(bitsPerSecond, elapsed, sentBytes);
      if (wait < PRECISE_WAIT_MS) {
        // A fast stream sleeps on the timer alone, at least one pacing tick;
        // what fell due meanwhile goes out together (iperf3's
        // `--pacing-timer`).
        await pause(Math.max(wait, tickMs), stop);
        continue;
      }
      // A slow stream sleeps on a timer (an idle sender costs no CPU) set a
      // little early, then turns the event loop until the datagram is due:
      // it goes out on time, so the last one of a test reaches the receiver
      // before the test ends, as iperf3's `clock_nanosleep` gets it there.
      const dueAt = now + wait;
      const wakeAt = dueAt -
        (endsAtMs - dueAt < END_WINDOW_MS ? MAX_EARLY_MS : earlyMs);
      if (wakeAt > now) {
        await pause(wakeAt - now, stop);
        // The timers' recent lateness, averaged, plus some slack.
        const late = performance.now() - wakeAt;
        lateMs = lateMs * 0.8 + Math.max(0, late) * 0.2;
        earlyMs = Math.min(MAX_EARLY_MS, Math.max(MIN_EARLY_MS, lateMs + 0.3));
      }
      while (!stop.aborted && performance.now() < dueAt) {
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
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

/** Waits `ms`, or less when `stop` fires: a test's end does not wait for a sleeping sender. */
function pause(ms: number, stop: AbortSignal): Promise<void> {
  return delay(ms, { signal: stop }).catch(() => {});
}
