/**
 * The threaded data plane: a pool of Workers that move the bytes of TCP
 * and UDP streams through libc, and, per test, a handle the session's TestRun
 * drives (counting, the `-n`/`-k` budget, stop, release) and reads counters
 * from. Linux with `--allow-ffi` only; elsewhere the in-process loops of
 * `lib/stream/` move the bytes.
 *
 * Who owns what:
 * - The session owns each stream's connection and its descriptor, and
 *   closes them as before (`TestRun.close()`), after the release below.
 * - For each stream the pool makes a duplicate descriptor
 *   (`fcntl(F_DUPFD_CLOEXEC)`) and hands it to one thread, which owns it:
 *   it is the only one to use it and closes it when the test is released.
 *   The socket closes when both are closed.
 * - UDP: a client's stream socket is Deno's; its duplicate is `connect()`ed
 *   to the server here, before the thread gets it (which connects Deno's
 *   too: it is one socket). A server's stream socket is its own, opened by
 *   the session (`lib/net/udp_connected.ts`), which closes it after the
 *   release; the thread owns the duplicate, as for TCP. UDP_SEGMENT and
 *   UDP_GRO (`--gsro`) are set here, on the socket, through the duplicate.
 * - The control words of a test's shared buffer are written only here and
 *   by its handle (`_threaded_test.ts`), the control plane; each stream's
 *   counters only by its thread.
 *
 * @module
 */

import { type NativeSockets, SOCKOPT } from "../net/native.ts";
import { connectUdp } from "../net/udp_connected.ts";
import { DEFAULT_PACING_TIMER } from "../protocol/params.ts";
import { THREAD_SOURCE } from "./_thread_bundle.ts";
import {
  COUNTING,
  type FromThread,
  LIMIT_BLOCKS,
  LIMIT_BYTES,
  makeShared,
  type StreamPlan,
  type ToThread,
  type UdpPlan,
} from "./_layout.ts";
import { type PoolWorker, ThreadedTest } from "./_threaded_test.ts";

export {
  ThreadCounter,
  type ThreadedFailure,
  ThreadedTest,
  ThreadUdpAccounting,
} from "./_threaded_test.ts";

/**
 * Threads a pool may start unless told otherwise (`--data-threads`): one
 * per CPU, at most 16. Measured on 2 cores (our client and server, each
 * with N threads, loopback, 3 s): -P 4 moved 34.1 / 55.6 / 52.7 Gbit/s
 * with 1 / 2 / 4 threads, -P 32 33.9 / 39.4 / 50.1; one per CPU is the
 * best for up to a few streams a CPU, and a pool starts only as many
 * threads as a test has streams.
 */
export const DEFAULT_DATA_THREADS = Math.min(
  16,
  Math.max(1, navigator.hardwareConcurrency || 1),
);

/** How long `prepare()` waits for new threads to start. */
const PREPARE_TIMEOUT_MS = 5000;

let streamsStarted = 0;

/**
 * Streams handed to data-plane threads by this process so far (tests check
 * with it which plane moved a test's bytes).
 *
 * @returns the count
 */
export function threadedStreamCount(): number {
  return streamsStarted;
}

/** One stream to move. */
export interface ThreadedStream {
  /** The connection's descriptor (the session keeps it; the pool duplicates it). */
  fd: number;
  /** Whether this side sends. */
  send: boolean;
  /** Block size. */
  length: number;
  /** Sending rate in bits/s, 0 for unlimited. */
  bitsPerSecond: number;
  /** `--repeating-payload`. */
  repeating: boolean;
  /** TCP receivers: MSG_TRUNC (`--skip-rx-copy`). */
  truncate?: boolean;
  /** A UDP stream's settings; absent for TCP. */
  udp?: ThreadedUdp;
}

/** How a thread moves a UDP stream. */
export interface ThreadedUdp {
  /** 64-bit sequence numbers (`--udp-counters-64bit`). */
  counters64: boolean;
  /** Datagrams per burst (`-b rate/N`), 0 for none. */
  burst: number;
  /** `--pacing-timer` in microseconds. */
  pacingTimerUs: number;
  /** UDP_SEGMENT on a sending socket (`--gsro`), when the kernel has it. */
  gso: boolean;
  /** The largest GSO send in bytes (`gso_bf_size`), 65507 when absent. */
  gsoBytes?: number;
  /** UDP_GRO on a receiving socket (`--gsro`), when the kernel has it. */
  gro: boolean;
  /**
   * Where the duplicate is `connect()`ed before the thread gets it, and the
   * socket's own address (a client's Deno socket); absent when the socket
   * is connected already (a server's own).
   */
  connect?: { peer: Deno.NetAddr; local: Deno.NetAddr };
}

/** UDP_SEGMENT sends hold at most this many datagrams (Linux's UDP_MAX_SEGMENTS before 6.x). */
const GSO_MAX_SEGMENTS = 64;

/** The largest UDP payload, and so of a GSO send (iperf3's GSO_BF_MAX_SIZE). */
const GSO_MAX_BYTES = 65507;

/** The pool of data-plane threads; Workers start when the first test needs them. */
export class ThreadPool {
  readonly size: number;
  readonly #native: NativeSockets;
  readonly #workers: PoolWorker[] = [];
  readonly #tests = new Map<number, ThreadedTest>();
  #nextTest = 1;
  #closed = false;

  /**
   * Creates an instance; no thread starts yet.
   *
   * @param native libc on the control plane's thread (for the duplicates)
   * @param size threads, at least 1
   */
  constructor(native: NativeSockets, size: number = DEFAULT_DATA_THREADS) {
    this.#native = native;
    this.size = Math.max(1, size);
  }

  /**
   * Starts the threads `streams` streams need and waits until they run
   * (a thread opens libc first).
   *
   * @param streams how many streams the next test has
   * @returns false when a thread cannot run, or none started within 5 s
   */
  async prepare(streams: number): Promise<boolean> {
    if (this.#closed) return false;
    this.#grow(streams);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), PREPARE_TIMEOUT_MS);
    });
    try {
      const all = Promise.all(this.#workers.map((w) => w.ready));
      return await Promise.race([all.then((oks) => oks.every((x) => x)), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Hands a test's streams to the threads. Each is duplicated here, so the
   * caller may close its connections whenever it likes after `release()`.
   *
   * @param streams the test's streams, in order
   * @param limit the `-n`/`-k` budget armed from the first byte (0 or
   *   absent: none, or armed later with `armLimit()` after `-O`)
   * @returns the test's handle
   * @throws {Error} when a descriptor cannot be duplicated (out of descriptors)
   */
  start(
    streams: ThreadedStream[],
    limit: { bytes?: number; blocks?: number } = {},
  ): ThreadedTest {
    if (this.#closed) {
      throw new Error("Cannot start streams: the pool is closed");
    }
    const fds: number[] = [];
    const udpPlans: (UdpPlan | undefined)[] = [];
    try {
      for (const s of streams) {
        const fd = this.#native.dup(s.fd);
        fds.push(fd);
        udpPlans.push(s.udp && this.#udpPlan(fd, s));
      }
    } catch (error) {
      for (const fd of fds) this.#native.close(fd);
      throw error;
    }
    this.#grow(streams.length);
    streamsStarted += streams.length;
    const id = this.#nextTest++;
    const shared = makeShared(streams.length);
    // Streams start at TEST_RUNNING, counted from their first byte and
    // within their budget: the words are set before a thread can see the
    // streams (a thread that picks them up at once would otherwise move
    // bytes nobody counts, or that the budget misses).
    Atomics.store(new Int32Array(shared), COUNTING, 1);
    const big = new BigInt64Array(shared);
    Atomics.store(big, LIMIT_BYTES, BigInt(limit.bytes ?? 0));
    Atomics.store(big, LIMIT_BLOCKS, BigInt(limit.blocks ?? 0));
    const byWorker = new Map<PoolWorker, StreamPlan[]>();
    streams.forEach((s, index) => {
      const w = this.#workers.reduce((a, b) => b.load < a.load ? b : a);
      w.load++;
      const plans = byWorker.get(w) ?? [];
      plans.push({
        index,
        fd: fds[index] as number,
        send: s.send,
        length: s.length,
        bitsPerSecond: s.bitsPerSecond,
        repeating: s.repeating,
        ...(s.truncate ? { truncate: true } : {}),
        ...(udpPlans[index] ? { udp: udpPlans[index] } : {}),
      });
      byWorker.set(w, plans);
    });
    const fdsOf = new Map(
      [...byWorker].map(([w, plans]) => [w, plans.map((p) => p.fd)]),
    );
    const test = new ThreadedTest(
      shared,
      streams.length,
      fdsOf,
      (fd) => this.#native.close(fd),
      (w) => {
        w.load -= byWorker.get(w)?.length ?? 0;
        w.tests.delete(id);
        post(w, { kind: "release", test: id });
      },
      () => this.#tests.delete(id),
      streams.map((s) => s.send),
      fds,
    );
    this.#tests.set(id, test);
    for (const [w, plans] of byWorker) {
      w.tests.add(id);
      post(w, {
        kind: "add",
        test: id,
        shared,
        streams: streams.length,
        sending: streams.map((s) => s.send),
        plans,
      });
    }
    return test;
  }

  /**
   * Readies a UDP stream's duplicate: connects it where asked, sets
   * UDP_SEGMENT / UDP_GRO where asked and the kernel agrees (iperf3 3.21
   * goes on without them when `setsockopt` fails, as here).
   */
  #udpPlan(fd: number, s: ThreadedStream): UdpPlan {
    const udp = s.udp as ThreadedUdp;
    if (udp.connect) connectUdp(fd, udp.connect.peer, udp.connect.local);
    const { IPPROTO_UDP, UDP_SEGMENT, UDP_GRO } = SOCKOPT;
    let gsoSegments = 0;
    const perSend = Math.min(
      GSO_MAX_SEGMENTS,
      Math.floor(
        Math.min(udp.gsoBytes ?? GSO_MAX_BYTES, GSO_MAX_BYTES) / s.length,
      ),
    );
    if (udp.gso && s.send && perSend > 1) {
      try {
        this.#native.setInt(fd, IPPROTO_UDP, UDP_SEGMENT, s.length);
        gsoSegments = perSend;
      } catch {
        gsoSegments = 0;
      }
    }
    let gro = false;
    if (udp.gro && !s.send) {
      try {
        this.#native.setInt(fd, IPPROTO_UDP, UDP_GRO, 1);
        gro = true;
      } catch {
        gro = false;
      }
    }
    return {
      counters64: udp.counters64,
      burst: udp.burst,
      // iperf3 3.21 paces with clock_nanosleep to the next datagram's due
      // time and leaves the pacing timer unused; a timer other than the
      // default is honoured as the shortest sleep (coarser pacing).
      sleepFloorUs: udp.pacingTimerUs === DEFAULT_PACING_TIMER
        ? 0
        : udp.pacingTimerUs,
      gsoSegments,
      gro,
    };
  }

  /**
   * Stops every thread. Tests still on them fail, and the descriptors the
   * threads held are closed here (a terminated thread closes nothing).
   */
  close(): void {
    this.#closed = true;
    for (const w of this.#workers) {
      // A prepare() still waiting for this thread ends now (false).
      w.setReady(false);
      w.worker.terminate();
    }
    for (const test of this.#tests.values()) {
      for (const w of this.#workers) {
        test.lost(w, "the data-plane threads stopped");
      }
    }
    this.#workers.length = 0;
    this.#tests.clear();
  }

  /** Starts threads up to the pool's size, but not more than `streams` idle ones are needed. */
  #grow(streams: number): void {
    const idle = this.#workers.filter((w) => w.load === 0).length;
    const wanted = Math.min(this.size, this.#workers.length + streams - idle);
    while (this.#workers.length < wanted) {
      const worker = new Worker(threadUrl(), { type: "module" });
      const mailbox = new SharedArrayBuffer(4);
      let setReady: (ok: boolean) => void = () => {};
      const ready = new Promise<boolean>((resolve) => {
        setReady = resolve;
      });
      const w: PoolWorker = {
        worker,
        ready,
        setReady,
        mailbox: new Int32Array(mailbox),
        load: 0,
        tests: new Set(),
      };
      worker.postMessage({ kind: "init", mailbox } satisfies ToThread);
      worker.onmessage = (event: MessageEvent<FromThread>) =>
        this.#onMessage(w, event.data);
      worker.onerror = (event) => {
        event.preventDefault();
        this.#lost(w, event.message);
      };
      this.#workers.push(w);
    }
  }

  #onMessage(w: PoolWorker, message: FromThread): void {
    switch (message.kind) {
      case "ready":
        w.setReady(true);
        return;
      case "unavailable":
        w.setReady(false);
        this.#lost(w, message.reason);
        return;
      case "limit":
        this.#tests.get(message.test)?.limitReached();
        return;
      case "failed":
        this.#tests.get(message.test)?.streamFailed(message);
        return;
      case "released":
        this.#tests.get(message.test)?.released(w);
        return;
    }
  }

  /** A thread that died or could not start: its tests fail. */
  #lost(w: PoolWorker, reason: string): void {
    w.setReady(false);
    const i = this.#workers.indexOf(w);
    if (i >= 0) this.#workers.splice(i, 1);
    w.worker.terminate();
    for (const id of w.tests) this.#tests.get(id)?.lost(w, reason);
  }
}

let blobUrl: string | undefined;

/**
 * The thread's module as a Blob URL. A Worker loaded from a file needs
 * `--allow-read` on it (Deno checks a worker's modules, not the main
 * program's), and iperf-ts runs with `--allow-net --allow-ffi` only: the
 * thread's code is bundled into a string (`deno task bundle:thread`).
 */
function threadUrl(): string {
  blobUrl ??= URL.createObjectURL(
    new Blob([THREAD_SOURCE], { type: "application/javascript" }),
  );
  return blobUrl;
}

function post(w: PoolWorker, message: ToThread): void {
  w.worker.postMessage(message);
  Atomics.add(w.mailbox, 0, 1);
}
