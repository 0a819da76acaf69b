/**
 * What the TCP sending loops share: `-b` pacing (iperf3's
 * `iperf_check_throttle`: no write while the stream's average rate since its
 * first write is at or above the target) and a turn of the event loop every
 * half millisecond.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { delay } from "../async.ts";

/**
 * How often a sending loop yields to the event loop, in milliseconds. Deno
 * resolves a write that completes at once without returning to its event
 * loop, so a sender whose peer drains fast would otherwise hold off timers
 * and control reads (measured: 20-300 ms late) until a write has to wait.
 */
const YIELD_EVERY_MS = 0.5;

/** One sending stream's pacing and yielding. */
export class SendPacing {
  readonly #rate: number;
  readonly #startMs = performance.now();
  #sent = 0;
  #lastYieldMs = this.#startMs;

  /** @param bitsPerSecond the stream's target rate, 0 for unlimited */
  constructor(bitsPerSecond: number) {
    this.#rate = bitsPerSecond;
  }

  /**
   * While the stream is ahead of its rate: a wait to await (at most 10 ms,
   * less when `stop` fires), after which the loop checks its condition
   * again. Undefined when it may write now, so an unpaced write costs no
   * promise.
   *
   * @param stop the loop's stop signal
   * @returns the wait, or undefined
   */
  hold(stop: AbortSignal): Promise<void> | undefined {
    if (this.#rate <= 0) return undefined;
    const aheadMs = this.#sent * 8 / this.#rate * 1000 -
      (performance.now() - this.#startMs);
    if (aheadMs <= 0) return undefined;
    return delay(Math.min(aheadMs, 10), { signal: stop }).catch(() => {});
  }

  /**
   * Counts a write for the rate; every {@linkcode YIELD_EVERY_MS} it gives
   * a promise to await (one turn of the event loop), else undefined, so the
   * common write costs no promise.
   *
   * @param bytes the bytes written
   * @returns a turn of the event loop to await, or undefined
   */
  wrote(bytes: number): Promise<void> | undefined {
    this.#sent += bytes;
    const now = performance.now();
    if (now - this.#lastYieldMs <= YIELD_EVERY_MS) return undefined;
    this.#lastYieldMs = now;
    return new Promise<void>((resolve) => setImmediate(resolve));
  }
}
