/**
 * Outgoing TCP connections bound to a local address and/or port (`-B`,
 * `--cport`). `Deno.connect` cannot bind before connecting, so these go
 * through `node:net`, adapted to {@linkcode StreamConn}.
 *
 * @module
 */

import net from "node:net";
import type { StreamConn } from "./conn.ts";

/** Options of {@linkcode connectBound}. */
export interface ConnectBoundOptions {
  /** The local address to bind (`-B`). */
  localAddress?: string;
  /** The local port to bind (`--cport`). */
  localPort?: number;
  /** Aborts the connection attempt. */
  signal?: AbortSignal;
}

/** Bytes buffered from the socket before it is paused. */
const HIGH_WATER = 4 * 1024 * 1024;

/**
 * Connects to `hostname:port` from a chosen local address/port.
 *
 * @param hostname the server address
 * @param port the server port
 * @param options local address, local port, abort signal
 * @returns the connection
 * @throws {Error} with the OS error (`code` such as `ECONNREFUSED`, `EADDRINUSE`)
 */
export function connectBound(
  hostname: string,
  port: number,
  options: ConnectBoundOptions = {},
): Promise<StreamConn> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({
      host: hostname,
      port,
      ...(options.localAddress === undefined
        ? {}
        : { localAddress: options.localAddress }),
      ...(options.localPort === undefined
        ? {}
        : { localPort: options.localPort }),
    });
    const onAbort = () => {
      socket.destroy();
      reject(options.signal?.reason);
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("error", (error) => {
      options.signal?.removeEventListener("abort", onAbort);
      reject(error);
    });
    socket.once("connect", () => {
      options.signal?.removeEventListener("abort", onAbort);
      resolve(new NodeSocketConn(socket));
    });
  });
}

/**
 * Hands a connected TCP socket descriptor to `node:net`, which then owns
 * (and closes) it.
 *
 * @param fd a connected TCP socket
 * @returns the connection
 */
export function adoptSocket(fd: number): StreamConn {
  return new NodeSocketConn(
    new net.Socket({ fd, readable: true, writable: true }),
  );
}

/**
 * Whether `conn` is a `node:net` socket of this module's (it reads from its
 * descriptor by itself, ahead of any caller).
 *
 * @param conn a connection
 * @returns true for what {@linkcode connectBound} and {@linkcode adoptSocket} return
 */
export function isNodeSocket(conn: StreamConn): boolean {
  return conn instanceof NodeSocketConn;
}

/**
 * Makes way for another reader of `conn`'s descriptor (the data-plane
 * threads): a `node:net` socket of this module's reads by itself, so it is
 * paused for good, and what it had read and not handed out is dropped and
 * counted. Deno's own connections read only when asked: nothing to do.
 *
 * @param conn a connection
 * @returns the bytes the socket had read ahead (0 for Deno's connections)
 */
export function stopReadingAhead(conn: StreamConn): number {
  return conn instanceof NodeSocketConn ? conn.stopReading() : 0;
}

/** A `node:net` socket seen as a {@linkcode StreamConn}. */
class NodeSocketConn implements StreamConn {
  readonly localAddr: Deno.NetAddr;
  readonly remoteAddr: Deno.NetAddr;
  readonly #socket: net.Socket;
  readonly #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  #error: Error | undefined;
  #closed = false;
  #wake: () => void = () => {};

  constructor(socket: net.Socket) {
    this.#socket = socket;
    this.localAddr = {
      transport: "tcp",
      hostname: socket.localAddress ?? "",
      port: socket.localPort ?? 0,
    };
    this.remoteAddr = {
      transport: "tcp",
      hostname: socket.remoteAddress ?? "",
      port: socket.remotePort ?? 0,
    };
    socket.on("data", (chunk: Uint8Array) => {
      this.#chunks.push(chunk);
      this.#buffered += chunk.byteLength;
      if (this.#buffered > HIGH_WATER) socket.pause();
      this.#wake();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#wake();
    });
    socket.on("error", (error: Error) => {
      this.#error = error;
      this.#wake();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#wake();
    });
  }

  async read(p: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#closed) throw new Deno.errors.BadResource("Connection closed");
      if (this.#error) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
    const chunk = this.#chunks[0] as Uint8Array;
    const n = Math.min(p.byteLength, chunk.byteLength);
    p.set(chunk.subarray(0, n));
    if (n === chunk.byteLength) this.#chunks.shift();
    else this.#chunks[0] = chunk.subarray(n);
    this.#buffered -= n;
    if (this.#buffered <= HIGH_WATER / 2 && this.#socket.isPaused()) {
      this.#socket.resume();
    }
    return n;
  }

  /** Pauses the socket for good; returns (and drops) what it had buffered. */
  stopReading(): number {
    this.#socket.pause();
    this.#socket.removeAllListeners("data");
    const dropped = this.#buffered;
    this.#chunks.length = 0;
    this.#buffered = 0;
    return dropped;
  }

  write(p: Uint8Array): Promise<number> {
    if (this.#closed) {
      return Promise.reject(new Deno.errors.BadResource("Connection closed"));
    }
    // node keeps a reference until the bytes are out, so hand it a copy.
    const copy = p.slice();
    return new Promise((resolve, reject) => {
      this.#socket.write(copy, (error) => {
        if (error) reject(error);
        else resolve(copy.byteLength);
      });
    });
  }

  setNoDelay(noDelay = true): void {
    this.#socket.setNoDelay(noDelay);
  }

  close(): void {
    if (this.#closed) throw new Deno.errors.BadResource("Connection closed");
    this.#closed = true;
    this.#socket.destroy();
    this.#wake();
  }
}
