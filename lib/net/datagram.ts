/**
 * A disposable wrapper around `Deno.DatagramConn`, which has no dispose of
 * its own and throws on a second `close()`.
 *
 * @module
 */

/** A bound UDP socket. */
export class UdpSocket implements Disposable {
  readonly #conn: Deno.DatagramConn;
  #closed = false;

  /**
   * Creates an instance.
   *
   * @param conn the bound datagram socket
   */
  constructor(conn: Deno.DatagramConn) {
    this.#conn = conn;
  }

  /**
   * Binds a UDP socket.
   *
   * @param hostname the local address (`0.0.0.0`, `::`, or a specific one)
   * @param port the local port, 0 for any
   * @param options `reuseAddress` (default true): SO_REUSEADDR, as iperf3's
   *   `netannounce` sets on its server port, so a threaded test's connected
   *   sockets (`lib/net/udp_connected.ts`) can bind beside the server's
   *   shared one; a client's stream sockets pass false, as iperf3's
   *   `netdial` sets nothing
   * @returns the socket
   */
  static bind(
    hostname: string,
    port: number,
    options: { reuseAddress?: boolean } = {},
  ): UdpSocket {
    if (typeof Deno.listenDatagram !== "function") {
      // Run from a URL, deno.json's "unstable" setting does not apply.
      throw new TypeError(
        "UDP needs Deno's --unstable-net flag (deno run --unstable-net ...)",
      );
    }
    return new UdpSocket(
      Deno.listenDatagram({
        hostname,
        port,
        transport: "udp",
        reuseAddress: options.reuseAddress ?? true,
      }),
    );
  }

  /** The local address. */
  get addr(): Deno.NetAddr {
    return this.#conn.addr as Deno.NetAddr;
  }

  /**
   * Sends one datagram.
   *
   * @param data the datagram
   * @param to the destination
   * @returns bytes sent
   */
  send(data: Uint8Array, to: Deno.NetAddr): Promise<number> {
    return this.#conn.send(data, to);
  }

  /**
   * Receives one datagram into `buffer`. The returned view is valid only until
   * the next call with the same buffer.
   *
   * @param buffer where the datagram lands (64 KiB holds any)
   * @returns the datagram (a view into `buffer`) and its sender
   */
  async receive(buffer: Uint8Array): Promise<[Uint8Array, Deno.NetAddr]> {
    const [data, from] = await this.#conn.receive(buffer);
    return [data, from as Deno.NetAddr];
  }

  /** Closes the socket; pending receives reject. Closing twice is harmless. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed underneath.
    }
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Whether two addresses are the same host and port, seeing IPv4-mapped IPv6
 * (`::ffff:127.0.0.1`) as the IPv4 address it maps.
 *
 * @param a one address
 * @param b the other
 * @returns true for the same endpoint
 */
export function sameEndpoint(a: Deno.NetAddr, b: Deno.NetAddr): boolean {
  return a.port === b.port && sameHost(a.hostname, b.hostname);
}

/** Compares without building strings: this runs once per received datagram. */
function sameHost(a: string, b: string): boolean {
  if (a === b) return true;
  if (a.length === b.length + 7) {
    return a.startsWith("::ffff:") && a.endsWith(b);
  }
  if (b.length === a.length + 7) {
    return b.startsWith("::ffff:") && b.endsWith(a);
  }
  return false;
}
