/**
 * The run phase shared by client and server: one task per data stream, the
 * interval reporter (with the `-O` omit period), and the final sample.
 *
 * The session that owns a `TestRun` drives it in protocol order:
 * `begin()` at TEST_START, `run()` at TEST_RUNNING, `finish()` when the test
 * ends, `close()` on every exit path.
 *
 * @module
 */

import process from "node:process";
import { setImmediate } from "node:timers";
import { delay } from "../async.ts";
import { ERROR_CODES, IperfError, osReason, StreamError } from "../errors.ts";
import type { Endpoint, EventSink, Role } from "../events.ts";
import { closeQuietly, type StreamConn } from "../net/conn.ts";
import { isNodeSocket, stopReadingAhead } from "../net/bound_conn.ts";
import { StreamSocket } from "../net/stream_socket.ts";
import type { UdpSocket } from "../net/datagram.ts";
import type { ConnectedUdp } from "../net/udp_connected.ts";
import { UdpAccounting } from "../stats/udp_accounting.ts";
import {
  runUdpReceiver,
  type UdpReceiveTarget,
} from "../stream/udp_receiver.ts";
import type { UdpHub } from "./_udp_hub.ts";
import { runUdpSender } from "../stream/udp_sender.ts";
import type { TestParams } from "../protocol/params.ts";
import type { TestResults } from "../protocol/results.ts";
import { TransferBudget, TransferCounter } from "../stats/counter.ts";
import {
  type IntervalReport,
  isReportable,
  StreamStats,
  type TcpInterval,
  type UdpCumulative,
} from "../stats/interval.ts";
import type {
  CpuUtil,
  LocalStreamTotal,
  SummaryInput,
} from "../stats/summary.ts";
import { runTcpReceiver } from "../stream/tcp_receiver.ts";
import { runTcpSender } from "../stream/tcp_sender.ts";
import type {
  ThreadCounter,
  ThreadedTest,
  ThreadedUdp,
  ThreadPool,
  ThreadUdpAccounting,
} from "../dataplane/thread_pool.ts";

/** A connected data stream, before the test runs. */
export interface DataStream {
  /** The stream id (1, 3, 4, ...). */
  id: number;
  /** The printed socket number. */
  socket: number;
  /** Whether this side sends on it. */
  sender: boolean;
  /** The TCP connection (TCP tests). */
  conn?: StreamConn;
  /** The connection's socket through libc, where TCP_INFO can be read. */
  probe?: StreamSocket;
  /** The socket and the peer's address (UDP tests); a server's streams share its hub's socket. */
  udp?: {
    socket: UdpSocket;
    peer: Deno.NetAddr;
    hub?: UdpHub;
    /** A client's: `socket`'s descriptor, found through libc (owned by `socket`). */
    fd?: number;
    /**
     * A threaded server's: the stream's own socket connected to the peer,
     * which the threads move instead of the hub's; owned by the session,
     * closed by `close()` (or by the session when no TestRun ran).
     */
    connected?: ConnectedUdp;
  };
  /** This side's address. */
  local: Endpoint;
  /** The peer's address. */
  remote: Endpoint;
}

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

/** How early `timeUp()` sets its timer before the test's end (then it turns the event loop). */
const END_EARLY_MS = 4;

/** How long after its nominal end a timed test ends, so that what is due at that moment goes first. */
const END_AFTER_MS = 0.5;

/**
 * How long, and at least how many event-loop turns, UDP receivers count on
 * after a test's end that drains nothing: about a loopback datagram's way
 * from the peer's send call to our receive.
 */
const RECEIVE_SETTLE_MS = 1;
const RECEIVE_SETTLE_TURNS = 3;

/** The longest `finish({ drainReceivers })` reads on after the test ended. */
const RECEIVE_DRAIN_MAX_MS = 2000;

interface Tracked {
  stream: DataStream;
  /** In-process loops count in a TransferCounter, threads in shared memory. */
  counter: TransferCounter | ThreadCounter;
  stats: StreamStats;
  /** UDP receivers: loss, order, jitter (the thread's, when threads move it). */
  accounting: UdpAccounting | ThreadUdpAccounting;
  /** UDP counts at the end of the omit period (iperf3's `omitted_*`). */
  omitted: { packets: number; lost: number; outOfOrder: number };
  /** TCP_INFO figures kept across intervals (sending streams with TCP_INFO). */
  tcp: TcpTracking;
}

/** iperf3's per-stream `stream_*` TCP_INFO bookkeeping. */
interface TcpTracking {
  /** `tcpi_total_retrans` at the previous sample. */
  prevTotal: number;
  /** Retransmits since the end of the omit period. */
  retransmits: number;
  maxSndCwnd: number;
  maxSndWnd: number;
  maxRtt: number;
  minRtt: number;
  sumRtt: number;
  countRtt: number;
}

function newTcpTracking(): TcpTracking {
  return {
    prevTotal: 0,
    retransmits: 0,
    maxSndCwnd: 0,
    maxSndWnd: 0,
    maxRtt: 0,
    minRtt: 0,
    sumRtt: 0,
    countRtt: 0,
  };
}

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

/** Whether the local side only receives (iperf3 mode RECEIVER). */
export function isReceiverOnly(params: TestParams, role: Role): boolean {
  if (params.bidirectional) return false;
  return role === "client" ? params.reverse : !params.reverse;
}

/** One test's data streams from TEST_START to the final sample. */
export class TestRun {
  /** The `-n`/`-k` budget; `reached` ends a byte- or block-limited test. */
  readonly budget: TransferBudget;
  readonly #tracked: Tracked[];
  readonly #options: TestRunOptions;
  readonly #tasks: Promise<void>[] = [];
  readonly #senders: Promise<void>[] = [];
  readonly #stopSending = new AbortController();
  readonly #stopReporting = new AbortController();
  #reporter: Promise<void> | undefined;
  #stopping = false;
  #omitting: boolean;
  #finalMs = 0;
  #cpuStart = process.cpuUsage();
  #wallStartMs = 0;
  #fail: (error: unknown) => void = () => {};
  /** The streams' handle on the threads, when they move them. */
  #threaded: ThreadedTest | undefined;
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
    this.#omitting = options.params.omit > 0;
    this.budget = new TransferBudget(
      options.params.bytes,
      options.params.blocks,
      !this.#omitting,
    );
    this.#tracked = streams.map((stream) => ({
      stream,
      counter: new TransferCounter(),
      stats: new StreamStats(stream.id, stream.socket, stream.sender),
      accounting: new UdpAccounting(),
      omitted: { packets: 0, lost: 0, outOfOrder: 0 },
      tcp: newTcpTracking(),
    }));
    this.failed = new Promise<never>((_, reject) => {
      this.#fail = reject;
    });
    // Observed through `failed` by the session; never left unhandled.
    this.failed.catch(() => {});
  }

  /** TEST_START: the streams' clocks and the CPU meter start now. */
  begin(): void {
    const now = performance.now();
    this.#wallStartMs = now;
    this.#cpuStart = process.cpuUsage();
    for (const t of this.#tracked) t.stats.reset(now);
    // A side that only receives UDP gives its streams to the threads now: a
    // thread takes a millisecond or two to pick them up, and a socket buffer
    // holds about one at 1 Gbit/s. Nothing arrives before TEST_RUNNING but
    // a late hello, which is too short to count.
    const { params } = this.#options;
    if (
      params.protocol === "udp" && this.#tracked.every((t) => !t.stream.sender)
    ) {
      this.#early = this.#startThreads();
    }
  }

  /** TEST_RUNNING: counting starts, the stream tasks and the reporter run. */
  async run(): Promise<void> {
    const { params } = this.#options;
    if (await (this.#early ?? this.#startThreads())) {
      this.#reporter = this.#report(this.#stopReporting.signal).catch(
        () => {},
      );
      this.#tasks.push(
        this.#watch(this.#stopReporting.signal).catch(() => {}),
      );
      return;
    }
    const block = makePayload(params.length, params.repeatingPayload);
    // What TCP receivers read is counted and dropped, so a test's receiving
    // streams share one buffer: -P 128 -l 1M holds 1 MiB, not 128.
    let sink: Uint8Array | undefined;
    for (const t of this.#tracked) {
      t.counter.counting = true;
      const { conn, udp } = t.stream;
      if (t.stream.sender) {
        const sending = udp
          ? runUdpSender(udp.socket, udp.peer, {
            // Each UDP stream rewrites its own header in place.
            datagram: block.slice(),
            counter: t.counter,
            // iperf3's server never checks -n/-k: it sends until TEST_END
            // and the client counts what arrived against the limit, so a
            // lost datagram must not leave the client short.
            budget: this.#options.role === "server"
              ? new TransferBudget(0, 0)
              : this.budget,
            stop: this.#stopSending.signal,
            bitsPerSecond: params.bandwidth,
            burst: params.burst,
            pacingTimerUs: params.pacingTimer,
            counters64: params.udpCounters64bit,
            // iperf3 paces from `start_time_fixed`, set at TEST_START.
            startMs: this.#wallStartMs,
            endsAtMs: this.endsAtMs,
          })
          : runTcpSender(conn as StreamConn, {
            block,
            counter: t.counter,
            budget: this.budget,
            stop: this.#stopSending.signal,
            bitsPerSecond: params.bandwidth,
          });
        const task = sending.catch((error) =>
          this.#streamFailed(t, error, ERROR_CODES.IESTREAMWRITE)
        );
        this.#senders.push(task);
        this.#tasks.push(task);
      } else if (udp) {
        const target: UdpReceiveTarget = {
          peer: udp.peer,
          counter: t.counter,
          // The threads did not take the test: the loops account.
          accounting: t.accounting as UdpAccounting,
          budget: this.budget,
          counters64: params.udpCounters64bit,
        };
        if (udp.hub) {
          // The server's shared port: its loop feeds this stream from now on.
          udp.hub.unroute(udp.peer);
          udp.hub.route(target);
        } else {
          const task = runUdpReceiver(udp.socket, { route: () => target })
            .catch((error) =>
              this.#streamFailed(t, error, ERROR_CODES.IESTREAMREAD)
            );
          this.#tasks.push(task);
        }
      } else {
        sink ??= new Uint8Array(params.length);
        const task = runTcpReceiver(conn as StreamConn, {
          buffer: sink,
          counter: t.counter,
          budget: this.budget,
        }).catch((error) =>
          this.#streamFailed(t, error, ERROR_CODES.IESTREAMREAD)
        );
        this.#tasks.push(task);
      }
    }
    this.#reporter = this.#report(this.#stopReporting.signal).catch(() => {});
    this.#tasks.push(this.#watch(this.#stopReporting.signal).catch(() => {}));
  }

  /**
   * Hands every stream to the threads when they can take them all (TCP,
   * each stream's descriptor found through libc); false leaves them to the
   * in-process loops.
   */
  async #startThreads(): Promise<boolean> {
    const { params, threads } = this.#options;
    const udp = params.protocol === "udp";
    // A node:net socket (-B, --cport, -M) reads ahead by itself, and a read
    // of its already in flight cannot be called back: such a socket goes to
    // a thread only when it sends (nothing comes in to lose).
    const plans = this.#tracked.map((t) =>
      udp ? threadedUdp(t.stream, params) : t.stream.conn && t.stream.probe &&
          (t.stream.sender || !isNodeSocket(t.stream.conn))
        ? { fd: t.stream.probe.fd }
        : undefined
    );
    // Threads that could not start (libc, permissions) leave the test to
    // the loops rather than to a stream nobody moves.
    if (
      !threads || plans.some((p) => p === undefined) ||
      !await threads.prepare(this.#tracked.length)
    ) {
      this.#dropConnectedUdp();
      return false;
    }
    let threaded: ThreadedTest;
    try {
      threaded = threads.start(
        this.#tracked.map((t, i) => ({
          ...plans[i] as { fd: number },
          send: t.stream.sender,
          length: params.length,
          bitsPerSecond: params.bandwidth,
          repeating: params.repeatingPayload,
        })),
        this.#omitting || !this.#threadsLimited
          ? {}
          : { bytes: params.bytes, blocks: params.blocks },
      );
    } catch {
      // Out of descriptors for the duplicates: the loops move them.
      this.#dropConnectedUdp();
      return false;
    }
    this.#threaded = threaded;
    this.#tracked.forEach((t, i) => {
      const counter = threaded.counters[i] as ThreadCounter;
      if (udp) {
        t.accounting = threaded.udp[i] as ThreadUdpAccounting;
        // A client's Deno socket closes now: the thread's duplicate keeps
        // the socket open, and Deno's event loop stops waking for every
        // datagram the thread moves (a fifth of a core at 1 Gbit/s).
        if (!t.stream.udp?.hub) t.stream.udp?.socket.close();
      } else {
        // A node:net socket (-B, --cport, -M) may have read ahead since
        // TEST_RUNNING: those bytes were received in the test.
        const conn = t.stream.conn as StreamConn;
        const ahead = stopReadingAhead(conn);
        if (ahead > 0) counter.credit(ahead);
        // A node:net socket's own handle closes now, as a client's UDP
        // socket's: the thread's duplicate keeps the socket open, TCP_INFO is
        // read on the duplicate (the same socket: the same SO_COOKIE), and
        // the event loop stops waking for every segment the thread moves
        // (-P 8 -M 96 on loopback: 27 to 41-46 Gbit/s). Deno's own TcpConn
        // shuts the socket down when closed, so it stays open.
        const probe = t.stream.probe;
        const fd = threaded.fds[i];
        if (probe && fd !== undefined && isNodeSocket(conn)) {
          t.stream.probe = new StreamSocket(
            probe.native,
            fd,
            "tcp",
            conn.localAddr,
            conn.remoteAddr,
          );
          closeQuietly(conn);
        }
      }
      t.counter = counter;
    });
    // Deno's own TcpConns stay open (their close shuts the socket down) but
    // leave Deno's event loops: a receiving one woke the main thread for
    // every segment its thread moved (a third of a core at 34 Gbit/s).
    // Nothing reads or writes them again; they are only closed.
    const watched = this.#tracked.flatMap((t) =>
      !udp && t.stream.conn && !isNodeSocket(t.stream.conn) &&
        t.stream.probe?.alive
        ? [t.stream.probe.fd]
        : []
    );
    this.#tracked[0]?.stream.probe?.native.unwatch(watched);
    for (const t of this.#tracked) t.counter.counting = true;
    threaded.limit.then(() => this.budget.markReached());
    threaded.failed.catch((failure) => {
      const t = this.#tracked[failure.index] ?? this.#tracked[0];
      if (!t) return;
      this.#streamFailed(
        t,
        new Error(failure.text),
        t.stream.sender ? ERROR_CODES.IESTREAMWRITE : ERROR_CODES.IESTREAMREAD,
      );
    });
    return true;
  }

  /**
   * Whether the threads keep to `-n`/`-k`: not a server's UDP streams, which
   * send until TEST_END as iperf3's server does (the client counts what
   * arrived against the limit, so a lost datagram must not leave it short).
   */
  get #threadsLimited(): boolean {
    const o = this.#options;
    return !(o.params.protocol === "udp" && o.role === "server");
  }

  /**
   * The loops move the test: a threaded server's own UDP sockets close, so
   * their peers' datagrams reach the hub again.
   */
  #dropConnectedUdp(): void {
    for (const t of this.#tracked) {
      const udp = t.stream.udp;
      if (udp?.connected) {
        udp.connected.close();
        delete udp.connected;
      }
    }
  }

  /** When a timed test ends (`-t` + `-O` after TEST_START), as a `performance.now()` value; Infinity for `-n`/`-k`. */
  get endsAtMs(): number {
    const { time, omit } = this.#options.params;
    return time > 0 ? this.#wallStartMs + (time + omit) * 1000 : Infinity;
  }

  /**
   * Resolves when a timed test's duration is up (counted from TEST_START, as
   * iperf3's timer), or when a `-n`/`-k` budget is used up.
   *
   * @param signal cancels the wait
   * @returns when the test should end
   */
  async timeUp(signal: AbortSignal): Promise<void> {
    if (this.endsAtMs === Infinity) return await this.budget.reached;
    // Timers fire a millisecond or more late, more while the event loop is
    // busy: sleep until just before the end, then turn the event loop until
    // it comes. iperf3's timer is set just after the streams' clocks start,
    // so a datagram due at the same moment still goes out: END_AFTER_MS.
    const endMs = this.endsAtMs + END_AFTER_MS;
    await delay(endMs - END_EARLY_MS - performance.now(), { signal });
    while (performance.now() < endMs) {
      signal.throwIfAborted();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
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
    if (this.#threaded) {
      this.#threaded.stopSending();
      await this.#threaded.sendersStopped(
        this.#tracked.map((t) => t.stream.sender),
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
    this.#finalMs = now;
    for (const t of this.#tracked) t.counter.counting = false;
    this.#stopReporting.abort(ENDED);
    await this.#reporter;
    const report = this.#sample(now);
    if (isReportable(report, this.#options.interval || 1)) {
      this.#options.emit({ kind: "interval", report });
    }
  }

  /**
   * UDP receivers count on for a moment: a datagram sent before the test's
   * end may still be on its way, or wait for its receive call when the end
   * comes first. iperf3's receiver threads count it.
   */
  async #settleUdpReceivers(): Promise<void> {
    if (!this.#tracked.some((t) => !t.stream.sender && t.stream.udp)) return;
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
    const receivers = this.#tracked.filter((t) => !t.stream.sender);
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
    return this.#tracked.map((t) => {
      const total: LocalStreamTotal = {
        id: t.stream.id,
        socket: t.stream.socket,
        sender: t.stream.sender,
        bytes: t.counter.bytes,
        duration: t.stats.elapsed(this.#finalMs || performance.now()),
      };
      if (this.hasRetransmits && t.stream.conn) {
        const k = t.tcp;
        total.tcp = {
          retransmits: k.retransmits,
          maxSndCwnd: k.maxSndCwnd,
          maxSndWnd: k.maxSndWnd,
          maxRtt: k.maxRtt,
          minRtt: k.minRtt,
          // iperf3 divides integers.
          meanRtt: k.countRtt ? Math.trunc(k.sumRtt / k.countRtt) : 0,
        };
      }
      if (t.stream.udp) {
        const a = t.accounting;
        total.udp = {
          packets: (t.stream.sender ? t.counter.packets : a.packets) -
            t.omitted.packets,
          omittedPackets: t.omitted.packets,
          lost: a.lost - t.omitted.lost,
          outOfOrder: a.outOfOrder - t.omitted.outOfOrder,
          jitter: a.jitter,
        };
      }
      return total;
    });
  }

  /** What {@linkcode summarize} needs from this side (the peer's results are added by the session). */
  summaryInput(): SummaryInput {
    const o = this.#options;
    return {
      streams: this.totals(),
      receiverOnly: isReceiverOnly(o.params, o.role),
      bidirectional: o.params.bidirectional,
      cpu: this.cpu(),
      localHasRetransmits: this.hasRetransmits ? 1 : 0,
      localCongestion: o.params.protocol === "tcp"
        ? o.congestionUsed
        : undefined,
    };
  }

  /** Process CPU use since `begin()`, in percent of wall time. */
  cpu(): CpuUtil {
    const used = process.cpuUsage(this.#cpuStart);
    const wallUs = ((this.#finalMs || performance.now()) - this.#wallStartMs) *
      1000;
    if (wallUs <= 0) return { total: 0, user: 0, system: 0 };
    const user = used.user / wallUs * 100;
    const system = used.system / wallUs * 100;
    return { total: user + system, user, system };
  }

  /** This side's results JSON content, for the exchange. */
  results(): TestResults {
    const cpu = this.cpu();
    return {
      cpuUtilTotal: cpu.total,
      cpuUtilUser: cpu.user,
      cpuUtilSystem: cpu.system,
      senderHasRetransmits:
        isReceiverOnly(this.#options.params, this.#options.role)
          ? -1
          : this.hasRetransmits
          ? 1
          : 0,
      ...(this.#options.congestionUsed === undefined
        ? {}
        : { congestionUsed: this.#options.congestionUsed }),
      streams: this.#tracked.map((t) => {
        const udp = t.stream.udp !== undefined;
        return {
          id: t.stream.id,
          bytes: t.counter.bytes,
          retransmits: t.stream.sender && this.hasRetransmits
            ? t.tcp.retransmits
            : -1,
          // UDP: the receiver's jitter (seconds) and lost count, and the
          // datagrams sent or the highest sequence number seen, cumulative.
          jitter: udp && !t.stream.sender ? t.accounting.jitter : 0,
          errors: udp && !t.stream.sender ? t.accounting.lost : 0,
          // What of those the omit period counted (3.14+ `send_results`;
          // without them a 3.21 peer takes every datagram as omitted).
          omittedErrors: udp && !t.stream.sender ? t.omitted.lost : 0,
          packets: !udp
            ? 0
            : t.stream.sender
            ? t.counter.packets
            : t.accounting.packets,
          omittedPackets: udp ? t.omitted.packets : 0,
          startTime: 0,
          endTime: t.stats.elapsed(this.#finalMs || performance.now()),
        };
      }),
    };
  }

  /** Closes every data socket and waits for the stream tasks to end. */
  async close(): Promise<void> {
    await this.#early;
    this.#stopping = true;
    this.#stopSending.abort(ENDED);
    this.#stopReporting.abort(ENDED);
    // The threads give their duplicates back before the sockets close.
    await this.#threaded?.release();
    for (const t of this.#tracked) {
      if (t.stream.conn) closeQuietly(t.stream.conn);
      const udp = t.stream.udp;
      // A shared port stays open for the other tests; the session releases it.
      if (udp?.hub) udp.hub.unroute(udp.peer);
      else udp?.socket.close();
      udp?.connected?.close();
    }
    await Promise.allSettled([...this.#tasks, this.#reporter]);
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
    const o = this.#options;
    return o.params.protocol === "tcp" && (o.tcpInfo ?? false) &&
      !isReceiverOnly(o.params, o.role);
  }

  #sample(nowMs: number): IntervalReport {
    const retr = this.hasRetransmits;
    const streams = this.#tracked.map((t) => {
      const interval = t.stats.sample(
        nowMs,
        t.counter.bytes,
        this.#omitting,
        t.stream.udp ? udpNow(t) : undefined,
      );
      // iperf3 reads TCP_INFO on every TCP stream of a side that sends
      // (in --bidir its receiving streams too: their cwnd/RTT reach the
      // summary), and prints the interval's figures for senders only.
      if (retr && t.stream.conn) {
        const tcp = this.#tcpSample(t);
        if (t.stream.sender) interval.tcp = tcp;
      }
      return interval;
    });
    return retr ? { streams, retransmits: true } : { streams };
  }

  /** iperf3's `iperf_stats_callback`, TCP part: one TCP_INFO read per interval. */
  #tcpSample(t: Tracked): TcpInterval {
    const info = t.stream.probe?.tcpInfo();
    const k = t.tcp;
    if (!info) {
      return {
        retransmits: 0,
        sndCwnd: 0,
        sndWnd: 0,
        rtt: 0,
        rttvar: 0,
        pmtu: 0,
      };
    }
    const retransmits = info.totalRetrans - k.prevTotal;
    k.retransmits += retransmits;
    k.prevTotal = info.totalRetrans;
    k.maxSndCwnd = Math.max(k.maxSndCwnd, info.sndCwnd);
    k.maxSndWnd = Math.max(k.maxSndWnd, info.sndWnd);
    k.maxRtt = Math.max(k.maxRtt, info.rtt);
    if (k.minRtt === 0 || info.rtt < k.minRtt) k.minRtt = info.rtt;
    k.sumRtt += info.rtt;
    k.countRtt++;
    return {
      retransmits,
      sndCwnd: info.sndCwnd,
      sndWnd: info.sndWnd,
      rtt: info.rtt,
      rttvar: info.rttvar,
      pmtu: info.pmtu,
    };
  }

  /**
   * Ends the test when receiving (or sending) streams have made no progress
   * for the receive (send) timeout, or when the test's total rate is above
   * the server's limit (iperf3's `--rcv-timeout`, `iperf_check_total_rate`).
   */
  async #watch(signal: AbortSignal): Promise<void> {
    await Promise.all([this.#watchProgress(signal), this.#watchRate(signal)]);
  }

  /** Up to once a second: the receive and send timeouts. */
  async #watchProgress(signal: AbortSignal): Promise<void> {
    const o = this.#options;
    const receiveMs = o.receiveTimeoutMs ?? 0;
    const sendMs = o.sendTimeoutMs ?? 0;
    if (!receiveMs && !sendMs) return;
    const receivers = this.#tracked.filter((t) => !t.stream.sender);
    const senders = this.#tracked.filter((t) => t.stream.sender);
    const moved = (group: Tracked[]) =>
      group.reduce((n, t) => n + t.counter.bytes + t.counter.blocks, 0);
    let lastReceived = moved(receivers);
    let lastSent = moved(senders);
    let receivedAt = performance.now();
    let sentAt = receivedAt;
    const tickMs = Math.min(
      1000,
      ...[receiveMs, sendMs].filter((x) => x > 0).map((x) => x / 4),
    );
    while (true) {
      await delay(tickMs, { signal });
      const now = performance.now();
      const received = moved(receivers);
      const sent = moved(senders);
      if (received !== lastReceived) {
        [lastReceived, receivedAt] = [received, now];
      }
      if (sent !== lastSent) [lastSent, sentAt] = [sent, now];
      if (receiveMs && receivers.length && now - receivedAt > receiveMs) {
        this.#fail(
          new IperfError(ERROR_CODES.IENOMSG, {
            detail: `nothing received for ${receiveMs / 1000} s`,
          }),
        );
        return;
      }
      if (sendMs && senders.length && now - sentAt > sendMs) {
        this.#fail(
          new StreamError(
            ERROR_CODES.IESTREAMWRITE,
            senders[0]?.stream.id ?? 1,
            {
              detail: "Connection timed out",
            },
          ),
        );
        return;
      }
    }
  }

  /**
   * iperf3's `iperf_check_total_rate`, which every stats interval's callback
   * runs (from TEST_START): the bytes both directions moved in the last
   * `round(window / interval)` intervals (at least one), averaged, against
   * the limit; the first check comes as soon as that many intervals passed.
   * A server without interval reports (`-i 0`) checks once a second.
   */
  async #watchRate(signal: AbortSignal): Promise<void> {
    const o = this.#options;
    const limit = o.bitrateLimit ?? 0;
    if (!limit) return;
    const tickS = o.interval > 0 ? o.interval : 1;
    const windowS = o.bitrateLimitWindow ?? 5;
    const count = windowS <= tickS ? 1 : Math.round(windowS / tickS);
    const total = () => this.#tracked.reduce((n, t) => n + t.counter.bytes, 0);
    const recent: number[] = [];
    let last = total();
    for (let k = 1;; k++) {
      await delay(this.#wallStartMs + k * tickS * 1000 - performance.now(), {
        signal,
      });
      const now = total();
      // The counters restart at the end of the omit period.
      recent.push(now >= last ? now - last : now);
      last = now;
      if (recent.length > count) recent.shift();
      if (recent.length < count) continue;
      const bitsPerSecond = recent.reduce((a, b) => a + b, 0) * 8 /
        (count * tickS);
      if (bitsPerSecond > limit) {
        this.#fail(new IperfError(ERROR_CODES.IETOTALRATE));
        return;
      }
    }
  }

  async #report(signal: AbortSignal): Promise<void> {
    const { params, interval, emit } = this.#options;
    const intervalMs = interval * 1000;
    let originMs = this.#wallStartMs;
    if (this.#omitting) {
      const omitEndMs = originMs + params.omit * 1000;
      let next = intervalMs > 0 ? originMs + intervalMs : Infinity;
      while (next <= omitEndMs) {
        await delay(next - performance.now(), { signal });
        emit({ kind: "interval", report: this.#sample(performance.now()) });
        next += intervalMs;
      }
      await delay(omitEndMs - performance.now(), { signal });
      // End of the omit period: iperf3's iperf_reset_stats.
      const now = performance.now();
      this.#omitting = false;
      for (const t of this.#tracked) {
        t.counter.reset();
        t.stats.reset(now);
        const counts = udpNow(t);
        t.omitted = {
          packets: counts.packets,
          lost: counts.lost,
          outOfOrder: counts.outOfOrder,
        };
        t.accounting.resetJitter();
        if (this.hasRetransmits && t.stream.conn) {
          // iperf_reset_stats: retransmits count from here on.
          t.tcp.prevTotal = t.stream.probe?.tcpInfo()?.totalRetrans ??
            t.tcp.prevTotal;
          t.tcp.retransmits = 0;
        }
      }
      this.budget.reset();
      if (this.#threadsLimited) {
        this.#threaded?.armLimit(params.bytes, params.blocks);
      }
      originMs = now;
    }
    if (intervalMs <= 0) return;
    // The tick that falls on the end of a timed test is left to finish(),
    // whose final sample then closes that interval (no stray sliver after it).
    const lastTickMs = this.endsAtMs - intervalMs * 0.01;
    for (let k = 1; originMs + k * intervalMs < lastTickMs; k++) {
      await delay(originMs + k * intervalMs - performance.now(), { signal });
      emit({ kind: "interval", report: this.#sample(performance.now()) });
    }
  }
}

/**
 * How a thread moves a UDP stream: a threaded server's own connected
 * socket, or a client's socket (its duplicate connected to the server
 * first); undefined when there is neither (a server's stream on the hub).
 */
function threadedUdp(
  stream: DataStream,
  params: TestParams,
): { fd: number; udp: ThreadedUdp } | undefined {
  const udp = stream.udp;
  if (!udp) return undefined;
  const settings: ThreadedUdp = {
    counters64: params.udpCounters64bit,
    burst: params.burst,
    pacingTimerUs: params.pacingTimer,
    gso: params.gso ?? false,
    ...(params.gsoBufferSize ? { gsoBytes: params.gsoBufferSize } : {}),
    gro: params.gro ?? false,
  };
  if (udp.connected) return { fd: udp.connected.fd, udp: settings };
  if (udp.fd === undefined || udp.hub) return undefined;
  const connect = { peer: udp.peer, local: udp.socket.addr };
  return { fd: udp.fd, udp: { ...settings, connect } };
}

/** A UDP stream's cumulative counts: datagrams sent, or the receiver's accounting. */
function udpNow(t: Tracked): UdpCumulative {
  const a = t.accounting;
  return t.stream.sender
    ? { packets: t.counter.packets, lost: 0, outOfOrder: 0, jitter: 0 }
    : {
      packets: a.packets,
      lost: a.lost,
      outOfOrder: a.outOfOrder,
      jitter: a.jitter,
    };
}

function makePayload(length: number, repeating: boolean): Uint8Array {
  const block = new Uint8Array(length);
  if (repeating) {
    for (let i = 0; i < length; i++) block[i] = 0x30 + i % 10;
  } else {
    for (let i = 0; i < length; i += 65536) {
      crypto.getRandomValues(block.subarray(i, Math.min(length, i + 65536)));
    }
  }
  return block;
}
