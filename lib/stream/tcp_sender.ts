/**
 * The TCP sending loop: one preallocated block written over and over.
 *
 * @module
 */

import type { TransferBudget, TransferCounter } from "../stats/counter.ts";
import { setImmediate } from "node:timers";
import { delay } from "../async.ts";
import type { Writer } from "../net/io.ts";

/**
 * How often the loop yields to the event loop, in milliseconds. Deno resolves
 * a write that completes at once without returning to its event loop, so a
 * sender whose peer drains fast would otherwise hold off timers and control
 * reads (measured: 20-300 ms late) until a write has to wait.
 */
const YIELD_EVERY_MS = 0.5;

/** Options of {@linkcode runTcpSender}. */
export interface TcpSenderOptions {
  /** The block to send, filled once (random or repeating payload). */
  block: Uint8Array;
  /** Where this stream's moved bytes are counted. */
  counter: TransferCounter;
  /** The test's `-n`/`-k` budget. */
  budget: TransferBudget;
  /** Ends the loop after the write in flight, every byte of which is still counted. */
  stop: AbortSignal;
  /** Target rate in bits per second for this stream, 0 for unlimited (`-b`). */
  bitsPerSecond?: number;
}

/**
 * Writes `block` to `conn` until `stop` fires. Bytes are counted only while
 * `counter.counting` is set (TEST_RUNNING). With a rate, sending pauses while
 * the stream's average rate since its first write is at or above the target,
 * as iperf3's `iperf_check_throttle` does.
 *
 * @param conn the data connection
 * @param options block, counter, budget, stop signal, rate
 * @returns when stopped; rejects when a write fails
 */
export async function runTcpSender(
  conn: Writer,
  options: TcpSenderOptions,
): Promise<void> {
  const { block, counter, budget, stop } = options;
  const rate = options.bitsPerSecond ?? 0;
  const startMs = performance.now();
  let sentForRate = 0;
  let lastYieldMs = startMs;
  while (!stop.aborted && !budget.exhausted) {
    if (rate > 0) {
      const aheadMs = sentForRate * 8 / rate * 1000 -
        (performance.now() - startMs);
      if (aheadMs > 0) {
        await pause(Math.min(aheadMs, 10), stop);
        continue;
      }
    }
    // A block is written whole, as iperf3's Nwrite does, so `-k` counts
    // whole blocks; partial writes are continued.
    let n = await conn.write(block);
    while (n < block.byteLength) n += await conn.write(block.subarray(n));
    sentForRate += n;
    const now = performance.now();
    if (now - lastYieldMs > YIELD_EVERY_MS) {
      lastYieldMs = now;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (counter.counting) {
      counter.bytes += n;
      counter.blocks++;
      budget.add(n);
    }
  }
}

/** Waits `ms`, or less when `stop` fires: a test's end does not wait for a pausing sender. */
function pause(ms: number, stop: AbortSignal): Promise<void> {
  return delay(ms, { signal: stop }).catch(() => {});
}
