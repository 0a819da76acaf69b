/**
 * The server's UDP port, shared by every UDP test that runs at once: one
 * socket bound to the server port (as iperf3's), one receive loop, and each
 * datagram routed to its stream by the sender's address. A test that sets
 * up streams holds the setup lock of its client's address, because the hello
 * datagram carries no cookie: an unknown sender at that address whose
 * datagram is a hello belongs to whoever is setting up from it. Clients at
 * other addresses set up at the same time, so a peer that never says hello
 * delays only its own address.
 *
 * The same socket answers `--latency` probes of the tests that asked for
 * them (`_latency_echo.ts`): a probe comes from a socket of its own, which
 * no stream claims.
 *
 * @module
 */

import { Mutex } from "../async.ts";
import { TransferBudget, TransferCounter } from "../stats/counter.ts";
import { UdpAccounting } from "../stats/udp_accounting.ts";
import {
  runUdpReceiver,
  type UdpReceiveTarget,
} from "../stream/udp_receiver.ts";
import { sameEndpoint, UdpSocket } from "../net/datagram.ts";
import { isConnectMessage } from "../protocol/udp_header.ts";
import { toEndpoint } from "./_control.ts";
import {
  type EchoOptions,
  type EchoRegistration,
  LatencyEcho,
} from "./_latency_echo.ts";

/** The server's shared UDP socket and its routing table. */
export class UdpHub {
  readonly #hostname: string;
  readonly #port: number;
  /** Set-up locks by client address; an entry lives while someone holds or awaits it. */
  readonly #setups = new Map<string, { mutex: Mutex; users: number }>();
  #socket: UdpSocket | undefined;
  #loop: Promise<void> | undefined;
  #users = 0;
  readonly #routes = new Map<number, UdpReceiveTarget[]>();
  /** The set-up in progress for each client address. */
  readonly #hellos = new Map<string, (from: Deno.NetAddr) => void>();
  /** The tests whose latency probes this port answers. */
  readonly #echo = new LatencyEcho();

  /**
   * Creates an instance; nothing is bound until the first `acquire()`.
   *
   * @param hostname the address to bind (the TCP listener's)
   * @param port the server port
   */
  constructor(hostname: string, port: number) {
    this.#hostname = hostname;
    this.#port = port;
  }

  /**
   * Takes a share of the socket, binding it if nobody holds it yet.
   *
   * @returns the socket
   * @throws {Error} what binding threw (port taken, permission)
   */
  acquire(): UdpSocket {
    if (!this.#socket) {
      const socket = UdpSocket.bind(this.#hostname, this.#port);
      this.#socket = socket;
      this.#loop = runUdpReceiver(socket, {
        route: (from) => this.#route(from),
        // Only iperf3's 4-byte hello claims a stream: during a set-up,
        // anything else from the client's address (a flood, a late datagram
        // of an earlier test) is dropped.
        unclaimed: (data, from) => {
          const reply = this.#echo.answer(data, from);
          if (reply) {
            socket.send(reply, from).catch(() => {});
            return;
          }
          if (isConnectMessage(data)) {
            this.#hellos.get(toEndpoint(from).hostname)?.(from);
          }
        },
      }).catch(() => {});
    }
    this.#users++;
    return this.#socket;
  }

  /** Gives a share back; the last one closes the socket and ends the loop. */
  async release(): Promise<void> {
    if (--this.#users > 0) return;
    const socket = this.#socket;
    const loop = this.#loop;
    this.#socket = undefined;
    this.#loop = undefined;
    socket?.close();
    await loop;
  }

  /**
   * Waits for the setup lock of `client`'s address; until it is released,
   * datagrams from senders at that address without a route go to `hello`.
   *
   * @param client the address of the test's control connection, as
   *   `toEndpoint` prints it (IPv4-mapped addresses as plain IPv4)
   * @param hello called with each unknown sender from that address
   * @returns the release function
   */
  async setUp(
    client: string,
    hello: (from: Deno.NetAddr) => void,
  ): Promise<() => void> {
    const setup = this.#setups.get(client) ?? { mutex: new Mutex(), users: 0 };
    setup.users++;
    this.#setups.set(client, setup);
    const release = await setup.mutex.lock();
    this.#hellos.set(client, hello);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#hellos.delete(client);
      if (--setup.users === 0) this.#setups.delete(client);
      release();
    };
  }

  /**
   * Answers the latency probes of the test with `cookie` from its client's
   * address, until the registration is disposed. The caller holds a share
   * of the socket (`acquire()`) meanwhile.
   *
   * @param cookie the test's cookie
   * @param clientHost the client's address, as `toEndpoint` prints it
   * @param options the echo's rate and burst
   * @returns the registration
   */
  echo(
    cookie: string,
    clientHost: string,
    options?: EchoOptions,
  ): EchoRegistration {
    return this.#echo.register(cookie, clientHost, options);
  }

  /**
   * Sends one datagram from the server port.
   *
   * @param data the datagram
   * @param to the destination
   */
  async send(data: Uint8Array, to: Deno.NetAddr): Promise<void> {
    await this.#socket?.send(data, to);
  }

  /**
   * Routes datagrams from `target.peer` to `target`.
   *
   * @param target the receiving stream
   */
  route(target: UdpReceiveTarget): void {
    const list = this.#routes.get(target.peer.port) ?? [];
    list.push(target);
    this.#routes.set(target.peer.port, list);
  }

  /**
   * Stops routing datagrams from `peer` (they are then ignored, or taken as
   * a hello during someone's set-up).
   *
   * @param peer the stream's sender
   */
  unroute(peer: Deno.NetAddr): void {
    const list = this.#routes.get(peer.port);
    if (!list) return;
    const kept = list.filter((t) => !sameEndpoint(t.peer, peer));
    if (kept.length) this.#routes.set(peer.port, kept);
    else this.#routes.delete(peer.port);
  }

  /**
   * Whether datagrams from `peer` already belong to a stream.
   *
   * @param peer a sender
   * @returns true when routed
   */
  routed(peer: Deno.NetAddr): boolean {
    return this.#route(peer) !== undefined;
  }

  /**
   * Claims `peer` for a stream being set up: its datagrams are dropped until
   * the test routes them to the stream's counters.
   *
   * @param peer the new stream's sender
   */
  claim(peer: Deno.NetAddr): void {
    this.route({
      peer,
      counter: new TransferCounter(),
      accounting: new UdpAccounting(),
      budget: new TransferBudget(0, 0),
      counters64: false,
    });
  }

  #route(from: Deno.NetAddr): UdpReceiveTarget | undefined {
    const list = this.#routes.get(from.port);
    if (!list) return undefined;
    for (const t of list) if (sameEndpoint(t.peer, from)) return t;
    return undefined;
  }
}
