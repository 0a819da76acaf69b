/**
 * The UDP receiving loop: one socket, one buffer we own, each datagram
 * handed to the stream it belongs to (by the sender's address) and
 * accounted there: bytes, sequence (loss, order), jitter.
 *
 * @module
 */

import type { UdpSocket } from "../net/datagram.ts";
import { sameEndpoint } from "../net/datagram.ts";
import {
  readUdpSec,
  readUdpSeq,
  readUdpUsec,
  udpHeaderSize,
} from "../protocol/udp_header.ts";
import type { TransferBudget, TransferCounter } from "../stats/counter.ts";
import type { UdpAccounting } from "../stats/udp_accounting.ts";

/** One receiving stream on a socket. */
export interface UdpReceiveTarget {
  /** Where its datagrams come from. */
  peer: Deno.NetAddr;
  /** Its byte counter. */
  counter: TransferCounter;
  /** Its loss, order and jitter accounting. */
  accounting: UdpAccounting;
}

/** Options of {@linkcode runUdpReceiver}. */
export interface UdpReceiverOptions {
  /** The streams that receive on this socket. */
  targets: UdpReceiveTarget[];
  /** The test's `-n`/`-k` budget. */
  budget: TransferBudget;
  /** 64-bit sequence numbers (`--udp-counters-64bit`). */
  counters64: boolean;
}

/**
 * Receives until the socket is closed. Datagrams from unknown senders and
 * ones too short for a header are ignored; nothing is counted unless the
 * stream's `counter.counting` is set.
 *
 * @param socket the socket
 * @param options the streams, budget and counter width
 * @returns when the socket is closed (the pending receive rejects)
 */
export async function runUdpReceiver(
  socket: UdpSocket,
  options: UdpReceiverOptions,
): Promise<void> {
  const { targets, budget, counters64 } = options;
  const buffer = new Uint8Array(65536);
  const view = new DataView(buffer.buffer);
  const minSize = udpHeaderSize(counters64);
  const only = targets.length === 1 ? targets[0] : undefined;
  while (true) {
    const [data, from] = await socket.receive(buffer);
    const arrival = performance.now() / 1000;
    const n = data.byteLength;
    if (n < minSize) continue;
    const target = only && sameEndpoint(only.peer, from)
      ? only
      : targets.find((t) => sameEndpoint(t.peer, from));
    if (!target || !target.counter.counting) continue;
    const sent = readUdpSec(view) + readUdpUsec(view) / 1e6;
    target.accounting.record(readUdpSeq(view, counters64), sent, arrival, n);
    target.counter.bytes += n;
    target.counter.blocks++;
    budget.add(n);
  }
}
