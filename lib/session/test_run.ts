/**
 * The run phase shared by client and server: one task per data stream, the
 * interval reporter (with the `-O` omit period), and the final sample.
 *
 * The session that owns a `TestRun` drives it in protocol order:
 * `begin()` at TEST_START, `run()` at TEST_RUNNING, `finish()` when the test
 * ends, `close()` on every exit path. The run's jobs live beside it: the
 * clock and omit period (`_run_clock.ts`), the watchdog and rate limit
 * (`_run_watch.ts`), the hand-over to the loops or the threads
 * (`_run_loops.ts`, `_run_threads.ts`), and the figures (`_run_results.ts`),
 * all on the state of `_run_state.ts`.
 *
 * @module
 */

import process from "node:process";
import { setImmediate } from "node:timers";
import { delay } from "../async.ts";
import { osReason, StreamError } from "../errors.ts";
import type { EventSink, Role } from "../events.ts";
import { closeQuietly } from "../net/conn.ts";
import type { TestParams } from "../protocol/params.ts";
import type { TestResults } from "../protocol/results.ts";
import { TransferBudget } from "../stats/counter.ts";
import { isReportable } from "../stats/interval.ts";
import type {
  CpuUtil,
  LocalStreamTotal,
  SummaryInput,
} from "../stats/summary.ts";
import type { ThreadPool } from "../dataplane/thread_pool.ts";
import * as clock from "./_run_clock.ts";
import { startLoops } from "./_run_loops.ts";
import * as figures from "./_run_results.ts";
import {
  type DataStream,
  type RunState,
  track,
  type Tracked,
} from "./_run_state.ts";
import { startThreads } from "./_run_threads.ts";
import { closeFile, noteFileSizes, openFiles } from "./_run_files.ts";
import { watchRun } from "./_run_watch.ts";

export type { DataStream } from "./_run_state.ts";
export { isReceiverOnly } from "./_streams.ts";

/** Options of {@linkcode TestRun}. */
export interface TestRunOptions {
  /** The test. */
  params: TestParams;
  /** Which side runs it. */
  role: Role;
  /** Seconds between interval reports, 0 for none. */
  interval: number;
  /** Receives interval events. */
  emit: EventSink;
  /** Fail when receiving streams get nothing for this long (`--rcv-timeout`, ms); 0 for never. */
  receiveTimeoutMs?: number;
  /** Fail when sending streams get nothing out for this long (`--snd-timeout`, ms); 0 for never. */
  sendTimeoutMs?: number;
  /** The server's limit on the test's total rate in bits/s (`--server-bitrate-limit`), 0 for none. */
  bitrateLimit?: number;
  /** Seconds the bitrate limit is averaged over (default 5). */
  bitrateLimitWindow?: number;
  /** Whether every TCP stream's TCP_INFO can be read (iperf3's `has_tcpinfo`). */
  tcpInfo?: boolean;
  /** The TCP congestion control algorithm of this side's streams, when known. */
  congestionUsed?: string;
  /**
   * The threaded data plane: TCP streams whose descriptor libc found, and
   * UDP streams with a socket of their own (`DataStream.udp`), are moved by
   * its threads; without it the in-process loops move them.
   */
  threads?: ThreadPool;
  /**
   * `-F`: each TCP stream opens this file when the run is created, a
   * sender to read it from its start, a receiver to write it (created,
   * emptied); the in-process loops move the test.
   */
  file?: string;
}

/** How long `finish()` waits for sends in flight before it takes the final sample. */
const SEND_DRAIN_MS = 5000;

/** A receiving stream counts as drained once this long passes without a byte (50 ms: a busy machine may hold a data-plane thread off the CPU for tens of ms). */
const RECEIVE_IDLE_MS = 50;

/**
 * The reason the test's own signals abort with. A reason given saves
 * building a DOMException, which costs a millisecond the first time in a
 * process, right at the end of the test.
 */
const ENDED = new Error("Test ended");

/**
 * How long, and at least how many event-loop turns, UDP receivers count on
 * after a test's end that drains nothing: about a loopback datagram's way
 * from the peer's send call to our receive.
 */
const RECEIVE_SETTLE_MS = 1;
const RECEIVE_SETTLE_TURNS = 3;

/** The longest `finish({ drainReceivers })` reads on after the test ended. */
const RECEIVE_DRAIN_MAX_MS = 2000;

/**
 * iperf3's stream id sequence: 1, 3, 4, 5, ... (id 2 is skipped, as in
 * iperf3, for compatibility).
 *
 * @param index the stream's creation index, from 0
 * @returns the id
 */
export function streamId(index: number): number {
  return index === 0 ? 1 : index + 2;
}

/** One test's data streams from TEST_START to the final sample. */
export class TestRun {
  /** The `-n`/`-k` budget; `reached` ends a byte- or block-limited test. */
  readonly budget: TransferBudget;
  /** The streams' bookkeeping and the run's, shared with the run's parts. */
  readonly #run: RunState;
  readonly #options: TestRunOptions;
  readonly #tasks: Promise<void>[] = [];
  readonly #senders: Promise<void>[] = [];
  readonly #stopSending = new AbortController();
  readonly #stopReporting = new AbortController();
  #reporter: Promise<void> | undefined;
  #stopping = false;
  #fail: (error: unknown) => void = () => {};
  /** The hand-over to the threads when it started at TEST_START (UDP receivers). */
  #early: Promise<boolean> | undefined;
  /** Rejects with a {@linkcode StreamError} when a stream fails before `finish()`. */
  readonly failed: Promise<never>;

  /**
   * Creates an instance.
   *
   * @param streams the connected streams, in creation order
   * @param options test, role, interval and event sink
   */
  constructor(streams: DataStream[], options: TestRunOptions) {
    this.#options = options;
    const omitting = options.params.omit > 0;
    this.budget = new TransferBudget(
      options.params.bytes,
      options.params.blocks,
      !omitting,
    );
    this.#run = {
      options,
      tracked: streams.map(track),
      budget: this.budget,
      omitting,
      wallStartMs: 0,
      finalMs: 0,
      cpuStart: process.cpuUsage(),
      threaded: undefined,
      deliveries: [],
    };
    if (options.file !== undefined) openFiles(this.#run.tracked, options.file);
    this.failed = new Promise<never>((_, reject) => {
      this.#fail = reject;
    });
    // Observed through `failed` by the session; never left unhandled.
    this.failed.catch(() => {});
  }

  /** TEST_START: the streams' clocks and the CPU meter start now. */
  begin(): void {
    const now = performance.now();
    this.#run.wallStartMs = now;
    this.#run.cpuStart = process.cpuUsage();
    for (const t of this.#run.tracked) t.stats.reset(now);
    // A side that only receives UDP gives its streams to the threads now: a
    // thread takes a millisecond or two to pick them up, and a socket buffer
    // holds about one at 1 Gbit/s. Nothing arrives before TEST_RUNNING but
    // a late hello, which is too short to count.
    const { params } = this.#options;
    if (
      params.protocol === "udp" &&
      this.#run.tracked.every((t) => !t.stream.sender)
    ) {
      this.#early = this.#startThreads();
    }
  }

  /** TEST_RUNNING: counting starts, the stream tasks and the reporter run. */
  async run(): Promise<void> {
    if (!await (this.#early ?? this.#startThreads())) {
      const loops = startLoops(this.#run, {
        stop: this.#stopSending.signal,
        streamFailed: (t, error, code) => this.#streamFailed(t, error, code),
      });
      this.#senders.push(...loops.senders);
      this.#tasks.push(...loops.tasks);
    }
    const signal = this.#stopReporting.signal;
    const { interval, emit } = this.#options;
    const reporting = { interval, emit, signal };
    this.#reporter = clock.reportIntervals(this.#run, reporting).catch(
      () => {},
    );
    const watching = { limits: this.#options, fail: this.#fail, signal };
    this.#tasks.push(watchRun(this.#run, watching).catch(() => {}));
  }

  /** The threads take every stream, or none (false: the loops move them). */
  async #startThreads(): Promise<boolean> {
    // The threads move sockets, not files.
    if (this.#options.file !== undefined) return false;
    return await startThreads(this.#run, {
      threads: this.#options.threads,
      streamFailed: (t, error, code) => this.#streamFailed(t, error, code),
    });
  }

  /** When a timed test ends (`-t` + `-O` after TEST_START), as a `performance.now()` value; Infinity for `-n`/`-k`. */
  get endsAtMs(): number {
    return clock.endsAtMs(this.#run);
  }

  /**
   * Resolves when a timed test's duration is up (counted from TEST_START, as
   * iperf3's timer), or when a `-n`/`-k` budget is used up.
   *
   * @param signal cancels the wait
   * @returns when the test should end
   */
  async timeUp(signal: AbortSignal): Promise<void> {
    return await clock.timeUp(this.#run, signal);
  }

  /**
   * The test ends: senders stop after the write in flight (counted), counting
   * stops, and the last partial interval is reported if iperf3 would print it.
   *
   * @param options `drainReceivers`: keep counting what the peer sent before
   *   it ended the test until the receiving streams fall idle (the server at
   *   TEST_END); the test's end time stays the moment `finish()` was called
   */
  async finish(options: { drainReceivers?: boolean } = {}): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    const endMs = performance.now();
    this.#stopSending.abort(ENDED);
    if (this.#run.threaded) {
      this.#run.threaded.stopSending();
      await this.#run.threaded.sendersStopped(
        this.#run.tracked.map((t) => t.stream.sender),
        SEND_DRAIN_MS,
      );
    }
    if (this.#senders.length > 0) {
      const drain = new AbortController();
      await Promise.race([
        Promise.allSettled(this.#senders),
        delay(SEND_DRAIN_MS, { signal: drain.signal }).catch(() => {}),
      ]);
      drain.abort();
    }
    const stoppedMs = performance.now();
    if (options.drainReceivers) await this.#drainReceivers();
    else await this.#settleUdpReceivers();
    const now = options.drainReceivers ? endMs : stoppedMs;
    this.#run.finalMs = now;
    for (const t of this.#run.tracked) t.counter.counting = false;
    if (this.#options.file !== undefined) {
      noteFileSizes(this.#run.tracked, this.#options.file);
    }
    this.#stopReporting.abort(ENDED);
    await this.#reporter;
    const report = figures.sample(this.#run, now);
    if (isReportable(report, this.#options.interval || 1)) {
      this.#options.emit({
        kind: "interval",
        report: { ...report, final: true },
      });
    }
  }

  /**
   * UDP receivers count on for a moment: a datagram sent before the test's
   * end may still be on its way, or wait for its receive call when the end
   * comes first. iperf3's receiver threads count it.
   */
  async #settleUdpReceivers(): Promise<void> {
    if (!this.#run.tracked.some((t) => !t.stream.sender && t.stream.udp)) {
      return;
    }
    const untilMs = performance.now() + RECEIVE_SETTLE_MS;
    for (
      let turn = 0;
      turn < RECEIVE_SETTLE_TURNS || performance.now() < untilMs;
      turn++
    ) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Waits until no receiving stream has counted a byte for RECEIVE_IDLE_MS (at most RECEIVE_DRAIN_MAX_MS). */
  async #drainReceivers(): Promise<void> {
    const receivers = this.#run.tracked.filter((t) => !t.stream.sender);
    if (receivers.length === 0) return;
    const deadline = performance.now() + RECEIVE_DRAIN_MAX_MS;
    let before = -1;
    while (performance.now() < deadline) {
      const now = receivers.reduce((sum, t) => sum + t.counter.bytes, 0);
      if (now === before) return;
      before = now;
      await delay(RECEIVE_IDLE_MS);
    }
  }

  /** Local per-stream totals after `finish()`. */
  totals(): LocalStreamTotal[] {
    return figures.totals(this.#run);
  }

  /** What {@linkcode summarize} needs from this side (the peer's results are added by the session). */
  summaryInput(): SummaryInput {
    return figures.summaryInput(this.#run);
  }

  /** Process CPU use since `begin()`, in percent of wall time. */
  cpu(): CpuUtil {
    return figures.cpu(this.#run);
  }

  /** This side's results JSON content, for the exchange. */
  results(): TestResults {
    return figures.results(this.#run);
  }

  /** Closes every data socket and waits for the stream tasks to end. */
  async close(): Promise<void> {
    await this.#early;
    this.#stopping = true;
    this.#stopSending.abort(ENDED);
    this.#stopReporting.abort(ENDED);
    // The threads give their duplicates back before the sockets close.
    await this.#run.threaded?.release();
    for (const t of this.#run.tracked) {
      if (t.stream.conn) closeQuietly(t.stream.conn);
      const udp = t.stream.udp;
      // A shared port stays open for the other tests; the session releases it.
      if (udp?.hub) udp.hub.unroute(udp.peer);
      else udp?.socket.close();
      udp?.connected?.close();
    }
    await Promise.allSettled([...this.#tasks, this.#reporter]);
    for (const t of this.#run.tracked) closeFile(t);
  }

  #streamFailed(t: Tracked, error: unknown, code: number): void {
    if (this.#stopping) return;
    this.#fail(
      new StreamError(code, t.stream.id, {
        detail: osReason(error),
        cause: error,
      }),
    );
  }

  /**
   * iperf3's `sender_has_retransmits == 1`: this side sends TCP and reads
   * TCP_INFO on every stream.
   */
  get hasRetransmits(): boolean {
    return figures.hasRetransmits(this.#options);
  }
}
