/**
 * The TCP sending loop: one preallocated block written over and over.
 *
 * @module
 */

import type { TransferBudget, TransferCounter } from "../stats/counter.ts";
import type { Writer } from "../net/io.ts";
import { SendPacing } from "./_send_pacing.ts";

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
  const pacing = new SendPacing(options.bitsPerSecond ?? 0);
  while (!stop.aborted && !budget.exhausted) {
    const hold = pacing.hold(stop);
    if (hold) {
      await hold;
      continue;
    }
    // A block is written whole, as iperf3's Nwrite does, so `-k` counts
    // whole blocks; partial writes are continued.
    let n = await conn.write(block);
    while (n < block.byteLength) n += await conn.write(block.subarray(n));
    const turn = pacing.wrote(n);
    if (turn) await turn;
    if (counter.counting) {
      counter.bytes += n;
      counter.blocks++;
      budget.add(n);
    }
  }
}
