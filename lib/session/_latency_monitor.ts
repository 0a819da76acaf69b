/**
 * The client's side of `--latency`: a light UDP probe flow to the server's
 * port beside the load, and TCP_INFO RTT samples of the load's sockets.
 *
 * In protocol order, driven by the client session: `new LatencyMonitor()` once the data
 * streams are connected; `idle()` while the server (an iperf-ts one) holds
 * TEST_START: {@linkcode IDLE_PROBES} probes {@linkcode IDLE_SPACING_MS}
 * apart, their answers awaited at most {@linkcode IDLE_BOUND_MS} in all;
 * `startLoaded()` at TEST_RUNNING: a probe and a TCP_INFO sample every
 * {@linkcode LOADED_PERIOD_MS}; `takeInterval()` at each interval report;
 * `finish()` after the results exchange, which waits for answers still due
 * and closes the socket; `close()` on every exit path.
 *
 * A server that does not answer (a stock iperf3, an iperf-ts without echo)
 * sends TEST_START at once: the idle probes stop there, no loaded probe
 * goes out, and the figures come from TCP_INFO alone.
 *
 * Ownership: the monitor owns its socket and its two tasks (the receive
 * loop, the ticker); the session owns the monitor.
 *
 * @module
 */

import { delay } from "../async.ts";
import { sameEndpoint, UdpSocket } from "../net/datagram.ts";
import {
  decodeLatencyProbe,
  encodeLatencyProbe,
  type ProbeKind,
} from "../protocol/latency_probe.ts";
import {
  type IntervalLatency,
  intervalProbeFigures,
  type LatencyReport,
  responsiveness,
  RttSamples,
  summarizeRtts,
  type TcpRttSource,
} from "../stats/latency.ts";

/** The reason of the monitor's own aborts (a reason given saves building a DOMException). */
const STOPPED = new Error("Latency probes stopped");

/** Probes sent before the load. */
export const IDLE_PROBES = 10;

/** Milliseconds between idle probes. */
export const IDLE_SPACING_MS = 20;

/** The longest the idle phase lasts, answers included. */
export const IDLE_BOUND_MS = 1000;

/** Milliseconds between loaded probes (and TCP_INFO samples). */
export const LOADED_PERIOD_MS = 100;

/** A probe unanswered for this long is lost. */
export const PROBE_TIMEOUT_MS = 1000;

/** Where the TCP_INFO samples come from, and how to take one. */
export interface TcpRttSampler {
  /** Which sockets. */
  source: TcpRttSource;
  /** One RTT per socket now, in microseconds (0 where the kernel has none yet). */
  sample: () => number[];
}

/** Options of {@linkcode LatencyMonitor.open}. */
export interface LatencyMonitorOptions {
  /** The test's cookie. */
  cookie: string;
  /** The local address to bind the probe socket to (the control connection's). */
  localHost: string;
  /** The server's UDP port. */
  server: Deno.NetAddr;
  /** TCP_INFO of the load's sockets, where libc can read it. */
  tcp?: TcpRttSampler;
  /** The control connection's TCP_INFO RTT now, microseconds, where libc can read it. */
  controlRtt?: () => number | undefined;
}

interface Pending {
  /** When it went out, `performance.now()`. */
  sentMs: number;
  /** Sent before the load. */
  idle: boolean;
  /** Sent in the `-O` omit period (left out of the end figures). */
  omitted: boolean;
}

/** One test's probe flow and TCP_INFO samples. */
export class LatencyMonitor {
  readonly #socket: UdpSocket;
  readonly #options: LatencyMonitorOptions;
  readonly #receiving: Promise<void>;
  readonly #pending = new Map<number, Pending>();
  #seq = 0;
  /** Wakes a wait for answers. */
  #answered = () => {};
  // Samples are kept with bounded memory (a long test, many streams).
  readonly #idleRtts = new RttSamples();
  #idleLost = 0;
  #idleTcpMs: number | undefined;
  #serverEcho = false;
  readonly #loadedRtts = new RttSamples();
  #loadedLost = 0;
  readonly #tcpMs = new RttSamples();
  #intervalRtts = new RttSamples();
  #intervalLost = 0;
  #intervalTcpMs = new RttSamples();
  #omitUntilMs = 0;
  #ticker: Promise<void> | undefined;
  readonly #stopTicker = new AbortController();

  /**
   * Binds the probe socket and starts reading answers.
   *
   * @param options cookie, addresses and TCP_INFO samplers
   * @throws {Error} what binding threw (permission, no `--unstable-net`)
   */
  constructor(options: LatencyMonitorOptions) {
    this.#socket = UdpSocket.bind(options.localHost, 0, {
      reuseAddress: false,
    });
    this.#options = options;
    this.#receiving = this.#receive();
  }

  /** Whether the server answered the idle probes. */
  get serverEcho(): boolean {
    return this.#serverEcho;
  }

  /**
   * The idle phase, before the load: the control connection's RTT once,
   * then the idle probes, until they are all answered or
   * {@linkcode IDLE_BOUND_MS} passed. `testStart` is the pending read of
   * TEST_START: when it comes before the last idle probe went out, the
   * server does not wait for them (it does not answer probes), and the
   * phase ends at once.
   *
   * @param testStart settles when the server's next state arrives
   */
  async idle(testStart: Promise<unknown>): Promise<void> {
    const rtt = this.#options.controlRtt?.();
    if (rtt) this.#idleTcpMs = rtt / 1000;
    let started = false;
    const stop = new AbortController();
    const settled = () => {
      started = true;
      stop.abort(STOPPED);
    };
    testStart.then(settled, settled);
    const beginMs = performance.now();
    try {
      for (let i = 0; i < IDLE_PROBES; i++) {
        const dueMs = beginMs + i * IDLE_SPACING_MS;
        if (dueMs > performance.now()) {
          await delay(dueMs - performance.now(), { signal: stop.signal })
            .catch(() => {});
        }
        if (started) return;
        this.#send(i === IDLE_PROBES - 1 ? "idle-last" : "idle", beginMs);
      }
      // Every idle probe went out, so the server held TEST_START for them
      // (or is slow): their answers, within the phase's bound.
      const endMs = beginMs + IDLE_BOUND_MS;
      while (this.#pendingIdle() > 0 && performance.now() < endMs) {
        const woken = new Promise<void>((resolve) => this.#answered = resolve);
        const timer = new AbortController();
        await Promise.race([
          woken,
          delay(endMs - performance.now(), { signal: timer.signal }).catch(
            () => {},
          ),
        ]);
        timer.abort(STOPPED);
      }
    } finally {
      stop.abort(STOPPED);
      this.#serverEcho = this.#idleRtts.count > 0;
    }
  }

  /**
   * TEST_RUNNING: a TCP_INFO sample, and a probe where the server answers,
   * every {@linkcode LOADED_PERIOD_MS} until `finish()`.
   *
   * @param omitUntilMs the end of the `-O` omit period, a `performance.now()`
   *   value: what is sent before it stays out of the end figures
   */
  startLoaded(omitUntilMs: number): void {
    if (this.#ticker) return;
    this.#omitUntilMs = omitUntilMs;
    this.#ticker = this.#tick();
  }

  /**
   * The figures since the last call (the interval that just ended): the
   * answers that arrived, the probes lost, the mean TCP_INFO RTT.
   *
   * @returns the interval's figures
   */
  takeInterval(): IntervalLatency {
    this.#expire(performance.now());
    const out: IntervalLatency = {
      probe: intervalProbeFigures(this.#intervalRtts, this.#intervalLost),
    };
    const tcp = this.#intervalTcpMs.mean;
    if (tcp !== undefined) out.tcpRttMs = tcp;
    this.#intervalRtts = new RttSamples();
    this.#intervalLost = 0;
    this.#intervalTcpMs = new RttSamples();
    return out;
  }

  /** The test ended: no more probes or samples. */
  async stopLoaded(): Promise<void> {
    this.#stopTicker.abort(STOPPED);
    await this.#ticker;
  }

  /**
   * Ends the flow and gives the test's figures. With `wait`, answers still
   * due (at most {@linkcode PROBE_TIMEOUT_MS} after their probe) are awaited
   * first; without, probes still in flight are left out.
   *
   * @param options `wait` for answers still due
   * @returns the figures
   */
  async finish(options: { wait: boolean }): Promise<LatencyReport> {
    await this.stopLoaded();
    while (options.wait && this.#pending.size > 0) {
      const oldest = Math.min(
        ...[...this.#pending.values()].map((p) => p.sentMs),
      );
      const dueMs = oldest + PROBE_TIMEOUT_MS;
      const woken = new Promise<void>((resolve) => this.#answered = resolve);
      const timer = new AbortController();
      await Promise.race([
        woken,
        delay(dueMs - performance.now(), { signal: timer.signal }).catch(
          () => {},
        ),
      ]);
      timer.abort(STOPPED);
      this.#expire(performance.now());
    }
    this.#expire(performance.now());
    await this.close();
    return this.#report();
  }

  /** Closes the socket and waits for the monitor's tasks; harmless twice. */
  async close(): Promise<void> {
    this.#stopTicker.abort(STOPPED);
    this.#socket.close();
    await Promise.allSettled([this.#receiving, this.#ticker]);
  }

  #report(): LatencyReport {
    const echo = this.#serverEcho;
    const idle: LatencyReport["idle"] = echo
      ? {
        ...this.#idleRtts.summary(),
        source: "probe",
        lost: this.#idleLost,
      }
      : {
        ...summarizeRtts(
          this.#idleTcpMs === undefined ? [] : [this.#idleTcpMs],
        ),
        source: "tcp_info",
      };
    const report: LatencyReport = {
      serverEcho: echo,
      idle,
      rpm: responsiveness(
        echo ? this.#loadedRtts.values() : [],
        this.#tcpMs.values(),
      ),
    };
    if (echo) {
      report.loadedProbe = {
        ...this.#loadedRtts.summary(),
        lost: this.#loadedLost,
      };
    }
    const tcp = this.#options.tcp;
    if (tcp) {
      report.loadedTcpInfo = { ...this.#tcpMs.summary(), source: tcp.source };
    }
    return report;
  }

  async #tick(): Promise<void> {
    const signal = this.#stopTicker.signal;
    let dueMs = performance.now() + LOADED_PERIOD_MS;
    try {
      while (!signal.aborted) {
        await delay(dueMs - performance.now(), { signal });
        const now = performance.now();
        dueMs += LOADED_PERIOD_MS;
        // A late timer (a busy event loop) skips ticks rather than bunching them.
        if (dueMs < now) dueMs = now + LOADED_PERIOD_MS;
        this.#sampleTcp(now);
        if (this.#serverEcho) this.#send("loaded", now);
        this.#expire(now);
      }
    } catch {
      // Stopped.
    }
  }

  #sampleTcp(nowMs: number): void {
    const tcp = this.#options.tcp;
    if (!tcp) return;
    for (const us of tcp.sample()) {
      if (!(us > 0)) continue;
      const ms = us / 1000;
      this.#intervalTcpMs.add(ms);
      if (nowMs >= this.#omitUntilMs) this.#tcpMs.add(ms);
    }
  }

  #send(kind: ProbeKind, nowMs: number): void {
    const seq = this.#seq++;
    const sentMs = performance.now();
    const bytes = encodeLatencyProbe({
      kind,
      cookie: this.#options.cookie,
      seq,
      sentMs,
    });
    this.#pending.set(seq, {
      sentMs,
      idle: kind !== "loaded",
      omitted: kind === "loaded" && nowMs < this.#omitUntilMs,
    });
    // A send that fails (no route) is a probe that gets no answer.
    this.#socket.send(bytes, this.#options.server).catch(() => {});
  }

  /** Counts as lost every probe unanswered for {@linkcode PROBE_TIMEOUT_MS}. */
  #expire(nowMs: number): void {
    for (const [seq, p] of this.#pending) {
      if (nowMs - p.sentMs < PROBE_TIMEOUT_MS) continue;
      this.#pending.delete(seq);
      if (p.idle) {
        this.#idleLost++;
        continue;
      }
      this.#intervalLost++;
      if (!p.omitted) this.#loadedLost++;
    }
  }

  #pendingIdle(): number {
    let n = 0;
    for (const p of this.#pending.values()) if (p.idle) n++;
    return n;
  }

  async #receive(): Promise<void> {
    // Answers are 55 bytes; anything longer is not one.
    const buffer = new Uint8Array(2048);
    const { server, cookie } = this.#options;
    try {
      while (true) {
        const [data, from] = await this.#socket.receive(buffer);
        const nowMs = performance.now();
        if (!sameEndpoint(from, server)) continue;
        const probe = decodeLatencyProbe(data);
        if (probe === undefined || probe.cookie !== cookie) continue;
        const p = this.#pending.get(probe.seq);
        // Unknown, answered twice, or already counted lost.
        if (p === undefined || nowMs - p.sentMs >= PROBE_TIMEOUT_MS) continue;
        this.#pending.delete(probe.seq);
        const rtt = nowMs - p.sentMs;
        if (p.idle) {
          this.#idleRtts.add(rtt);
        } else {
          this.#intervalRtts.add(rtt);
          if (!p.omitted) this.#loadedRtts.add(rtt);
        }
        this.#answered();
      }
    } catch {
      // The socket was closed: the flow is over.
    }
  }
}
