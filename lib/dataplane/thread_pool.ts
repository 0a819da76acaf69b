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
 * - The control words of a test's shared buffer are written only here (the
 *   control plane); each stream's counters only by its thread.
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
  JITTER_RESET,
  LIMIT_BASE,
  LIMIT_BLOCKS,
  LIMIT_BYTES,
  makeShared,
  STATE,
  STOP_SENDING,
  type StreamPlan,
  streamWords,
  type ToThread,
  type UdpPlan,
} from "./_layout.ts";

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

/** How long `release()` waits for the threads to give the descriptors back. */
const RELEASE_TIMEOUT_MS = 2000;

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

/** A stream failure reported by its thread. */
export interface ThreadedFailure {
  /** The stream's index in the test. */
  index: number;
  /** The errno. */
  errno: number;
  /** `strerror(errno)`. */
  text: string;
}

interface PoolWorker {
  worker: Worker;
  /** Resolves true once the thread has opened libc, false if it cannot run. */
  ready: Promise<boolean>;
  setReady: (ok: boolean) => void;
  /** Bumped after each message but the first (see `ToThread` "init"). */
  mailbox: Int32Array;
  /** Streams it moves now. */
  load: number;
  tests: Set<number>;
}

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

/** A stream's counters in the test's shared buffer, read with Atomics. */
export class ThreadCounter {
  readonly #big: BigInt64Array;
  readonly #int: Int32Array;
  readonly #words: ReturnType<typeof streamWords>;
  #baseBytes = 0n;
  #baseBlocks = 0n;

  /**
   * Creates an instance.
   *
   * @param shared the test's buffer
   * @param index the stream's index
   */
  constructor(shared: SharedArrayBuffer, index: number) {
    this.#big = new BigInt64Array(shared);
    this.#int = new Int32Array(shared);
    this.#words = streamWords(index);
  }

  /** Bytes counted since the last reset. */
  get bytes(): number {
    return Number(Atomics.load(this.#big, this.#words.bytes) - this.#baseBytes);
  }

  /** Read or write calls counted since the last reset. */
  get blocks(): number {
    return Number(
      Atomics.load(this.#big, this.#words.blocks) - this.#baseBlocks,
    );
  }

  /**
   * UDP: a sender's datagrams since the stream started, never reset
   * (iperf3's `packet_count`); a receiver's highest sequence number.
   */
  get packets(): number {
    return Number(Atomics.load(this.#big, this.#words.packets));
  }

  /** Whether the test counts now (one word for the whole test). */
  get counting(): boolean {
    return Atomics.load(this.#int, COUNTING) === 1;
  }

  set counting(on: boolean) {
    Atomics.store(this.#int, COUNTING, on ? 1 : 0);
  }

  /** The stream's state, as its thread wrote it. */
  get state(): number {
    return Atomics.load(this.#int, this.#words.state);
  }

  /**
   * Counts bytes received before the thread took the stream (one read);
   * only the view changes, not the thread's words.
   *
   * @param bytes how many
   */
  credit(bytes: number): void {
    this.#baseBytes -= BigInt(bytes);
    this.#baseBlocks -= 1n;
  }

  /** Zeroes the counts seen from here (end of the omit period); the thread's words are not written. */
  reset(): void {
    this.#baseBytes = Atomics.load(this.#big, this.#words.bytes);
    this.#baseBlocks = Atomics.load(this.#big, this.#words.blocks);
  }
}

/**
 * A receiving UDP stream's accounting as its thread publishes it (the
 * figures of `UdpAccounting`, cumulative); read-only here but for the
 * jitter reset, which is a control word the thread acts on.
 */
export class ThreadUdpAccounting {
  readonly #big: BigInt64Array;
  readonly #int: Int32Array;
  readonly #words: ReturnType<typeof streamWords>;

  /**
   * Creates an instance.
   *
   * @param shared the test's buffer
   * @param index the stream's index
   */
  constructor(shared: SharedArrayBuffer, index: number) {
    this.#big = new BigInt64Array(shared);
    this.#int = new Int32Array(shared);
    this.#words = streamWords(index);
  }

  /** The highest sequence number seen. */
  get packets(): number {
    return Number(Atomics.load(this.#big, this.#words.packets));
  }

  /** Datagrams missing from the sequence. */
  get lost(): number {
    return Number(Atomics.load(this.#big, this.#words.lost));
  }

  /** Datagrams that arrived after a later one. */
  get outOfOrder(): number {
    return Number(Atomics.load(this.#big, this.#words.outOfOrder));
  }

  /** Smoothed jitter in seconds (published in nanoseconds). */
  get jitter(): number {
    return Number(Atomics.load(this.#big, this.#words.jitterNs)) / 1e9;
  }

  /** End of the omit period: the thread starts its jitter afresh with its next datagram. */
  resetJitter(): void {
    Atomics.add(this.#int, JITTER_RESET, 1);
  }
}

/** One test's streams on the threads. */
export class ThreadedTest {
  /** Per stream, in the order given to `start()`. */
  /**
   * The duplicate descriptor each stream's thread owns, by stream index:
   * valid until the test is released (TCP_INFO may be read on it).
   */
  readonly fds: readonly number[];
  readonly counters: ThreadCounter[];
  /** Per stream: the UDP accounting its thread publishes (meaningful for UDP receivers). */
  readonly udp: ThreadUdpAccounting[];
  /** Rejects with the first stream failure a thread reports. */
  readonly failed: Promise<never>;
  /** Resolves when a thread finds the `-n`/`-k` budget used up. */
  readonly limit: Promise<void>;
  readonly #big: BigInt64Array;
  readonly #int: Int32Array;
  readonly #pending: Set<PoolWorker>;
  readonly #fdsOf: Map<PoolWorker, number[]>;
  readonly #closeFd: (fd: number) => void;
  readonly #release: (w: PoolWorker) => void;
  readonly #forget: () => void;
  /** Which streams send (the budget is per direction). */
  readonly #sending: boolean[];
  #fail: (error: ThreadedFailure) => void = () => {};
  #limit: () => void = () => {};
  #allReleased: () => void = () => {};
  readonly #releasedAll: Promise<void>;
  #releasing = false;

  /**
   * Created by {@linkcode ThreadPool.start}.
   *
   * @param shared the test's buffer
   * @param streams how many streams
   * @param fdsOf the duplicates each thread owns
   * @param closeFd closes a duplicate whose thread is gone
   * @param release tells one thread to release the test
   * @param forget drops the test from the pool
   * @param sending which streams send
   * @param fds the duplicates, by stream index
   */
  constructor(
    shared: SharedArrayBuffer,
    streams: number,
    fdsOf: Map<PoolWorker, number[]>,
    closeFd: (fd: number) => void,
    release: (w: PoolWorker) => void,
    forget: () => void,
    sending: boolean[],
    fds: number[],
  ) {
    this.#sending = sending;
    this.fds = fds;
    this.#big = new BigInt64Array(shared);
    this.#int = new Int32Array(shared);
    this.counters = Array.from(
      { length: streams },
      (_, i) => new ThreadCounter(shared, i),
    );
    this.udp = Array.from(
      { length: streams },
      (_, i) => new ThreadUdpAccounting(shared, i),
    );
    this.#fdsOf = fdsOf;
    this.#closeFd = closeFd;
    this.#pending = new Set(fdsOf.keys());
    this.#release = release;
    this.#forget = forget;
    this.failed = new Promise<never>((_, reject) => {
      this.#fail = reject;
    });
    this.failed.catch(() => {});
    this.limit = new Promise<void>((resolve) => {
      this.#limit = resolve;
    });
    this.#releasedAll = new Promise<void>((resolve) => {
      this.#allReleased = resolve;
    });
  }

  /**
   * Arms the `-n`/`-k` budget from the counts now (the end of the omit
   * period, or the start).
   *
   * @param bytes bytes that end the test, 0 for no limit
   * @param blocks blocks that end the test, 0 for no limit
   */
  armLimit(bytes: number, blocks: number): void {
    const raw = { sent: [0n, 0n], received: [0n, 0n] };
    for (let i = 0; i < this.counters.length; i++) {
      const w = streamWords(i);
      const side = this.#sending[i] ? raw.sent : raw.received;
      side[0] = (side[0] as bigint) + Atomics.load(this.#big, w.bytes);
      side[1] = (side[1] as bigint) + Atomics.load(this.#big, w.blocks);
    }
    // The baselines first: a thread that sees the limit sees them too.
    Atomics.store(this.#big, LIMIT_BASE.sentBytes, raw.sent[0] as bigint);
    Atomics.store(this.#big, LIMIT_BASE.sentBlocks, raw.sent[1] as bigint);
    Atomics.store(
      this.#big,
      LIMIT_BASE.receivedBytes,
      raw.received[0] as bigint,
    );
    Atomics.store(
      this.#big,
      LIMIT_BASE.receivedBlocks,
      raw.received[1] as bigint,
    );
    Atomics.store(this.#big, LIMIT_BYTES, BigInt(bytes));
    Atomics.store(this.#big, LIMIT_BLOCKS, BigInt(blocks));
  }

  /** Senders stop after the call in flight. */
  stopSending(): void {
    Atomics.store(this.#int, STOP_SENDING, 1);
  }

  /**
   * Waits until every sending stream has stopped (its counts are final), at
   * most `ms`.
   *
   * @param sending which streams send
   * @param ms the longest wait
   */
  async sendersStopped(sending: boolean[], ms: number): Promise<void> {
    const end = performance.now() + ms;
    while (performance.now() < end) {
      const running = this.counters.some((c, i) =>
        sending[i] && c.state === STATE.RUNNING
      );
      if (!running) return;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  /**
   * Tells the threads to stop using the streams and close their
   * descriptors; resolves when they have (or after a bound).
   */
  async release(): Promise<void> {
    if (!this.#releasing) {
      this.#releasing = true;
      this.stopSending();
      for (const w of [...this.#pending]) this.#release(w);
      if (this.#pending.size === 0) this.#allReleased();
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#releasedAll,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, RELEASE_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    this.#forget();
  }

  /** @internal A thread's report: the budget is used up. */
  limitReached(): void {
    this.#limit();
  }

  /** @internal A thread's report: a stream failed. */
  streamFailed(failure: ThreadedFailure): void {
    this.#fail(failure);
  }

  /** @internal A thread gave the test's descriptors back. */
  released(w: PoolWorker): void {
    this.#pending.delete(w);
    if (this.#pending.size === 0) this.#allReleased();
  }

  /**
   * @internal A thread died or was stopped before releasing the test: the
   * test fails, and the duplicates it held are closed here.
   */
  lost(w: PoolWorker, reason: string): void {
    if (!this.#pending.has(w)) return;
    for (const fd of this.#fdsOf.get(w) ?? []) this.#closeFd(fd);
    this.#fail({ index: -1, errno: 0, text: reason });
    this.released(w);
  }
}
