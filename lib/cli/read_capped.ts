/**
 * Reads a small text file (keys, users) with a byte cap, so that a path such
 * as `/dev/zero` is refused after `cap + 1` bytes instead of read forever.
 *
 * @module
 */

/** How much {@linkcode readCapped} may read, and what it calls the file. */
export interface ReadCappedOptions {
  /** The largest size accepted, in bytes. */
  maxBytes: number;
  /** What the file is, for the message (default `file`): `RSA public key file`. */
  label?: string;
}

const CHUNK = 16 * 1024;

/**
 * The text of a file of at most `maxBytes` bytes; never reads more than
 * `maxBytes + 1` bytes, whatever the file is (a device, a FIFO, a growing
 * file).
 *
 * @param path the file
 * @param options the cap and the file's name in messages
 * @returns the file's text (UTF-8)
 * @throws {RangeError} when the file is larger than `maxBytes`
 * @throws {Deno.errors.NotFound} and the other errors of `Deno.open` and `read`
 */
export async function readCapped(
  path: string,
  options: ReadCappedOptions,
): Promise<string> {
  const label = options.label ?? "file";
  using file = await Deno.open(path, { read: true });
  const buffer = new Uint8Array(options.maxBytes + 1);
  let length = 0;
  while (length < buffer.byteLength) {
    const end = Math.min(buffer.byteLength, length + CHUNK);
    const n = await file.read(buffer.subarray(length, end));
    if (n === null) break;
    length += n;
  }
  if (length > options.maxBytes) {
    throw new RangeError(
      `the ${label} "${path}" is larger than ${size(options.maxBytes)}`,
    );
  }
  return new TextDecoder().decode(buffer.subarray(0, length));
}

function size(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}
