/**
 * The small Reader/Writer interfaces the protocol code reads and writes
 * through, and the two loops it needs: read exactly N bytes, write all bytes.
 *
 * @module
 */

/** Something bytes can be read from, like `Deno.Conn`. */
export interface Reader {
  /**
   * Reads up to `p.byteLength` bytes into `p`.
   *
   * @returns the number of bytes read, or `null` at end of stream
   */
  read(p: Uint8Array): Promise<number | null>;
}

/** Something bytes can be written to, like `Deno.Conn`. */
export interface Writer {
  /**
   * Writes some of `p`.
   *
   * @returns the number of bytes written
   */
  write(p: Uint8Array): Promise<number>;
}

/**
 * Reads exactly `p.byteLength` bytes into `p`, looping over short reads
 * (a single read may return fewer bytes than asked for).
 *
 * @param reader where to read from
 * @param p the buffer to fill
 * @returns how many bytes were read: `p.byteLength`, or fewer if the stream ended first
 */
export async function readFull(reader: Reader, p: Uint8Array): Promise<number> {
  let filled = 0;
  while (filled < p.byteLength) {
    const n = await reader.read(p.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  return filled;
}

/**
 * Writes every byte of `data`, looping over partial writes.
 *
 * @param writer where to write
 * @param data the bytes
 */
export async function writeAll(
  writer: Writer,
  data: Uint8Array,
): Promise<void> {
  let written = 0;
  while (written < data.byteLength) {
    written += await writer.write(data.subarray(written));
  }
}
