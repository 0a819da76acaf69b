/**
 * The server: an accept loop that tells control connections from data
 * connections by cookie, and one session coroutine per test that reads top to
 * bottom in protocol order (iperf3 `iperf_run_server`, without its select loop).
 *
 * @module
 */

import { delay, Semaphore } from "../async.ts";
import {
  ERROR_CODES,
  InterruptedError,
  IperfError,
  osReason,
  ProtocolError,
  type ProtocolErrorOptions,
} from "../errors.ts";
import type {
  EventSink,
  HandshakeStep,
  ServerEvent,
  SessionEvent,
} from "../events.ts";
import { writeAll } from "../net/io.ts";
import {
  DEFAULT_MAX_JSON_SIZE,
  encodeJsonFrame,
  encodeState,
  readCookie,
  readJsonFrame,
  readState,
} from "../protocol/codec.ts";
import {
  decodeParams,
  ParamError,
  type TestParams,
} from "../protocol/params.ts";
import { decodeResults, encodeResults } from "../protocol/results.ts";
import { stateName, STATES } from "../protocol/states.ts";
import { summarize } from "../stats/summary.ts";
import {
  Aborted,
  abortPromise,
  sendServerError,
  stateSender,
  streamFailureUnlessMessage,
  toEndpoint,
  unlessAborted,
} from "./_control.ts";
import { nativeSockets, nativeUnavailableReason } from "../net/native.ts";
import {
  applyAfterConnect,
  applyKeepAlive,
  type KeepAliveSettings,
  locateTcp,
  type SocketTuning,
  StreamSocket,
} from "../net/stream_socket.ts";
import { type ConnectedUdp, openConnectedUdp } from "../net/udp_connected.ts";
import { closeQuietly } from "../net/conn.ts";
import type { UdpSocket } from "../net/datagram.ts";
import { UdpHub } from "./_udp_hub.ts";
import type { EchoRegistration } from "./_latency_echo.ts";

export { ECHO_BURST, ECHO_RATE } from "./_latency_echo.ts";
import { sendsOn, streamCount } from "./_streams.ts";
import { DEFAULT_DATA_THREADS, ThreadPool } from "../dataplane/thread_pool.ts";
import {
  DEFAULT_MAX_HANDSHAKES,
  DEFAULT_MAX_HANDSHAKES_PER_ADDRESS,
  type Handshake,
  Handshakes,
} from "./_handshakes.ts";
import { checkAuthToken } from "../auth.ts";
import { UDP_CONNECT_REPLY } from "../protocol/udp_header.ts";
import { type DataStream, streamId, TestRun } from "./test_run.ts";

/** Default server port. */
export const DEFAULT_PORT = 5201;

/** Tests a server runs at once unless told otherwise (`--max-tests`). */
export const DEFAULT_MAX_TESTS = 8;

/**
 * How long a new connection may take to send its cookie and, for a control
 * connection, its parameters; also the longest a test's stream set-up may go
 * without a new stream arriving.
 */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/** How long the server waits for all of a test's data connections after CREATE_STREAMS. */
export const STREAM_ACCEPT_TIMEOUT_MS = 30_000;

/**
 * The largest results frame the server takes from a client: a client's own
 * results are about 150 bytes a stream (256 streams: under 40 KiB); only a
 * server's carry its output.
 */
export const MAX_CLIENT_RESULTS_SIZE = 256 * 1024;

/** Results frames the server reads at once, over all tests (at most 8 MiB held). */
export const MAX_RESULTS_READERS = 32;

/** The longest the accept loop waits before trying again when the process is out of descriptors. */
const ACCEPT_BACKOFF_MAX_MS = 1000;

/** How long a stopping server waits for the client to take SERVER_TERMINATE before closing streams. */
const TERMINATE_GRACE_MS = 500;

/** Seconds the server lets a timed test overrun before giving up on it (iperf3's watchdog). */
const WATCHDOG_GRACE_S = 40;

/** Options of {@linkcode serve}. */
export interface ServeOptions {
  /** Stops the server: running tests get SERVER_TERMINATE, every socket closes. */
  signal?: AbortSignal;
  /**
   * Receives every test's events (accepted, stream, interval, summary, ended)
   * with the test's number; "listening" comes without one.
   */
  emit?: (event: SessionEvent, test?: number) => void;
  /** Told about each test that ended in an error, with its number; the server goes on. */
  onTestError?: (error: unknown, test: number) => void;
  /**
   * Watches the server (the metrics): every test's events, and the
   * refusals, handshake timeouts and errors that no test event tells.
   */
  observer?: ServerObserver;
  /** Seconds between interval reports, 0 for none (`-i`). */
  interval?: number;
  /** Serve one test, then return (`-1`). */
  oneOff?: boolean;
  /** Tests allowed at once; a client beyond that gets ACCESS_DENIED (default 8; 1 is iperf3's behaviour). */
  maxTests?: number;
  /** This server's own report of a test, sent to a client that asks (`--get-server-output`). */
  serverOutput?: (test: number) => { text?: string; json?: unknown };
  /** Receives a trace of the control protocol (`-d`). */
  debug?: (message: string) => void;
  /** A test whose receiving streams get nothing for this long ends (`--rcv-timeout`, ms; iperf3's default 120000). */
  receiveTimeoutMs?: number;
  /** A test whose sending streams get nothing out for this long ends (`--snd-timeout`, ms); off by default. */
  sendTimeoutMs?: number;
  /** Refuse or stop tests whose total rate is above this, in bits/s (`--server-bitrate-limit`). */
  bitrateLimit?: number;
  /** Seconds the measured rate is averaged over for the limit (default 5). */
  bitrateLimitWindow?: number;
  /** Refuse tests longer than this many seconds, and tests without a time limit (`--server-max-duration`). */
  maxDuration?: number;
  /** With no test running and no connection for this many seconds, a one-off server stops (`--idle-timeout`). */
  idleTimeout?: number;
  /** TCP keepalive on control connections (`--cntl-ka`). */
  keepAlive?: boolean;
  /** Receives warnings (iperf3 prints them as `warning: ...` on stderr). */
  warn?: (message: string) => void;
  /** `--cntl-ka=IDLE/INTVL/CNT` timings (0: the system's); need libc (Linux, `--allow-ffi`). */
  keepAliveSettings?: KeepAliveSettings;
  /** Require credentials (`--rsa-private-key-path`, `--authorized-users-path`). */
  auth?: ServerAuth;
  /**
   * Handshakes (connections before their cookie, tests before TEST_START)
   * allowed at once in all; over it, the one waiting longest is closed
   * (default 256).
   */
  maxHandshakes?: number;
  /** The same per peer address (default 64). */
  maxHandshakesPerAddress?: number;
  /** How long a handshake step may wait for the peer, ms (default {@linkcode HANDSHAKE_TIMEOUT_MS}). */
  handshakeTimeoutMs?: number;
  /** Threads that move the tests' TCP bytes (`--data-threads`), shared by all tests; 0 for the in-process loops. */
  dataThreads?: number;
  /** `-F`: every test's sending streams read this file, its receiving streams write it; a UDP test is refused (IEUDPFILETRANSFER). */
  file?: string;
}

/**
 * Watches a server from outside its tests' reports: `lib/metrics`'s
 * `ServerMetrics` is one. Its methods run on the server's own path, so they
 * must be quick and must not throw.
 */
export interface ServerObserver {
  /** A test's event with the test's number, just before `emit` gets it. */
  testEvent(event: SessionEvent, test: number): void;
  /** What the server did outside its tests' events. */
  serverEvent(event: ServerEvent): void;
}

/** What the server needs to check credentials. */
export interface ServerAuth {
  /** The RSA private key, PEM. */
  privateKeyPem: string;
  /** User name to sha256 hex of `{user}password`. */
  users: ReadonlyMap<string, string>;
  /** Allowed clock difference in seconds (`--time-skew-threshold`, default 10). */
  skew?: number;
  /** PKCS#1 v1.5 padding instead of OAEP (`--use-pkcs1-padding`). */
  pkcs1?: boolean;
}

/** Options of {@linkcode listen}. */
export interface ListenOptions {
  /** The port, 5201 by default, 0 for any free port. */
  port?: number;
  /** The address to bind (`-B`); all addresses by default. */
  hostname?: string;
  /** Only IPv4 (`-4`) or only IPv6 (`-6`). */
  family?: 4 | 6;
}

/**
 * Opens the server's listening socket: dual-stack `[::]` by default (as
 * iperf3), `0.0.0.0` where IPv6 is unavailable or with `-4`.
 *
 * @param options port, address and family
 * @returns the listener
 * @throws {IperfError} `IELISTEN` with the OS reason
 */
export function listen(options: ListenOptions = {}): Deno.TcpListener {
  const port = options.port ?? DEFAULT_PORT;
  const hostname = options.hostname ??
    (options.family === 4 ? "0.0.0.0" : "::");
  try {
    return Deno.listen({ hostname, port });
  } catch (error) {
    if (options.hostname === undefined && options.family === undefined) {
      try {
        return Deno.listen({ hostname: "0.0.0.0", port });
      } catch {
        // Report the first failure below.
      }
    }
    throw new IperfError(ERROR_CODES.IELISTEN, {
      detail: osReason(error),
      cause: error,
    });
  }
}

/** A connection waiting for its cookie to be matched to a test. */
type StreamHandoff = (conn: Deno.TcpConn) => void;

/**
 * Serves tests on `listener` until `signal` aborts (or after one test with
 * `oneOff`). A peer's failure ends that test only.
 *
 * @example Usage
 * ```ts
 * import { listen, serve } from "./server.ts";
 * const controller = new AbortController();
 * const listener = listen({ hostname: "127.0.0.1", port: 0 });
 * const done = serve(listener, { signal: controller.signal });
 * controller.abort();
 * await done;
 * ```
 *
 * @param listener the listening socket; closed when `serve` returns
 * @param options signal, event sink, error callback, interval, one-off
 * @returns when the server has stopped and every socket is closed
 */
export async function serve(
  listener: Deno.TcpListener,
  options: ServeOptions = {},
): Promise<void> {
  const ka = options.keepAliveSettings;
  if (ka && (ka.idle || ka.interval || ka.count) && !nativeSockets()) {
    closeQuietly(listener);
    throw new IperfError(ERROR_CODES.IEUNIMP, {
      detail:
        `--cntl-ka=IDLE/INTVL/CNT needs a socket option set through libc (${
          nativeUnavailableReason() ?? "unavailable"
        })`,
    });
  }
  const signal = options.signal ?? new AbortController().signal;
  const observer = options.observer;
  const sink = options.emit ?? (() => {});
  // Without an observer, events go straight to the sink.
  const emit = observer
    ? (event: SessionEvent, test?: number) => {
      if (test !== undefined) observer.testEvent(event, test);
      sink(event, test);
    }
    : sink;
  const onTestError = options.onTestError ?? (() => {});
  const debug = options.debug ?? (() => {});
  const maxTests = options.maxTests ?? DEFAULT_MAX_TESTS;
  const handshakeMs = options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
  const port = (listener.addr as Deno.NetAddr).port;
  const handoffs = new Map<string, StreamHandoff>();
  const tasks = new Set<Promise<void>>();
  // Every connection that has not finished its handshake, bounded on its
  // own: a silent peer holds no test slot.
  const handshakes = new Handshakes({
    total: options.maxHandshakes ?? DEFAULT_MAX_HANDSHAKES,
    perAddress: options.maxHandshakesPerAddress ??
      DEFAULT_MAX_HANDSHAKES_PER_ADDRESS,
  });
  // Tests past their handshake (TEST_START sent or about to be): the slots.
  let active = 0;
  let nextTest = 1;
  const resultsReaders = new Semaphore(MAX_RESULTS_READERS);
  // One pool of data-plane threads for every test; its threads start with
  // the first TCP test and stop with the server.
  const native = nativeSockets();
  const threadCount = options.dataThreads ?? DEFAULT_DATA_THREADS;
  const threads = native && threadCount > 0
    ? new ThreadPool(native, threadCount)
    : undefined;
  const udpHub = new UdpHub(listener.addr.hostname, listener.addr.port);

  let listenerClosed = false;
  const closeListener = () => {
    listenerClosed = true;
    closeQuietly(listener);
  };
  signal.addEventListener("abort", closeListener, { once: true });

  // --idle-timeout: a one-off server that nobody uses for that long stops,
  // as iperf3's does (a looping one has no state to restart).
  let idleTimer: ReturnType<typeof setTimeout> | undefined;
  const armIdle = () => {
    clearTimeout(idleTimer);
    idleTimer = undefined;
    if (!options.idleTimeout || !options.oneOff || active > 0) return;
    idleTimer = setTimeout(() => {
      if (active === 0) closeListener();
    }, options.idleTimeout * 1000);
  };

  async function handle(conn: Deno.TcpConn): Promise<void> {
    armIdle();
    const peer = toEndpoint(conn.remoteAddr).hostname;
    const handshake = handshakes.admit(conn, peer);
    // Ends the handshake; the session calls it once its streams are in.
    let entered = false;
    const enter = () => {
      handshake[Symbol.dispose]();
      if (active >= maxTests || signal.aborted) return false;
      active++;
      entered = true;
      return true;
    };
    let cookie: string;
    try {
      cookie = await withTimeout(readCookie(conn), handshakeMs, conn, "cookie");
    } catch (error) {
      // Garbage, a short cookie, silence or shed: drop it, nobody was waiting.
      handshake[Symbol.dispose]();
      closeQuietly(conn);
      if (!signal.aborted) {
        observer?.serverEvent(
          refusal(error, handshake.shed) ?? { kind: "error", error },
        );
      }
      return;
    }
    const handoff = handoffs.get(cookie);
    if (handoff) {
      handshake[Symbol.dispose]();
      handoff(conn);
      return;
    }
    handshake.touch();
    if (active >= maxTests || signal.aborted) {
      handshake[Symbol.dispose]();
      if (!signal.aborted) {
        observer?.serverEvent({ kind: "refused", reason: "busy" });
      }
      await writeAll(conn, encodeState(STATES.ACCESS_DENIED)).catch(() => {});
      closeQuietly(conn);
      return;
    }
    const test = nextTest++;
    let refusedAuth = false;
    // Whether this was the one test of a one-off server (-1).
    let counted = true;
    try {
      await runServerSession(conn, cookie, {
        signal,
        emit: (event) => emit(event, test),
        interval: options.interval ?? 1,
        handoffs,
        serverOutput: options.serverOutput &&
          (() => options.serverOutput?.(test) ?? {}),
        debug,
        listenAddr: listener.addr,
        udpHub,
        options,
        handshake,
        handshakeMs,
        enter,
        resultsReaders,
        threads,
      });
    } catch (error) {
      // iperf3: a refused authentication does not count as the one test.
      refusedAuth = error instanceof IperfError &&
        error.code === ERROR_CODES.IEAUTHTEST;
      const uncounted = error instanceof Busy ||
        (handshake.shed && !entered);
      counted = !uncounted && !refusedAuth;
      if (!entered && !signal.aborted) {
        const refused = refusal(error, handshake.shed, test);
        if (refused) observer?.serverEvent(refused);
      }
      if (error instanceof ClientLeft) {
        debug(`test ${test}: ${error.message}`);
      } else if (uncounted) {
        // Refused for lack of a slot, or closed to make room for others:
        // the peer was told (or is gone); nothing to report.
        debug(
          error instanceof Busy
            ? `test ${test} refused: ${maxTests} tests running`
            : `test ${test} closed before TEST_START to make room for other handshakes`,
        );
      } else {
        const failure = error instanceof Aborted
          ? new InterruptedError(ERROR_CODES.IESERVERTERM)
          : error;
        observer?.serverEvent({ kind: "error", error: failure, test });
        onTestError(failure, test);
      }
    } finally {
      handshake[Symbol.dispose]();
      emit({ kind: "ended" }, test);
      if (entered) active--;
      armIdle();
      if (options.oneOff && counted) {
        closeListener();
      } else if (!signal.aborted && active === 0) {
        emit({ kind: "listening", port, testNumber: nextTest });
      }
    }
  }

  /**
   * The accept loop. Only closing the listener ends it: an error on one
   * connection (a reset before accept returned it) skips that connection,
   * and running out of descriptors sheds the oldest handshakes and backs
   * off, keeping the listener, until descriptors come back.
   */
  async function acceptLoop(): Promise<void> {
    let backoffMs = 0;
    while (!listenerClosed) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (listenerClosed || error instanceof Deno.errors.BadResource) break;
        observer?.serverEvent({ kind: "accept-error", error });
        if (!outOfResources(error)) {
          debug(`accept: ${osReason(error)} (connection skipped)`);
          continue;
        }
        const shed = handshakes.shedOldest(
          Math.max(1, Math.ceil(handshakes.size / 4)),
        );
        backoffMs = Math.min(
          Math.max(backoffMs * 2, 10),
          ACCEPT_BACKOFF_MAX_MS,
        );
        if (backoffMs === 10 || shed > 0) {
          options.warn?.(
            `unable to accept connection: ${
              osReason(error)
            }; closed ${shed} waiting handshake${
              shed === 1 ? "" : "s"
            }, retrying in ${backoffMs} ms`,
          );
        }
        await delay(backoffMs, { signal }).catch(() => {});
        continue;
      }
      backoffMs = 0;
      const task = handle(conn).catch((error) => {
        // handle() reports test errors itself; anything else is a bug, not
        // a reason to stop serving.
        debug(`connection handler failed: ${osReason(error)}`);
      }).finally(() => tasks.delete(task));
      tasks.add(task);
    }
  }

  observer?.serverEvent({
    kind: "serving",
    port,
    handshakes: () => handshakes.size,
  });
  emit({ kind: "listening", port, testNumber: nextTest });
  armIdle();
  try {
    await acceptLoop();
  } finally {
    clearTimeout(idleTimer);
    signal.removeEventListener("abort", closeListener);
    closeListener();
    handshakes.closeAll();
    await Promise.allSettled(tasks);
    threads?.close();
  }
}

/** The OS is out of descriptors or memory for a new connection (`accept` EMFILE, ENFILE, ENOBUFS, ENOMEM). */
function outOfResources(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (
    code === "EMFILE" || code === "ENFILE" || code === "ENOBUFS" ||
    code === "ENOMEM"
  ) {
    return true;
  }
  return /os error (23|24|105|12)\)/.test(String(error));
}

/** The client said IPERF_DONE before its test started: it gave up on its side. */
class ClientLeft extends Error {
  constructor() {
    super("The client ended the test before it started (IPERF_DONE)");
    this.name = "ClientLeft";
  }
}

/**
 * Why a test that never reached TEST_START was turned away, for the
 * observer; undefined when it failed for another reason.
 */
function refusal(
  error: unknown,
  shed: boolean,
  test?: number,
): ServerEvent | undefined {
  const numbered = test === undefined ? {} : { test };
  if (error instanceof Busy) {
    return { kind: "refused", reason: "busy", ...numbered };
  }
  if (shed) return { kind: "refused", reason: "shed", ...numbered };
  if (error instanceof HandshakeTimeout) {
    return { kind: "handshake-timeout", step: error.step, ...numbered };
  }
  if (error instanceof ParamError) {
    const reason = error.code === ERROR_CODES.IEAUTHTEST
      ? "auth"
      : "parameters";
    return { kind: "refused", reason, ...numbered };
  }
  return undefined;
}

/** A handshake step that got nothing from the peer in time (its connection is closed). */
class HandshakeTimeout extends ProtocolError {
  /** The step that timed out. */
  readonly step: HandshakeStep;

  constructor(
    step: HandshakeStep,
    code: number,
    options: ProtocolErrorOptions,
  ) {
    super(code, options);
    this.name = "HandshakeTimeout";
    this.step = step;
  }
}

/** A test refused at TEST_START because every slot is taken (ACCESS_DENIED was sent). */
class Busy extends Error {
  constructor() {
    super("Cannot start test: every test slot is taken");
    this.name = "Busy";
  }
}

interface SessionContext {
  signal: AbortSignal;
  emit: EventSink;
  interval: number;
  handoffs: Map<string, StreamHandoff>;
  serverOutput: (() => { text?: string; json?: unknown }) | undefined;
  debug: (message: string) => void;
  /** Where UDP tests bind their socket: the listener's address and port. */
  listenAddr: Deno.NetAddr;
  /** The server's UDP port, shared by the UDP tests that run at once. */
  udpHub: UdpHub;
  /** The server's limits and timeouts. */
  options: ServeOptions;
  /** This test's handshake: touched on progress, shed to make room. */
  handshake: Handshake;
  /** How long each handshake step may wait, ms. */
  handshakeMs: number;
  /** Ends the handshake and takes a test slot; false when every slot is taken. */
  enter: () => boolean;
  /** Permits to read a results frame, shared by the server's tests. */
  resultsReaders: Semaphore;
  /** The data-plane threads the server's tests share, where libc is there. */
  threads: ThreadPool | undefined;
}

/** Socket numbers iperf3 typically prints on a Linux server: 5, 8, 11, ... */
function serverSocket(index: number): number {
  return 5 + 3 * index;
}

/**
 * One test, from the cookie to IPERF_DONE, in protocol order.
 *
 * @throws {IperfError} when the test fails; the server goes on
 */
async function runServerSession(
  control: Deno.TcpConn,
  cookie: string,
  ctx: SessionContext,
): Promise<void> {
  const { emit, debug } = ctx;
  const send = stateSender(control, debug);
  const stop = abortPromise(ctx.signal);
  const streams: DataStream[] = [];
  let run: TestRun | undefined;
  // Set while data moves; a shutdown then reports a partial summary.
  let running: TestRun | undefined;
  // The pending read of the client's next state byte, once streams are set up.
  let nextFromClient: Promise<number> | undefined;
  // Whether this test holds a share of the server's UDP port.
  let hubHeld = false;
  let params: TestParams | undefined;
  try {
    control.setNoDelay(true);
    if (ctx.options.keepAlive) {
      control.setKeepAlive(true);
      const ka = ctx.options.keepAliveSettings;
      const native = nativeSockets();
      const socket = native && ka && locateTcp(native, control);
      if (socket && ka) applyKeepAlive(socket, ka);
    }
    await send(STATES.PARAM_EXCHANGE);
    const wire = await unlessAborted(
      withTimeout(
        readJsonFrame(control, {
          maxSize: DEFAULT_MAX_JSON_SIZE,
          code: ERROR_CODES.IERECVPARAMS,
        }),
        ctx.handshakeMs,
        control,
        "parameters",
      ),
      stop.promise,
    );
    ctx.handshake.touch();
    debug(`received parameters ${JSON.stringify(wire)}`);
    try {
      params = decodeParams(wire);
      checkServerLimits(params, ctx.options);
      checkCredentials(params, ctx.options.auth, debug);
    } catch (error) {
      if (error instanceof ParamError) {
        await sendServerError(control, error.code);
      }
      throw error;
    }
    const p = params;
    const native = nativeSockets();
    const tuning: SocketTuning = {
      window: p.window,
      tos: p.tos,
      congestion: p.congestion,
      userTimeoutMs: ctx.options.sendTimeoutMs ?? 0,
      fqRate: p.fqRate,
    };
    // UDP tests share the server's port, whose socket keeps its defaults
    // (a test's -w is not applied to it).
    const buffers = native?.probeBuffers(
      control.localAddr.hostname,
      p.protocol === "udp" ? 0 : p.window,
      p.protocol === "udp",
    );
    emit({
      kind: "accepted",
      remote: toEndpoint(control.remoteAddr),
      cookie,
      params: p,
      ...(p.protocol === "tcp" && !native
        ? { noTcpInfo: nativeUnavailableReason() ?? "" }
        : {}),
      ...(buffers ? { buffers } : {}),
    });
    let congestionUsed: string | undefined;

    // TCP data connections arrive on the same listener; the accept loop hands
    // over the ones that carry this test's cookie. UDP streams announce
    // themselves with a datagram on a socket bound to the same port, which
    // must be open before CREATE_STREAMS (the client sends at once).
    const count = streamCount(p);
    // A Worker takes about 50 ms to start: its threads start while the
    // streams set up (UDP datagrams would otherwise queue, and drop, meanwhile).
    const warm = ctx.threads?.prepare(count);
    const arrived: (Deno.TcpConn | Deno.NetAddr)[] = [];
    let wake = () => {};
    ctx.handoffs.set(cookie, (conn) => {
      arrived.push(conn);
      wake();
    });
    let udpSocket: UdpSocket | undefined;
    let endUdpSetup: (() => void) | undefined;
    // --latency: this test's probes are answered on the server's UDP port.
    let echo: EchoRegistration | undefined;
    try {
      if (p.protocol === "udp") {
        try {
          udpSocket = ctx.udpHub.acquire();
          hubHeld = true;
        } catch (error) {
          await sendServerError(control, ERROR_CODES.IESTREAMLISTEN);
          throw new IperfError(ERROR_CODES.IESTREAMLISTEN, {
            detail: osReason(error),
            cause: error,
          });
        }
        // Until every stream has said hello, unknown senders are ours: the
        // hello carries no cookie, so set-ups take turns.
        const hub = ctx.udpHub;
        let helloed = 0;
        endUdpSetup = await unlessAborted(
          hub.setUp(toEndpoint(control.remoteAddr).hostname, (from) => {
            if (helloed >= count) return;
            helloed++;
            hub.claim(from);
            // The reply goes out below, once the stream's own socket (when
            // the threads take it) is connected: the client sends its next
            // stream's hello as soon as it reads the reply, and a hello that
            // arrived while a new socket was bound but not yet connected
            // would be that socket's, not the hub's, and lost.
            arrived.push(from);
            wake();
          }),
          stop.promise,
        );
      }
      if (p.latency) {
        echo = answerProbes(ctx, cookie, control, hubHeld, debug);
        if (echo) hubHeld = true;
      }
      await send(STATES.CREATE_STREAMS);
      const controlClosed = readState(control);
      controlClosed.catch(() => {});
      nextFromClient = controlClosed;
      // All streams within STREAM_ACCEPT_TIMEOUT_MS, and none more than a
      // handshake step after the one before: a peer that stops connecting
      // is dropped early.
      const deadline = performance.now() + STREAM_ACCEPT_TIMEOUT_MS;
      let progress = performance.now();
      while (streams.length < count) {
        while (arrived.length === 0) {
          const now = performance.now();
          const remaining = Math.min(deadline, progress + ctx.handshakeMs) -
            now;
          if (remaining <= 0) {
            throw new HandshakeTimeout("streams", ERROR_CODES.IESTREAMACCEPT, {
              detail: now >= deadline
                ? `${streams.length} of ${count} streams connected in ${
                  STREAM_ACCEPT_TIMEOUT_MS / 1000
                } s`
                : `${streams.length} of ${count} streams connected, then none for ${
                  ctx.handshakeMs / 1000
                } s`,
            });
          }
          const woken = new Promise<void>((resolve) => {
            wake = resolve;
          });
          const timer = new AbortController();
          try {
            await Promise.race([
              woken,
              delay(remaining, { signal: timer.signal }),
              controlClosed.then((state) => {
                if (state === STATES.CLIENT_TERMINATE) {
                  throw new InterruptedError(ERROR_CODES.IECLIENTTERM);
                }
                // A client that failed on its side (a -F file it cannot
                // open, a -w above the kernel's limit) says IPERF_DONE and
                // leaves: iperf3's server ends the test without a word.
                if (state === STATES.IPERF_DONE) throw new ClientLeft();
                throw new ProtocolError(ERROR_CODES.IEMESSAGE, {
                  detail: `received "${
                    stateName(state)
                  }" while streams were connecting`,
                });
              }),
              stop.promise,
            ]);
          } finally {
            timer.abort();
          }
        }
        const next = arrived.shift() as Deno.TcpConn | Deno.NetAddr;
        progress = performance.now();
        ctx.handshake.touch();
        const i = streams.length;
        const base = {
          id: streamId(i),
          socket: serverSocket(i),
          sender: sendsOn(p, "server", i),
        };
        let stream: DataStream;
        if ("transport" in next && udpSocket) {
          const local = {
            hostname: toEndpoint(control.localAddr).hostname,
            port: ctx.listenAddr.port,
          };
          stream = {
            ...base,
            udp: {
              socket: udpSocket,
              peer: next,
              hub: ctx.udpHub,
              ...ownUdpSocket(ctx.threads, local, next, tuning),
            },
            local,
            remote: toEndpoint(next),
          };
          ctx.udpHub.send(UDP_CONNECT_REPLY, next).catch(() => {});
        } else {
          const conn = next as Deno.TcpConn;
          conn.setNoDelay(p.noDelay);
          stream = {
            ...base,
            conn,
            local: toEndpoint(conn.localAddr),
            remote: toEndpoint(conn.remoteAddr),
          };
          const probe = native && locateTcp(native, conn);
          if (probe) {
            stream.probe = probe;
            try {
              const r = applyAfterConnect(probe, tuning, {
                buffers: true,
                server: true,
                tcp: true,
              });
              if (r.warning) ctx.options.warn?.(r.warning);
              congestionUsed ??= r.congestion;
            } catch (error) {
              closeQuietly(conn);
              throw error;
            }
          }
        }
        streams.push(stream);
        emit({
          kind: "stream",
          id: stream.id,
          socket: stream.socket,
          sender: stream.sender,
          local: stream.local,
          remote: stream.remote,
        });
      }
      endUdpSetup?.();
      endUdpSetup = undefined;
      await warm;
      // --latency: the client measures the idle path now, with its probes,
      // so TEST_START waits for its last idle probe (at most a second).
      if (echo) await idleProbes(echo, controlClosed, stop.promise);
      // The control read started above is the one the run phase waits on.
      const testRun = await openRun(control, () =>
        new TestRun(streams, {
          params: p,
          role: "server",
          interval: ctx.interval,
          emit,
          receiveTimeoutMs: ctx.options.receiveTimeoutMs ??
            DEFAULT_RECEIVE_TIMEOUT_MS,
          sendTimeoutMs: ctx.options.sendTimeoutMs ?? 0,
          bitrateLimit: ctx.options.bitrateLimit ?? 0,
          bitrateLimitWindow: ctx.options.bitrateLimitWindow ?? 5,
          tcpInfo: p.protocol === "tcp" &&
            streams.every((s) => s.probe !== undefined),
          ...(congestionUsed === undefined ? {} : { congestionUsed }),
          ...(ctx.threads ? { threads: ctx.threads } : {}),
          ...(ctx.options.file !== undefined ? { file: ctx.options.file } : {}),
        }));
      run = testRun;
      // The handshake is over: from here the test holds a slot, if one is
      // free (tests in their handshake hold none).
      if (!ctx.enter()) {
        await send(STATES.ACCESS_DENIED).catch(() => {});
        throw new Busy();
      }
      // The streams' clocks start as TEST_START goes out (iperf3 calls
      // iperf_init_test right after writing it), not a turn of the event
      // loop later: the client's test may start before that turn comes.
      testRun.begin();
      await send(STATES.TEST_START);
      emit({ kind: "start" });
      await send(STATES.TEST_RUNNING);
      await testRun.run();
      running = testRun;
      ctx.handoffs.delete(cookie);

      const watchdog = new AbortController();
      const limit = p.time > 0
        ? delay((p.time + p.omit + WATCHDOG_GRACE_S) * 1000, {
          signal: watchdog.signal,
        }).then(() => {
          throw new IperfError(ERROR_CODES.IENOMSG, {
            detail: "the test ran past its duration",
          });
        })
        : new Promise<never>(() => {});
      limit.catch(() => {});
      let state: number;
      try {
        await Promise.race([
          controlClosed,
          streamFailureUnlessMessage(testRun.failed, controlClosed),
          limit,
          stop.promise,
        ]);
        state = await controlClosed;
        debug(`received state ${stateName(state)}`);
      } finally {
        watchdog.abort();
      }
      running = undefined;
      // Bytes the client wrote before TEST_END may still sit in our socket
      // buffers: read them before closing, as part of the test.
      await testRun.finish({ drainReceivers: state === STATES.TEST_END });
      await testRun.close();
      const local = testRun.summaryInput();
      if (state === STATES.CLIENT_TERMINATE) {
        emit({ kind: "terminated", by: "client" });
        emit({ kind: "summary", summary: summarize(local) });
        throw new InterruptedError(ERROR_CODES.IECLIENTTERM);
      }
      if (state !== STATES.TEST_END) {
        throw new ProtocolError(ERROR_CODES.IEMESSAGE, {
          expected: "TEST_END",
          received: stateName(state),
          detail: `expected state "TEST_END", received "${stateName(state)}"`,
        });
      }
      // iperf3 prints the server's summary before the exchange, so its
      // output never contains the client's numbers.
      emit({ kind: "summary", summary: summarize(local) });
      await send(STATES.EXCHANGE_RESULTS);
      // A client's results are small (about 150 bytes a stream); reading
      // them takes one of a few server-wide permits, so what peers make the
      // server hold in results frames stays bounded however many tests run.
      const permit = await unlessAborted(
        ctx.resultsReaders.acquire(AbortSignal.timeout(ctx.handshakeMs)),
        stop.promise,
      ).catch((error) => {
        if (error instanceof Aborted) throw error;
        throw new ProtocolError(ERROR_CODES.IERECVRESULTS, {
          detail: "the server is busy reading other tests' results",
          cause: error,
        });
      });
      let clientResults;
      try {
        clientResults = decodeResults(
          await unlessAborted(
            withTimeout(
              readJsonFrame(control, {
                maxSize: MAX_CLIENT_RESULTS_SIZE,
                code: ERROR_CODES.IERECVRESULTS,
              }),
              ctx.handshakeMs,
              control,
            ),
            stop.promise,
          ),
        );
      } finally {
        permit();
      }
      if (clientResults.streams.length > streams.length) {
        throw new ProtocolError(ERROR_CODES.IERECVRESULTS, {
          detail:
            `results for ${clientResults.streams.length} streams, the test has ${streams.length}`,
        });
      }
      for (const s of clientResults.streams) {
        if (!streams.some((own) => own.id === s.id)) {
          throw new ProtocolError(ERROR_CODES.IESTREAMID, {
            detail: `stream id ${s.id} is not one of this test's`,
          });
        }
      }
      const results = testRun.results();
      if (p.getServerOutput && ctx.serverOutput) {
        const own = ctx.serverOutput();
        if (own.json !== undefined) results.serverOutputJson = own.json;
        else if (own.text !== undefined) results.serverOutputText = own.text;
      }
      const wireResults = encodeResults(results);
      debug(`send results ${JSON.stringify(wireResults)}`);
      await writeAll(control, encodeJsonFrame(wireResults));
      await send(STATES.DISPLAY_RESULTS);
      // IPERF_DONE, or the client simply closing, ends the test.
      await unlessAborted(
        withTimeout(readState(control), ctx.handshakeMs, control),
        stop.promise,
      ).catch((error) => {
        if (error instanceof Aborted) throw error;
      });
    } finally {
      echo?.[Symbol.dispose]();
      ctx.handoffs.delete(cookie);
      for (const conn of arrived) {
        if (!("transport" in conn)) closeQuietly(conn);
      }
      endUdpSetup?.();
    }
  } catch (error) {
    if (!(error instanceof Aborted)) {
      // Our own reasons for ending a running test (a timeout, the rate
      // limit, a broken stream) are told to the client with iperf3's number,
      // as iperf3 3.21 does; a client that broke the protocol or left is not.
      if (
        running && error instanceof IperfError &&
        SERVER_ERROR_CODES.has(error.code)
      ) {
        await sendServerError(control, error.code);
      }
      throw error;
    }
    // The server is shutting down: tell the client first (before its data
    // sockets close under it), then report what we have.
    await writeAll(control, encodeState(STATES.SERVER_TERMINATE)).catch(
      () => {},
    );
    if (running) {
      // Give the client a moment to read SERVER_TERMINATE (it answers and
      // closes) before its data streams break under it.
      const grace = new AbortController();
      await Promise.race([
        nextFromClient?.catch(() => {}),
        delay(TERMINATE_GRACE_MS, { signal: grace.signal }).catch(() => {}),
      ]);
      grace.abort();
      await running.finish();
      await running.close();
      emit({
        kind: "summary",
        summary: summarize(running.summaryInput()),
      });
    }
    throw error;
  } finally {
    stop.dispose();
    await run?.close();
    for (const s of streams) if (s.conn) closeQuietly(s.conn);
    // A stream's own UDP socket, when no TestRun closed it.
    for (const s of streams) s.udp?.connected?.close();
    if (hubHeld) {
      for (const s of streams) if (s.udp) ctx.udpHub.unroute(s.udp.peer);
      await ctx.udpHub.release();
    }
    closeQuietly(control);
  }
}

/** The longest the server holds TEST_START for a `--latency` client's idle probes. */
export const IDLE_PROBE_HOLD_MS = 1000;

/**
 * Starts answering a `--latency` test's probes on the server's UDP port,
 * taking a share of the port unless the test holds one (`held`). Where the
 * port cannot be bound, the test goes on without (the client then says that
 * the server does not answer).
 *
 * @returns the registration, or undefined without the port
 */
function answerProbes(
  ctx: SessionContext,
  cookie: string,
  control: Deno.TcpConn,
  held: boolean,
  debug: (message: string) => void,
): EchoRegistration | undefined {
  if (!held) {
    try {
      ctx.udpHub.acquire();
    } catch (error) {
      debug(`latency probes not answered: ${osReason(error)}`);
      return undefined;
    }
  }
  return ctx.udpHub.echo(cookie, toEndpoint(control.remoteAddr).hostname);
}

/**
 * Waits for the client's last idle probe (answered by the hub), at most
 * {@linkcode IDLE_PROBE_HOLD_MS}; a client that leaves or a server that
 * stops ends the wait too.
 */
async function idleProbes(
  echo: EchoRegistration,
  controlClosed: Promise<number>,
  stop: Promise<never>,
): Promise<void> {
  const timer = new AbortController();
  try {
    await Promise.race([
      echo.idleDone,
      delay(IDLE_PROBE_HOLD_MS, { signal: timer.signal }),
      controlClosed.then(() => {}, () => {}),
      stop,
    ]);
  } finally {
    timer.abort();
  }
}

/**
 * A threaded UDP stream's own socket (iperf3's `iperf_udp_accept`): bound
 * beside the shared port and connected to the client, so Linux hands that
 * peer's datagrams to it instead of the hub and a data-plane thread can
 * move them; `-w` and `-S` are set on it. Without threads, or when the
 * socket cannot be made, the stream stays on the hub (the in-process
 * loops). The session owns the socket (see `DataStream.udp.connected`).
 *
 * @throws {IperfError} when the kernel refuses `-w` or `-S` (the socket is closed)
 */
function ownUdpSocket(
  threads: ThreadPool | undefined,
  local: { hostname: string; port: number },
  peer: Deno.NetAddr,
  tuning: SocketTuning,
): { connected?: ConnectedUdp } {
  const native = nativeSockets();
  if (!threads || !native) return {};
  let connected: ConnectedUdp;
  try {
    connected = openConnectedUdp(local, peer);
  } catch {
    return {};
  }
  try {
    const socket = new StreamSocket(native, connected.fd, "udp", {
      transport: "udp",
      ...local,
    });
    applyAfterConnect(socket, tuning, {
      buffers: true,
      server: true,
      tcp: false,
    });
  } catch (error) {
    connected.close();
    throw error;
  }
  return { connected };
}

/**
 * A server with `--rsa-private-key-path` refuses a test without good
 * credentials: SERVER_ERROR with iperf3's 142, "test authorization failed".
 *
 * @throws {ParamError} IEAUTHTEST, with the reason for the server's log
 */
function checkCredentials(
  p: TestParams,
  auth: ServerAuth | undefined,
  debug: (message: string) => void,
): void {
  if (!auth) return;
  const check = checkAuthToken(p.authToken, auth.privateKeyPem, auth.users, {
    ...(auth.skew === undefined ? {} : { skew: auth.skew }),
    ...(auth.pkcs1 ? { pkcs1: true } : {}),
  });
  if (!check.ok) throw new ParamError(ERROR_CODES.IEAUTHTEST, check.reason);
  debug(`Authentication succeeded for user '${check.user}' ts ${check.ts}`);
}

/**
 * Creates the test's run. A `-F` file that cannot be opened is told to the
 * client as SERVER_ERROR IEFILE (iperf3's server only closes the control
 * connection), then thrown.
 */
async function openRun(
  control: Deno.Conn,
  create: () => TestRun,
): Promise<TestRun> {
  try {
    return create();
  } catch (error) {
    if (error instanceof IperfError && error.code === ERROR_CODES.IEFILE) {
      await sendServerError(control, error.code);
    }
    throw error;
  }
}

/** Failures the server reports to the client in SERVER_ERROR. */
const SERVER_ERROR_CODES: ReadonlySet<number> = new Set([
  ERROR_CODES.IENOMSG,
  ERROR_CODES.IETOTALRATE,
  ERROR_CODES.IESTREAMREAD,
  ERROR_CODES.IESTREAMWRITE,
]);

/** iperf3's default receive timeout: 120 s without data ends a test. */
export const DEFAULT_RECEIVE_TIMEOUT_MS = 120_000;

/**
 * The server's own limits on what a client may ask for (iperf3's
 * `--server-bitrate-limit` and `--server-max-duration` checks).
 *
 * @throws {ParamError} IEUDPFILETRANSFER, IETOTALRATE or IEMAXSERVERTESTDURATION
 */
function checkServerLimits(p: TestParams, options: ServeOptions): void {
  if (options.file !== undefined && p.protocol === "udp") {
    throw new ParamError(
      ERROR_CODES.IEUDPFILETRANSFER,
      `a UDP test, and this server moves the -F file "${options.file}"`,
    );
  }
  const limit = options.bitrateLimit ?? 0;
  const streams = streamCount(p);
  if (limit && p.bandwidth * streams > limit) {
    throw new ParamError(
      ERROR_CODES.IETOTALRATE,
      `${p.bandwidth * streams} bits/s asked for, ${limit} allowed`,
    );
  }
  const max = options.maxDuration ?? 0;
  if (max && (p.time === 0 || p.time + p.omit > max)) {
    throw new ParamError(
      ERROR_CODES.IEMAXSERVERTESTDURATION,
      p.time === 0
        ? "a test without a time limit"
        : `${p.time + p.omit} s asked for, ${max} s allowed`,
    );
  }
}

/**
 * Waits for `work`, closing `conn` (which ends the pending read) if it takes
 * longer than `ms`; the timeout of a handshake `step` is a
 * {@linkcode HandshakeTimeout}.
 */
async function withTimeout<T>(
  work: Promise<T>,
  ms: number,
  conn: Deno.Conn,
  step?: HandshakeStep,
): Promise<T> {
  work.catch(() => {});
  const timer = new AbortController();
  let timedOut = false;
  const timeout = delay(ms, { signal: timer.signal }).then(() => {
    timedOut = true;
    closeQuietly(conn);
  });
  timeout.catch(() => {});
  try {
    return await work;
  } catch (error) {
    if (timedOut) {
      const options = {
        detail: `nothing received for ${ms / 1000} s`,
        cause: error,
      };
      throw step === undefined
        ? new ProtocolError(ERROR_CODES.IENOMSG, options)
        : new HandshakeTimeout(step, ERROR_CODES.IENOMSG, options);
    }
    throw error;
  } finally {
    timer.abort();
  }
}
