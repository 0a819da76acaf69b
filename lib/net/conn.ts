/**
 * The connection type the sessions and stream loops use: what `Deno.TcpConn`
 * offers, so a TcpConn is one, and so is {@linkcode connectBound}'s adapter.
 *
 * @module
 */

import type { Reader, Writer } from "./io.ts";

/** A connected TCP stream. */
export interface StreamConn extends Reader, Writer {
  /** This side's address. */
  readonly localAddr: Deno.NetAddr;
  /** The peer's address. */
  readonly remoteAddr: Deno.NetAddr;
  /** Sets or clears TCP_NODELAY. */
  setNoDelay(noDelay?: boolean): void;
  /** Sets or clears SO_KEEPALIVE, where the connection supports it. */
  setKeepAlive?(keepAlive?: boolean): void;
  /** Closes the connection; a pending read ends. Throws if already closed. */
  close(): void;
}

/**
 * Closes a connection or listener, ignoring one that is already closed.
 *
 * @param closable the connection or listener
 */
export function closeQuietly(closable: { close(): void }): void {
  try {
    closable.close();
  } catch {
    // Already closed: close() throws BadResource the second time.
  }
}
