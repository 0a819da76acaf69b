/**
 * The UDP receiving loop: one socket, one buffer we own, each datagram
 * handed to the stream it belongs to (by the sender's address) and
 * accounted there: bytes, sequence (loss, order), jitter.
 *
 * @module
 */

import type { UdpSocket } from "../net/datagram.ts";
import {
  readUdpSec,
  readUdpSeq,
  readUdpUsec,
  udpHeaderSize,
} from "../protocol/udp_header.ts";
import type { TransferBudget, TransferCounter } from "../stats/counter.ts";
import type { UdpAccounting } from "../stats/udp_accounting.ts";

/** One receiving stream. */
export interface UdpReceiveTarget {
  /** Where its datagrams come from. */
  peer: Deno.NetAddr;
  /** Its byte counter. */
  counter: TransferCounter;
  /** Its loss, order and jitter accounting. */
  accounting: UdpAccounting;
  /** Its test's `-n`/`-k` budget. */
  budget: TransferBudget;
  /** 64-bit sequence numbers (`--udp-counters-64bit`). */
  counters64: boolean;
}

/** Options of {@linkcode runUdpReceiver}. */
export interface UdpReceiverOptions {
  /** The stream a datagram from `from` belongs to, if any. */
  route: (from: Deno.NetAddr) => UdpReceiveTarget | undefined;
  /** Called for datagrams no stream claims (a server's hello datagrams). */
  unclaimed?: (data: Uint8Array, from: Deno.NetAddr) => void;
}

/**
 * Receives until the socket is closed. Datagrams too short for a header
 * are ignored; nothing is counted unless the stream's `counter.counting`
 * is set.
 *
 * @param socket the socket
 * @param options how datagrams find their stream
 * @returns when the socket is closed (the pending receive rejects)
 */
export async function runUdpReceiver(
  socket: UdpSocket,
  options: UdpReceiverOptions,
): Promise<void> {
  const { route, unclaimed } = options;
  const buffer = new Uint8Array(65536);
  const view = new DataView(buffer.buffer);
  while (true) {
    const [data, from] = await socket.receive(buffer);
    const arrival = performance.now() / 1000;
    const target = route(from);
    if (!target) {
      unclaimed?.(data, from);
      continue;
    }
    const n = data.byteLength;
    if (n < udpHeaderSize(target.counters64) || !target.counter.counting) {
      continue;
    }
    const sent = readUdpSec(view) + readUdpUsec(view) / 1e6;
    target.accounting.record(
      readUdpSeq(view, target.counters64),
      sent,
      arrival,
      n,
    );
    target.counter.bytes += n;
    target.counter.blocks++;
    target.budget.addReceived(n);
  }
}
