/**
 * `-F`: each TCP stream's own handle on the file, opened when the run is
 * created (iperf3 opens it in `iperf_new_stream`) and closed with the run.
 *
 * @module
 */

import { ERROR_CODES, IperfError, osReason } from "../errors.ts";
import type { Tracked } from "./_run_state.ts";

/**
 * Opens `path` once per TCP stream: read-only for a sender, created and
 * emptied for a receiver (mode 0600, as iperf3). UDP streams have none:
 * the sessions refuse `-F` with UDP before this.
 *
 * @param tracked the run's streams
 * @param path the `-F` file
 * @throws {IperfError} IEFILE with the OS reason; nothing stays open
 */
export function openFiles(tracked: readonly Tracked[], path: string): void {
  try {
    for (const t of tracked) {
      if (!t.stream.conn) continue;
      t.file = t.stream.sender
        ? Deno.openSync(path, { read: true })
        : Deno.openSync(path, {
          write: true,
          create: true,
          truncate: true,
          mode: 0o600,
        });
    }
  } catch (error) {
    for (const t of tracked) closeFile(t);
    throw new IperfError(ERROR_CODES.IEFILE, {
      // strerror's words, without Deno's "(os error N): open 'PATH'".
      detail: osReason(error).replace(/ \(os error \d+\)(: .*)?$/, ""),
      cause: error,
    });
  }
}

/**
 * Notes each stream's file size now, for the summary's `Sent X / SIZE`
 * line (iperf3's `fstat` at the end: a receiver's file has grown by what it
 * wrote).
 *
 * @param tracked the run's streams
 * @param name the `-F` name as given
 */
export function noteFileSizes(tracked: readonly Tracked[], name: string): void {
  for (const t of tracked) {
    try {
      if (t.file) t.diskfile = { name, size: t.file.statSync().size };
    } catch {
      // iperf3 prints nothing when fstat fails.
    }
  }
}

/**
 * Closes the stream's file, once.
 *
 * @param t the stream
 */
export function closeFile(t: Tracked): void {
  try {
    t.file?.close();
  } catch {
    // Closed already.
  }
  delete t.file;
}
