/**
 * In-memory Reader/Writer for codec tests: no sockets.
 *
 * @module
 */

import type { Reader, Writer } from "../../lib/net/io.ts";

/** A Reader over fixed bytes that hands them out `chunk` bytes at a time, then ends. */
export class MemoryReader implements Reader {
  #data: Uint8Array;
  #offset = 0;
  readonly #chunk: number;

  /**
   * @param data the bytes to read
   * @param chunk at most this many bytes per read (short reads on purpose)
   */
  constructor(data: Uint8Array, chunk = Infinity) {
    this.#data = data;
    this.#chunk = chunk;
  }

  /** Reads up to `p.byteLength` bytes; `null` once all bytes were read. */
  read(p: Uint8Array): Promise<number | null> {
    if (this.#offset >= this.#data.byteLength) return Promise.resolve(null);
    const n = Math.min(
      p.byteLength,
      this.#chunk,
      this.#data.byteLength - this.#offset,
    );
    p.set(this.#data.subarray(this.#offset, this.#offset + n));
    this.#offset += n;
    return Promise.resolve(n);
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.#data.byteLength - this.#offset;
  }
}

/** A Writer that collects everything written, accepting at most `chunk` bytes per call. */
export class MemoryWriter implements Writer {
  #parts: Uint8Array[] = [];
  readonly #chunk: number;

  /** @param chunk at most this many bytes per write (partial writes on purpose) */
  constructor(chunk = Infinity) {
    this.#chunk = chunk;
  }

  /** Takes up to `chunk` bytes of `p`. */
  write(p: Uint8Array): Promise<number> {
    const n = Math.min(p.byteLength, this.#chunk);
    this.#parts.push(p.slice(0, n));
    return Promise.resolve(n);
  }

  /** Everything written so far, in one array. */
  bytes(): Uint8Array {
    const total = this.#parts.reduce((sum, part) => sum + part.byteLength, 0);
    const out = new Uint8Array(total);
    let offset = 0;
    for (const part of this.#parts) {
      out.set(part, offset);
      offset += part.byteLength;
    }
    return out;
  }
}
