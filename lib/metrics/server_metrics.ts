/**
 * The server's own counters for Prometheus: a {@linkcode ServerObserver}
 * that `serve()` tells about every test and every refusal, kept in a
 * {@linkcode Registry} and printed in the text format.
 *
 * @module
 */

import { ERROR_CODES, IperfError } from "../errors.ts";
import type {
  HandshakeStep,
  RefusalReason,
  ServerEvent,
  SessionEvent,
} from "../events.ts";
import type { ServerObserver } from "../session/server.ts";
import type { TestSummary } from "../stats/summary.ts";
import { VERSION } from "../version.ts";
import {
  type Counter,
  type Gauge,
  type Histogram,
  Registry,
} from "./registry.ts";

/** The prefix of every metric name. */
export const METRIC_PREFIX = "iperf_ts_server_";

/** Upper bounds of the test duration histogram, seconds: sub-second `-n` tests to hour-long soaks. */
export const DURATION_BUCKETS: readonly number[] = [
  0.5,
  1,
  2.5,
  5,
  10,
  15,
  30,
  60,
  120,
  300,
  600,
  1200,
  1800,
  3600,
];

/** A test's transport, as the metrics label it. */
type Protocol = "tcp" | "udp";

const PROTOCOLS: readonly Protocol[] = ["tcp", "udp"];
const DIRECTIONS = ["sent", "received"] as const;
const REFUSALS: readonly (RefusalReason | "handshake_timeout")[] = [
  "busy",
  "auth",
  "parameters",
  "shed",
  "handshake_timeout",
];
const STEPS: readonly HandshakeStep[] = ["cookie", "parameters", "streams"];

/** iperf3's error numbers to their names (`IEAUTHTEST`), for the `kind` label. */
const CODE_NAMES = new Map<number, string>(
  Object.entries(ERROR_CODES).map(([name, code]) => [code, name]),
);

/** Options of {@linkcode ServerMetrics}. */
export interface ServerMetricsOptions {
  /** The `version` label of `iperf_ts_server_build_info` (default iperf-ts's own). */
  version?: string;
}

/** What the metrics keep about one test between its events; owned by the server's event path. */
interface TestState {
  protocol: Protocol;
  /** Streams opened (the open-streams gauge gives them back at the end). */
  streams: number;
  /** `performance.now()` at TEST_START; undefined before. */
  startedMs: number | undefined;
  /** Bytes already counted from interval events, by direction. */
  sent: number;
  received: number;
  /** Whether the test ended in an error. */
  failed: boolean;
}

/**
 * The server's metrics. Hand it to `serve()` as `observer`, and print
 * {@linkcode ServerMetrics.text} for a scrape (`serveMetrics` does).
 *
 * Bytes are counted live from the interval reports (outside the `-O` omit
 * period) and completed from each test's summary, so every test adds
 * exactly what the server's own summary says it moved.
 *
 * @example Usage
 * ```ts
 * import { ServerMetrics } from "./server_metrics.ts";
 * import { listen, serve } from "../session/server.ts";
 *
 * const metrics = new ServerMetrics();
 * const controller = new AbortController();
 * const listener = listen({ hostname: "127.0.0.1", port: 0 });
 * const done = serve(listener, { signal: controller.signal, observer: metrics });
 * if (!metrics.text().includes("iperf_ts_server_tests_running")) throw new Error();
 * controller.abort();
 * await done;
 * ```
 */
export class ServerMetrics implements ServerObserver {
  readonly #registry = new Registry();
  readonly #running: Gauge;
  readonly #served: Counter;
  readonly #refused: Counter;
  readonly #timeouts: Counter;
  readonly #bytes: Counter;
  readonly #streamsOpened: Counter;
  readonly #streamsOpen: Gauge;
  readonly #errors: Counter;
  readonly #acceptErrors: Counter;
  readonly #duration: Histogram;
  readonly #handshakes: Gauge;
  readonly #tests = new Map<number, TestState>();
  readonly #handshakeProbes: (() => number)[] = [];

  /**
   * Creates an instance, every fixed series at 0.
   *
   * @param options the version label
   */
  constructor(options: ServerMetricsOptions = {}) {
    const r = this.#registry;
    const name = (suffix: string) => `${METRIC_PREFIX}${suffix}`;
    r.gauge(
      name("build_info"),
      "Always 1; the labels name the iperf-ts release and the Deno runtime.",
      ["version", "deno"],
    ).set({ version: options.version ?? VERSION, deno: Deno.version.deno }, 1);
    r.gauge(
      name("start_time_seconds"),
      "Start time of the server process since the Unix epoch, in seconds.",
    ).set({}, Math.round(performance.timeOrigin) / 1000);
    this.#running = r.gauge(
      name("tests_running"),
      "Tests between TEST_START and their end, by protocol.",
      ["protocol"],
    );
    this.#served = r.counter(
      name("tests_served_total"),
      "Tests that started (TEST_START) and ended, by protocol and outcome (error: the server logged an error for it).",
      ["protocol", "outcome"],
    );
    this.#refused = r.counter(
      name("tests_refused_total"),
      "Connections turned away before TEST_START, by reason: busy (every slot taken, ACCESS_DENIED), auth (IEAUTHTEST), parameters (bad, or over the server's limits), shed (closed to make room for other handshakes), handshake_timeout.",
      ["reason"],
    );
    this.#timeouts = r.counter(
      name("handshake_timeouts_total"),
      'Handshakes closed because the peer sent nothing in time, by step (cookie, parameters, streams); they sum to tests_refused_total{reason="handshake_timeout"}.',
      ["step"],
    );
    this.#bytes = r.counter(
      name("bytes_total"),
      "Test data bytes the server sent or received, by direction and protocol, outside the -O omit period; each test adds what its server summary reports.",
      ["direction", "protocol"],
    );
    this.#streamsOpened = r.counter(
      name("streams_opened_total"),
      "Data streams connected, by protocol.",
      ["protocol"],
    );
    this.#streamsOpen = r.gauge(
      name("streams_open"),
      "Data streams of tests that have not ended yet, by protocol.",
      ["protocol"],
    );
    this.#errors = r.counter(
      name("errors_total"),
      "Errors the server logged, by kind: the iperf3 error name of a test's error (IECLIENTTERM, IESTREAMREAD, ...), including those of refused tests and of connections that failed before their cookie; accept for accept errors.",
      ["kind"],
    );
    this.#acceptErrors = r.counter(
      name("accept_errors_total"),
      "Errors accepting a connection (a reset before accept, out of descriptors).",
    );
    this.#duration = r.histogram(
      name("test_duration_seconds"),
      "Time from TEST_START to the end of each test served, in seconds, by protocol.",
      DURATION_BUCKETS,
      ["protocol"],
    );
    this.#handshakes = r.gauge(
      name("handshakes_waiting"),
      "Handshakes in progress: connections before their cookie and tests before TEST_START.",
    );
    for (const protocol of PROTOCOLS) {
      this.#running.set({ protocol }, 0);
      this.#streamsOpen.set({ protocol }, 0);
      this.#streamsOpened.touch({ protocol });
      for (const outcome of ["ok", "error"]) {
        this.#served.touch({ protocol, outcome });
      }
      for (const direction of DIRECTIONS) {
        this.#bytes.touch({ direction, protocol });
      }
    }
    for (const reason of REFUSALS) this.#refused.touch({ reason });
    for (const step of STEPS) this.#timeouts.touch({ step });
    this.#acceptErrors.touch();
    this.#handshakes.set({}, 0);
  }

  /**
   * Takes one of a test's events (see {@linkcode ServerObserver.testEvent}).
   *
   * @param event the event
   * @param test the test's number
   */
  testEvent(event: SessionEvent, test: number): void {
    if (event.kind === "accepted") {
      this.#tests.set(test, {
        protocol: event.params.protocol,
        streams: 0,
        startedMs: undefined,
        sent: 0,
        received: 0,
        failed: false,
      });
      return;
    }
    const state = this.#tests.get(test);
    if (!state) return;
    const protocol = state.protocol;
    switch (event.kind) {
      case "stream":
        state.streams++;
        this.#streamsOpened.inc({ protocol });
        this.#streamsOpen.inc({ protocol });
        break;
      case "start":
        state.startedMs = performance.now();
        this.#running.inc({ protocol });
        break;
      case "interval":
        for (const s of event.report.streams) {
          if (s.omitted) continue;
          this.#addBytes(state, s.sender ? "sent" : "received", s.bytes);
        }
        break;
      case "summary":
        this.#complete(state, event.summary);
        break;
      case "ended":
        this.#end(state);
        this.#tests.delete(test);
        break;
    }
  }

  /**
   * Takes what the server did outside its tests' events (see
   * {@linkcode ServerObserver.serverEvent}).
   *
   * @param event the event
   */
  serverEvent(event: ServerEvent): void {
    switch (event.kind) {
      case "serving":
        this.#handshakeProbes.push(event.handshakes);
        break;
      case "refused":
        this.#refused.inc({ reason: event.reason });
        break;
      case "handshake-timeout":
        this.#refused.inc({ reason: "handshake_timeout" });
        this.#timeouts.inc({ step: event.step });
        break;
      case "error": {
        const state = event.test === undefined
          ? undefined
          : this.#tests.get(event.test);
        if (state) state.failed = true;
        this.#errors.inc({ kind: errorKind(event.error) });
        break;
      }
      case "accept-error":
        this.#acceptErrors.inc();
        this.#errors.inc({ kind: "accept" });
        break;
    }
  }

  /**
   * The metrics in the Prometheus text format (`EXPOSITION_CONTENT_TYPE`).
   *
   * @returns the exposition, ending in a newline
   */
  text(): string {
    let waiting = 0;
    for (const probe of this.#handshakeProbes) waiting += probe();
    this.#handshakes.set({}, waiting);
    return this.#registry.text();
  }

  #addBytes(
    state: TestState,
    direction: "sent" | "received",
    bytes: number,
  ): void {
    if (!(bytes > 0)) return;
    state[direction] += bytes;
    this.#bytes.inc({ direction, protocol: state.protocol }, bytes);
  }

  /**
   * The summary is the test's total: what the intervals did not count yet
   * (the bytes drained after the last sample) is added now. The server's
   * summary has only its own side, so a stream's `bytesSent` is what the
   * server sent on it and `bytesReceived` what it received.
   */
  #complete(state: TestState, summary: TestSummary): void {
    let sent = 0;
    let received = 0;
    for (const s of summary.streams) {
      sent += s.bytesSent;
      received += s.bytesReceived;
    }
    this.#addBytes(state, "sent", sent - state.sent);
    this.#addBytes(state, "received", received - state.received);
  }

  #end(state: TestState): void {
    const protocol = state.protocol;
    this.#streamsOpen.inc({ protocol }, -state.streams);
    if (state.startedMs === undefined) return;
    this.#running.inc({ protocol }, -1);
    this.#served.inc({ protocol, outcome: state.failed ? "error" : "ok" });
    this.#duration.observe(
      { protocol },
      (performance.now() - state.startedMs) / 1000,
    );
  }
}

/** The `kind` label of an error: iperf3's error name, else the error class's name. */
function errorKind(error: unknown): string {
  if (error instanceof IperfError) {
    return CODE_NAMES.get(error.code) ?? `int_errno_${error.code}`;
  }
  if (error instanceof Error) return error.name;
  return "unknown";
}
