/**
 * One test's streams on the data-plane threads, as the control plane sees
 * them: the handle `ThreadPool.start()` returns (the `-n`/`-k` budget, stop,
 * release) and the views of the test's shared buffer it reads counters
 * through. The control words of that buffer are written only here and by
 * the pool; each stream's counters only by its thread.
 *
 * @module
 */

import {
  COUNTING,
  JITTER_RESET,
  LIMIT_BASE,
  LIMIT_BLOCKS,
  LIMIT_BYTES,
  STATE,
  STOP_SENDING,
  streamWords,
} from "./_layout.ts";

/** How long `release()` waits for the threads to give the descriptors back. */
const RELEASE_TIMEOUT_MS = 2000;

/** A stream failure reported by its thread. */
export interface ThreadedFailure {
  /** The stream's index in the test. */
  index: number;
  /** The errno. */
  errno: number;
  /** `strerror(errno)`. */
  text: string;
}

/**
 * One of the pool's threads. The pool keeps its fields; a test holds it
 * only as the key of the descriptors that thread owns, and hands it back to
 * the pool's callbacks.
 */
export interface PoolWorker {
  /** The thread. */
  worker: Worker;
  /** Resolves true once the thread has opened libc, false if it cannot run. */
  ready: Promise<boolean>;
  /** Settles `ready`. */
  setReady: (ok: boolean) => void;
  /** Bumped after each message but the first (see `ToThread` "init"). */
  mailbox: Int32Array;
  /** Streams it moves now. */
  load: number;
  /** The ids of the tests it moves streams of. */
  tests: Set<number>;
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
