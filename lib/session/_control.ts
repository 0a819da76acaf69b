/**
 * Helpers both session coroutines use on the control connection: reads that
 * give way to an abort, address formatting, connection closing.
 *
 * @module
 */

import { delay } from "../async.ts";
import type { Endpoint } from "../events.ts";
import { writeAll, type Writer } from "../net/io.ts";
import { encodeServerError, encodeState } from "../protocol/codec.ts";
import { stateName, STATES } from "../protocol/states.ts";

/** Rejection reason used when the session's signal aborts a wait. */
export class Aborted extends Error {
  /**
   * Creates an instance.
   *
   * @param reason the signal's reason
   */
  constructor(reason: unknown) {
    super("Session aborted", { cause: reason });
    this.name = "Aborted";
  }
}

/**
 * A promise that rejects with {@linkcode Aborted} when `signal` aborts, and
 * a function that detaches it. Never rejects unobserved.
 *
 * @param signal the session's signal
 * @returns the promise and its disposer
 */
export function abortPromise(
  signal: AbortSignal,
): { promise: Promise<never>; dispose: () => void } {
  let onAbort = () => {};
  const promise = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Aborted(signal.reason));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  promise.catch(() => {});
  return {
    promise,
    dispose: () => signal.removeEventListener("abort", onAbort),
  };
}

/**
 * Waits for `work` unless `stop` rejects first; `work` is marked handled so a
 * read left pending after an abort cannot surface as an unhandled rejection.
 *
 * @param work the read or other step
 * @param stop a promise that only rejects (an {@linkcode abortPromise})
 * @returns what `work` resolves to
 */
export function unlessAborted<T>(
  work: Promise<T>,
  stop: Promise<never>,
): Promise<T> {
  work.catch(() => {});
  return Promise.race([work, stop]);
}

/**
 * An address as iperf3 prints it: IPv4-mapped IPv6 addresses as plain IPv4.
 *
 * @param addr a Deno address
 * @returns hostname and port
 */
export function toEndpoint(addr: Deno.Addr): Endpoint {
  if (addr.transport !== "tcp" && addr.transport !== "udp") {
    return { hostname: String(addr.transport), port: 0 };
  }
  const hostname = addr.hostname.startsWith("::ffff:") &&
      addr.hostname.includes(".")
    ? addr.hostname.slice(7)
    : addr.hostname;
  return { hostname, port: addr.port };
}

/** How long a stream failure waits for a control message that explains it. */
export const STREAM_FAILURE_GRACE_MS = 250;

/**
 * A stream failure, unless the control connection delivers a message within
 * a short grace period: a peer that ends a test (CLIENT_TERMINATE,
 * SERVER_TERMINATE) closes its data sockets too, and whichever side notices
 * first should not turn that into a stream error.
 *
 * @param failed the run's stream-failure promise
 * @param pending the pending control read
 * @returns `"message"` when the control read won; otherwise rejects with the stream error
 */
export function streamFailureUnlessMessage(
  failed: Promise<never>,
  pending: Promise<number>,
): Promise<"message"> {
  return failed.catch(async (error) => {
    const grace = new AbortController();
    const late = await Promise.race([
      pending.then(() => "message" as const, () => "closed" as const),
      delay(STREAM_FAILURE_GRACE_MS, { signal: grace.signal }).then(() =>
        "none" as const
      ),
    ]);
    grace.abort();
    if (late === "message") return "message" as const;
    throw error;
  });
}

/**
 * The function a session sends its state bytes with, tracing each (`-d`).
 *
 * @param control the control connection
 * @param debug where the trace goes
 * @returns `send(state)`
 */
export function stateSender(
  control: Writer,
  debug: (message: string) => void,
): (state: number) => Promise<void> {
  return (state) => {
    debug(`send state ${stateName(state)}`);
    return writeAll(control, encodeState(state));
  };
}

/**
 * Tells the client why the server ends its test: SERVER_ERROR and iperf3's
 * error number in one write (an errno of 0). A client already gone is no
 * error here.
 *
 * @param control the control connection
 * @param code iperf3's `i_errno`
 */
export async function sendServerError(
  control: Writer,
  code: number,
): Promise<void> {
  const state = encodeState(STATES.SERVER_ERROR);
  const payload = encodeServerError(code, 0);
  const bytes = new Uint8Array(state.byteLength + payload.byteLength);
  bytes.set(state);
  bytes.set(payload, state.byteLength);
  await writeAll(control, bytes).catch(() => {});
}
