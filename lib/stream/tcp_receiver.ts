/**
 * The TCP receiving loop: reads into one preallocated buffer until the peer
 * closes or the session closes the socket.
 *
 * @module
 */

import type { TransferBudget, TransferCounter } from "../stats/counter.ts";
import { setImmediate } from "node:timers";
import type { Reader } from "../net/io.ts";

/**
 * How often the loop yields to the event loop, in milliseconds. A read of
 * data already buffered completes without returning to Deno's event loop,
 * so a receiver that never waits would hold off every other socket and
 * timer of the process (other tests' streams, UDP, control messages).
 */
const YIELD_EVERY_MS = 0.5;

/** Options of {@linkcode runTcpReceiver}. */
export interface TcpReceiverOptions {
  /** The read buffer, `-l` bytes, reused for every read. */
  buffer: Uint8Array;
  /** Where this stream's received bytes are counted. */
  counter: TransferCounter;
  /** The test's `-n`/`-k` budget (a receiver counts read calls as blocks, as iperf3). */
  budget: TransferBudget;
  /** `-F`: every byte read, counted or not, is handed here before the next read (iperf3 writes it to the file). */
  sink?: (bytes: Uint8Array) => Promise<void>;
}

/**
 * Reads from `conn` until end of stream. Bytes are counted only while
 * `counter.counting` is set; later bytes are drained and dropped.
 *
 * @param conn the data connection
 * @param options buffer, counter and budget
 * @returns at end of stream; rejects when a read fails
 */
export async function runTcpReceiver(
  conn: Reader,
  options: TcpReceiverOptions,
): Promise<void> {
  const { buffer, counter, budget, sink } = options;
  let lastYieldMs = performance.now();
  while (true) {
    const n = await conn.read(buffer);
    if (n === null) return;
    if (sink) await sink(buffer.subarray(0, n));
    const now = performance.now();
    if (now - lastYieldMs > YIELD_EVERY_MS) {
      lastYieldMs = now;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (counter.counting) {
      counter.bytes += n;
      counter.blocks++;
      budget.addReceived(n);
    }
  }
}
