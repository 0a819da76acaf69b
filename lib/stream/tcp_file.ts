/**
 * `-F`: the TCP sending loop that sends a file instead of generated data,
 * and the file a receiving stream writes what it reads into, as iperf3's
 * `diskfile_send` and `diskfile_recv`.
 *
 * @module
 */

import type { TransferBudget, TransferCounter } from "../stats/counter.ts";
import type { Writer } from "../net/io.ts";
import { SendPacing } from "./_send_pacing.ts";
import { delay } from "../async.ts";

/** What a file-sending loop reads from: an open file. */
export interface FileReader {
  /** Reads into `buffer`; null at the end of the file. */
  read(buffer: Uint8Array): Promise<number | null>;
}

/** What a receiving stream writes into: an open file. */
export interface FileWriter {
  /** Writes some of `bytes`, returning how many. */
  write(bytes: Uint8Array): Promise<number>;
}

/** Options of {@linkcode runTcpFileSender}. */
export interface TcpFileSenderOptions {
  /** The file, read from where it stands (its start). */
  file: FileReader;
  /** The stream's block: at most this many bytes go in one write (`-l`). */
  block: Uint8Array;
  /** Where this stream's moved bytes are counted. */
  counter: TransferCounter;
  /** The test's `-n`/`-k` budget. */
  budget: TransferBudget;
  /** Ends the loop after the write in flight. */
  stop: AbortSignal;
  /**
   * Called once, synchronously, when the loop ends at the file's end
   * (`eof`, iperf3 sets `test->done`) or at the `-n`/`-k` budget, with the
   * bytes it wrote in all; not when `stop` ends it.
   */
  onEnd: (written: number, eof: boolean) => void;
  /** Target rate in bits per second for this stream, 0 for unlimited (`-b`). */
  bitsPerSecond?: number;
}

/**
 * Sends `file` on `conn`, a block of `-l` bytes at a time (the last one
 * shorter), until the file ends, `stop` fires or the budget is used up.
 * Counting follows `counter.counting`, as the generated-data loop.
 *
 * @param conn the data connection
 * @param options the file, block, counter, budget, stop signal, end callback
 * @returns when the file is sent or the loop is stopped; rejects when a read or write fails
 */
export async function runTcpFileSender(
  conn: Writer,
  options: TcpFileSenderOptions,
): Promise<void> {
  const { file, block, counter, budget, stop } = options;
  const pacing = new SendPacing(options.bitsPerSecond ?? 0);
  let written = 0;
  while (!stop.aborted && !budget.exhausted) {
    const hold = pacing.hold(stop);
    if (hold) {
      await hold;
      continue;
    }
    // Fill the block as iperf3 does (a short read mid-file is topped up),
    // so every write but the last carries `-l` bytes.
    let filled = 0;
    while (filled < block.byteLength) {
      const n = await file.read(block.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    if (filled === 0) {
      options.onEnd(written, true);
      return;
    }
    const chunk = block.subarray(0, filled);
    let n = await conn.write(chunk);
    while (n < filled) n += await conn.write(chunk.subarray(n));
    written += n;
    const turn = pacing.wrote(n);
    if (turn) await turn;
    if (counter.counting) {
      counter.bytes += n;
      counter.blocks++;
      budget.add(n);
    }
  }
  if (!stop.aborted) options.onEnd(written, false);
}

/** The longest a client waits for its file to be acknowledged before it ends the test. */
const ACK_WAIT_MS = 3000;

/**
 * How long after the last byte is acknowledged the client still waits: the
 * bytes sit in the peer's socket buffer until its program reads them, and
 * iperf3's server stops reading at TEST_END (what it had not read then is
 * missing from its file).
 */
const READ_GRACE_MS = 50;

/**
 * Resolves once the peer has acknowledged `written` bytes after the cookie
 * (`tcpi_bytes_acked`, where TCP_INFO can be read), at most
 * {@linkcode ACK_WAIT_MS}, then {@linkcode READ_GRACE_MS} more: a client
 * that sent a file ends the test only then, so that an iperf3 server has
 * the whole file.
 *
 * @param acked reads the stream's acknowledged bytes, undefined without TCP_INFO
 * @param written the bytes the file loop wrote
 * @param cookie the bytes written before them (the 37-byte cookie)
 */
export async function fileDelivered(
  acked: () => number | undefined,
  written: number,
  cookie: number,
): Promise<void> {
  const until = performance.now() + ACK_WAIT_MS;
  while (performance.now() < until) {
    const n = acked();
    if (n === undefined || n >= written + cookie) break;
    await delay(5);
  }
  await delay(READ_GRACE_MS);
}

/**
 * Writes all of `bytes` into `file`.
 *
 * @param file the open file
 * @param bytes what a receiving stream read
 * @returns when written; rejects when a write fails (a full disk, say)
 */
export async function writeAllToFile(
  file: FileWriter,
  bytes: Uint8Array,
): Promise<void> {
  let n = 0;
  while (n < bytes.byteLength) n += await file.write(bytes.subarray(n));
}
