/**
 * The bytes a sender repeats: random, or iperf3's `--repeating-payload`
 * pattern ("0123456789" over and over). Shared by the in-process loops and
 * the data-plane threads.
 *
 * @module
 */

/**
 * Makes one block of payload.
 *
 * @example Usage
 * ```ts
 * import { makePayload } from "./payload.ts";
 * if (makePayload(12, true)[11] !== 0x31) throw new Error("pattern");
 * ```
 *
 * @param length the block size in bytes
 * @param repeating `--repeating-payload`: the digit pattern, else random bytes
 * @returns the block
 */
export function makePayload(length: number, repeating: boolean): Uint8Array {
  const block = new Uint8Array(length);
  if (repeating) {
    for (let i = 0; i < length; i++) block[i] = 0x30 + i % 10;
  } else {
    // getRandomValues fills at most 65536 bytes a call.
    for (let i = 0; i < length; i += 65536) {
      crypto.getRandomValues(block.subarray(i, Math.min(length, i + 65536)));
    }
  }
  return block;
}
