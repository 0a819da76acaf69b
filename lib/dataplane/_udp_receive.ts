/**
 * A data-plane thread's UDP receiver: `recvmmsg` batches on a connected
 * socket, every datagram accounted as iperf3's `iperf_udp_recv` does (the
 * same {@linkcode UdpAccounting}: highest sequence, lost, out of order,
 * jitter), the figures published in the stream's words after each batch.
 * With UDP_GRO on the socket one read may hold many datagrams, coalesced by
 * the kernel; the UDP_GRO control message gives their size and each is
 * accounted on its own (iperf3 3.21's GRO path).
 *
 * @module
 */

import { ERRNO, type LibcIo, POLLIN } from "../net/libc_io.ts";
import {
  readUdpSec,
  readUdpSeq,
  readUdpUsec,
  udpHeaderSize,
} from "../protocol/udp_header.ts";
import { UdpAccounting } from "../stats/udp_accounting.ts";
import { GRO_CONTROL_BYTES, MsgBatch } from "./_udp_batch.ts";
import { JITTER_RESET, type StreamPlan, type UdpPlan } from "./_layout.ts";
import type { UdpHost, UdpTurn } from "./_udp_send.ts";

/** Messages per `recvmmsg` without GRO. */
const BATCH_DATAGRAMS = 64;

/** Messages per `recvmmsg` with GRO (each up to 64 KiB). */
const GRO_MESSAGES = 16;

/** The most a GRO read holds: one IP packet's payload. */
const GRO_BYTES = 65535;

/** `recvmmsg` calls in one turn before the next stream gets its turn. */
const TURN_CALLS = 4;

/** `MSG_DONTWAIT | MSG_TRUNC`: never block; report a datagram's whole length even when the slot is shorter. */
const RECV_FLAGS = 0x40 | 0x20;

/**
 * Accounts the datagrams of one read: `length` bytes at `at` in `view`,
 * `segment` bytes each (the last may be shorter), as iperf3's GRO loop
 * splits a coalesced read. Datagrams too short for a header are skipped, as
 * the in-process receiver skips them.
 *
 * @param view the receive buffer
 * @param at where the read starts
 * @param length the read's bytes
 * @param segment bytes per datagram; 0 or `length` for a single datagram
 * @param options `counters64`: the header's sequence width; `arrival`: our
 *   clock at the read in seconds; `accounting`: where the datagrams count
 * @returns the number of datagrams accounted
 */
export function accountRead(
  view: DataView,
  at: number,
  length: number,
  segment: number,
  options: { counters64: boolean; arrival: number; accounting: UdpAccounting },
): number {
  const { counters64, arrival, accounting } = options;
  const header = udpHeaderSize(counters64);
  const step = segment > 0 && segment < length ? segment : length;
  let datagrams = 0;
  for (let offset = 0; offset < length; offset += step) {
    const bytes = Math.min(step, length - offset);
    if (bytes < header) continue;
    const start = at + offset;
    const sent = readUdpSec(view, start) + readUdpUsec(view, start) / 1e6;
    accounting.record(
      readUdpSeq(view, counters64, start),
      sent,
      arrival,
      bytes,
    );
    datagrams++;
  }
  return datagrams;
}

/** One receiving UDP stream on a thread. */
export class UdpReceiver {
  readonly #io: LibcIo;
  readonly #fd: number;
  readonly #host: UdpHost;
  readonly #udp: UdpPlan;
  readonly #batch: MsgBatch;
  readonly #accounting = new UdpAccounting();
  readonly #turn: UdpTurn = {
    moved: false,
    drained: false,
    dueMs: Infinity,
    events: 0,
    errno: 0,
  };
  readonly #options: {
    counters64: boolean;
    arrival: number;
    accounting: UdpAccounting;
  };
  /** The last JITTER_RESET value seen. */
  #jitterEpoch: number;

  /**
   * Creates an instance.
   *
   * @param io this thread's libc
   * @param plan the stream (`plan.udp` set)
   * @param host the thread's view of the test
   */
  constructor(io: LibcIo, plan: StreamPlan, host: UdpHost) {
    this.#io = io;
    this.#fd = plan.fd;
    this.#host = host;
    this.#udp = plan.udp as UdpPlan;
    // Without GRO a slot holds one datagram of `-l` bytes (MSG_TRUNC still
    // reports a longer one's length); with it, a whole coalesced read.
    this.#batch = this.#udp.gro
      ? new MsgBatch(GRO_MESSAGES, GRO_BYTES, GRO_CONTROL_BYTES)
      : new MsgBatch(BATCH_DATAGRAMS, Math.max(plan.length, 16));
    this.#options = {
      counters64: this.#udp.counters64,
      arrival: 0,
      accounting: this.#accounting,
    };
    this.#jitterEpoch = Atomics.load(host.int, JITTER_RESET);
  }

  /**
   * Reads what is there, up to a few batches.
   *
   * @returns the turn's result (the same object each time)
   */
  turn(): UdpTurn {
    const t = this.#turn;
    const host = this.#host;
    const batch = this.#batch;
    const a = this.#accounting;
    t.moved = false;
    t.drained = true;
    t.dueMs = Infinity;
    t.events = POLLIN;
    for (let k = 0; k < TURN_CALLS; k++) {
      const epoch = Atomics.load(host.int, JITTER_RESET);
      if (epoch !== this.#jitterEpoch) {
        this.#jitterEpoch = epoch;
        a.resetJitter();
      }
      batch.resetControl(batch.messages);
      const r = this.#io.symbols.recvmmsg(
        this.#fd,
        batch.vector,
        batch.messages,
        RECV_FLAGS,
        null,
      );
      if (r < 0) {
        const errno = this.#io.errno();
        if (errno === ERRNO.EINTR || errno === ERRNO.ECONNREFUSED) continue;
        if (errno === ERRNO.EAGAIN) return t;
        t.errno = errno;
        t.end = "failed";
        t.events = 0;
        return t;
      }
      if (r === 0) return t;
      t.moved = true;
      if (!host.counting()) {
        if (r < batch.messages) return t;
        continue;
      }
      this.#options.arrival = performance.now() / 1000;
      const bytesBefore = a.bytes;
      let datagrams = 0;
      for (let i = 0; i < r; i++) {
        const length = Math.min(batch.received(i), batch.messageBytes);
        const segment = this.#udp.gro ? batch.groSize(i) : 0;
        datagrams += accountRead(
          batch.view,
          i * batch.messageBytes,
          // A datagram longer than its slot counts its whole length.
          segment ? length : batch.received(i),
          segment,
          this.#options,
        );
      }
      this.#publish(a.bytes - bytesBefore, datagrams);
      if (r < batch.messages) return t;
    }
    // Full batches all turn long: there may be more right away.
    t.drained = false;
    return t;
  }

  /**
   * Writes this batch's counts and the accounting's figures into the
   * stream's words (loss and order only when they changed: each BigInt is
   * an allocation, and a collector's pause is loss at 1 Gbit/s).
   */
  #publish(bytes: number, datagrams: number): void {
    const { big, words } = this.#host;
    const a = this.#accounting;
    Atomics.add(big, words.bytes, BigInt(bytes));
    Atomics.add(big, words.blocks, BigInt(datagrams));
    Atomics.store(big, words.packets, BigInt(a.packets));
    if (a.lost !== this.#lost) {
      this.#lost = a.lost;
      Atomics.store(big, words.lost, BigInt(a.lost));
    }
    if (a.outOfOrder !== this.#outOfOrder) {
      this.#outOfOrder = a.outOfOrder;
      Atomics.store(big, words.outOfOrder, BigInt(a.outOfOrder));
    }
    Atomics.store(big, words.jitterNs, BigInt(Math.round(a.jitter * 1e9)));
    this.#host.counted();
  }

  /** The loss and order figures last published. */
  #lost = 0;
  #outOfOrder = 0;
}
