/**
 * A data-plane thread's UDP sender: datagrams go out in `sendmmsg` batches
 * on a connected socket, each with iperf3's header (sec, usec, 32- or
 * 64-bit sequence number) written into the batch buffer, paced to `-b`
 * from the stream's start as iperf3's `iperf_check_throttle` does (the
 * average since the start stays at the target). With `--gsro` each message
 * is one UDP_SEGMENT send of up to `gsoSegments` datagrams, every one with
 * its own header (iperf3 3.21's `iperf_udp_send` with GSO).
 *
 * @module
 */

import { ERRNO, type LibcIo, MSG_FLAGS, POLLOUT } from "../net/libc_io.ts";
import { writeUdpHeader } from "../protocol/udp_header.ts";
import { datagramsDue, msUntilDue } from "../stream/pacer.ts";
import { MsgBatch } from "./_udp_batch.ts";
import type { StreamPlan, streamWords, UdpPlan } from "./_layout.ts";

/** Datagrams per batch without GSO. */
const BATCH_DATAGRAMS = 64;

/** Messages per batch with GSO (each up to 64 KiB). */
const GSO_MESSAGES = 8;

/** `sendmmsg` calls in one turn before the next stream gets its turn. */
const TURN_CALLS = 4;

/** How long to wait after ENOBUFS (a full device queue), ms. */
const NOBUFS_WAIT_MS = 0.2;

/** What a sending or receiving UDP slot may see of its thread. */
export interface UdpHost {
  /** The test's shared words. */
  big: BigInt64Array;
  /** The test's shared words. */
  int: Int32Array;
  /** This stream's word offsets. */
  words: ReturnType<typeof streamWords>;
  /** Whether moved bytes are counted now. */
  counting(): boolean;
  /** Whether senders must stop (the test ends, or the budget is used up). */
  stopping(): boolean;
  /** Datagrams of `length` bytes the `-n`/`-k` budget still allows (Infinity while unarmed). */
  allowance(length: number): number;
  /** Called after counting: checks the budget (and tells the session once). */
  counted(): void;
}

/** The result of one turn (one object per slot, rewritten each turn). */
export interface UdpTurn {
  /** Whether any datagram moved. */
  moved: boolean;
  /**
   * A receiver read all there was: it needs no other turn before poll says
   * more arrived (one `recvmmsg` that finds nothing saved per wake-up).
   */
  drained: boolean;
  /** When the rate lets the next datagram go, as a `performance.now()` value. */
  dueMs: number;
  /** What to wait for in poll (0: nothing, a timer or nothing at all). */
  events: number;
  /** The stream is done: stopped (sender), or failed with `errno`. */
  end?: "stopped" | "failed";
  /** The errno of a failure. */
  errno: number;
}

/** One sending UDP stream on a thread. */
export class UdpSender {
  readonly #io: LibcIo;
  readonly #fd: number;
  readonly #host: UdpHost;
  readonly #length: number;
  readonly #bitsPerSecond: number;
  readonly #udp: UdpPlan;
  readonly #perMessage: number;
  readonly #batch: MsgBatch;
  readonly #turn: UdpTurn = {
    moved: false,
    drained: false,
    dueMs: Infinity,
    events: 0,
    errno: 0,
  };
  readonly #startMs: number;
  /** Datagrams sent: the last sequence number used. */
  #seq = 0;
  /** Bytes sent since the start, for the rate. */
  #sentBytes = 0;
  /** `BigInt(n)` and `BigInt(n * length)` for every batch size: the hot path allocates nothing. */
  readonly #bigCounts: bigint[];
  readonly #bigBytes: bigint[];

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
    this.#length = plan.length;
    this.#bitsPerSecond = plan.bitsPerSecond;
    this.#udp = plan.udp as UdpPlan;
    this.#perMessage = Math.max(1, this.#udp.gsoSegments);
    const messages = this.#perMessage > 1 ? GSO_MESSAGES : BATCH_DATAGRAMS;
    this.#batch = new MsgBatch(messages, this.#perMessage * plan.length);
    fill(this.#batch.data, plan.length, plan.repeating);
    const sizes = Array.from({ length: this.#capacity + 1 }, (_, n) => n);
    this.#bigCounts = sizes.map((n) => BigInt(n));
    this.#bigBytes = sizes.map((n) => BigInt(n * plan.length));
    this.#startMs = performance.now();
  }

  /** Datagrams one batch holds. */
  get #capacity(): number {
    return this.#batch.messages * this.#perMessage;
  }

  /**
   * Sends what the rate and the budget allow now.
   *
   * @param now `performance.now()`
   * @returns the turn's result (the same object each time)
   */
  turn(now: number): UdpTurn {
    const t = this.#turn;
    const host = this.#host;
    t.moved = false;
    t.dueMs = Infinity;
    t.events = POLLOUT;
    for (let k = 0; k < TURN_CALLS; k++) {
      if (host.stopping()) return this.#end("stopped");
      let want = this.#capacity;
      if (this.#bitsPerSecond > 0) {
        const elapsed = (now - this.#startMs) / 1000;
        const due = datagramsDue(
          this.#bitsPerSecond,
          elapsed,
          this.#sentBytes,
          this.#length,
        );
        if (due === 0) {
          const wait = Math.max(
            msUntilDue(this.#bitsPerSecond, elapsed, this.#sentBytes),
            this.#udp.sleepFloorUs / 1000,
          );
          t.dueMs = now + wait;
          t.events = 0;
          return t;
        }
        // iperf3 sends a whole burst once the rate lets one datagram go,
        // and with GSO a whole GSO buffer (the kernel's and the receiver's
        // GRO work is per buffer, not per datagram).
        const per = this.#perMessage;
        const burst = this.#udp.burst > 0
          ? this.#udp.burst
          : Math.ceil(due / per) * per;
        want = Math.min(burst, want);
      }
      want = Math.min(want, host.allowance(this.#length));
      if (want <= 0) {
        host.counted();
        return this.#end("stopped");
      }
      const sent = this.#send(want);
      if (sent < 0) {
        const errno = -sent;
        if (errno === ERRNO.EINTR) continue;
        if (errno === ERRNO.EAGAIN) return t;
        if (errno === ERRNO.ENOBUFS) {
          t.events = 0;
          t.dueMs = now + NOBUFS_WAIT_MS;
          return t;
        }
        // A peer that has gone answers with ICMP "port unreachable", which a
        // connected socket reports once; iperf3 keeps sending, and the
        // control connection says what happened.
        if (errno === ERRNO.ECONNREFUSED) continue;
        t.errno = errno;
        return this.#end("failed");
      }
      t.moved = true;
      const bytes = sent * this.#length;
      this.#seq += sent;
      this.#sentBytes += bytes;
      const { big, words } = host;
      const count = this.#bigCounts[sent] as bigint;
      Atomics.add(big, words.packets, count);
      if (host.counting()) {
        Atomics.add(big, words.bytes, this.#bigBytes[sent] as bigint);
        Atomics.add(big, words.blocks, count);
        host.counted();
      }
      // The socket took less than asked: wait until it can take more.
      if (sent < want) return t;
      now = performance.now();
    }
    return t;
  }

  /** One `sendmmsg` of `count` datagrams; returns datagrams sent, or -errno. */
  #send(count: number): number {
    const batch = this.#batch;
    const length = this.#length;
    const counters64 = this.#udp.counters64;
    // One timestamp per batch: the datagrams of a batch leave together.
    const ms = performance.now();
    const sec = Math.floor(ms / 1000);
    const usec = Math.floor((ms - sec * 1000) * 1000);
    for (let g = 0; g < count; g++) {
      writeUdpHeader(
        batch.view,
        sec,
        usec,
        this.#seq + g + 1,
        counters64,
        g * length,
      );
    }
    const per = this.#perMessage;
    const messages = Math.ceil(count / per);
    // Without GSO every message is one whole datagram already; with it the
    // last message of the batch may hold fewer.
    if (per > 1) {
      for (let m = 0; m < messages; m++) {
        batch.setLength(m, Math.min(per, count - m * per) * length);
      }
    }
    const r = this.#io.symbols.sendmmsg(
      this.#fd,
      batch.vector,
      messages,
      MSG_FLAGS,
    );
    if (r < 0) return -this.#io.errno();
    return r >= messages ? count : r * per;
  }

  #end(how: "stopped" | "failed"): UdpTurn {
    const t = this.#turn;
    t.end = how;
    t.events = 0;
    t.dueMs = Infinity;
    return t;
  }
}

/** The payload of every datagram slot: random bytes, or iperf3's repeating digits. */
function fill(data: Uint8Array, length: number, repeating: boolean): void {
  if (repeating) {
    for (let i = 0; i < data.byteLength; i++) {
      data[i] = 0x30 + (i % length) % 10;
    }
    return;
  }
  for (let i = 0; i < data.byteLength; i += 65536) {
    crypto.getRandomValues(
      data.subarray(i, Math.min(data.byteLength, i + 65536)),
    );
  }
}
