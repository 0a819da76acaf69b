/**
 * The server's UDP port, shared by every UDP test that runs at once: one
 * socket bound to the server port (as iperf3's), one receive loop, and each
 * datagram routed to its stream by the sender's address. A test that sets
 * up streams holds the hub's setup lock, because the hello datagram carries
 * no cookie: unknown senders belong to whoever is setting up.
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

/** The server's shared UDP socket and its routing table. */
export class UdpHub {
  readonly #hostname: string;
  readonly #port: number;
  readonly #setup = new Mutex();
  #socket: UdpSocket | undefined;
  #loop: Promise<void> | undefined;
  #users = 0;
  readonly #routes = new Map<number, UdpReceiveTarget[]>();
  #hello: ((from: Deno.NetAddr) => void) | undefined;

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
        unclaimed: (_data, from) => this.#hello?.(from),
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
   * Waits for the setup lock; until it is released, datagrams from senders
   * without a route go to `hello`.
   *
   * @param hello called with each unknown sender
   * @returns the release function
   */
  async setUp(hello: (from: Deno.NetAddr) => void): Promise<() => void> {
    const release = await this.#setup.lock();
    this.#hello = hello;
    return () => {
      this.#hello = undefined;
      release();
    };
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
