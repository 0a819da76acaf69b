/**
 * The client control coroutine: one async function that reads top to bottom
 * in protocol order (iperf3 `iperf_run_client`, without its state machine).
 *
 * @module
 */

import dns from "node:dns/promises";
import { isIP } from "node:net";
import {
  AccessDeniedError,
  ERROR_CODES,
  errorText,
  InterruptedError,
  IperfError,
  osReason,
  ProtocolError,
  ServerError,
  StreamError,
} from "../errors.ts";
import type { EventSink } from "../events.ts";
import { type Reader, writeAll } from "../net/io.ts";
import {
  encodeCookie,
  encodeJsonFrame,
  encodeState,
  makeCookie,
  readJsonFrame,
  readServerErrorPayload,
  readState,
  type ServerErrorPayload,
} from "../protocol/codec.ts";
import { encodeParams, type TestParams } from "../protocol/params.ts";
import {
  decodeResults,
  encodeResults,
  MAX_RESULTS_SIZE,
  type TestResults,
} from "../protocol/results.ts";
import { stateName, STATES } from "../protocol/states.ts";
import { summarize, type TestSummary } from "../stats/summary.ts";
import {
  Aborted,
  abortPromise,
  stateSender,
  streamFailureUnlessMessage,
  toEndpoint,
  unlessAborted,
} from "./_control.ts";
import { withDeadline } from "./_deadline.ts";
import { sendsOn, streamCount } from "./_streams.ts";
import { DEFAULT_DATA_THREADS, ThreadPool } from "../dataplane/thread_pool.ts";
import { connectBound } from "../net/bound_conn.ts";
import {
  type NativeSockets,
  nativeSockets,
  nativeUnavailableReason,
  SOCKOPT,
} from "../net/native.ts";
import {
  applyAfterConnect,
  applyKeepAlive,
  bindStreamToDevice,
  connectTuned,
  type KeepAliveSettings,
  locateTcp,
  locateUdp,
  type SocketTuning,
  type StreamSocket,
} from "../net/stream_socket.ts";
import { sameEndpoint, UdpSocket } from "../net/datagram.ts";
import { isConnectReply, UDP_CONNECT_MSG } from "../protocol/udp_header.ts";
import { closeQuietly, type StreamConn } from "../net/conn.ts";
import { type DataStream, streamId, TestRun } from "./test_run.ts";
import { LatencyMonitor, type TcpRttSampler } from "./_latency_monitor.ts";

/** Everything the client needs to run one test. */
export interface ClientConfig {
  /** The server's host name or address, as given on the command line. */
  host: string;
  /** The server's port. */
  port: number;
  /** The test to ask for. */
  params: TestParams;
  /** Seconds between interval reports, 0 for none (`-i`). */
  interval: number;
  /** Only IPv4 (`-4`) or only IPv6 (`-6`). */
  family?: 4 | 6;
  /** Control connection timeout in milliseconds (`--connect-timeout`). */
  connectTimeoutMs?: number;
  /** Local address for every connection (`-B`). */
  bindAddress?: string;
  /** The data streams' network interface (`--bind-dev`, SO_BINDTODEVICE). */
  bindDevice?: string;
  /** MPTCP data streams (`-m`, IPPROTO_MPTCP). */
  mptcp?: boolean;
  /** Local port of the first data stream; stream i uses `cport + i` (`--cport`). */
  cport?: number;
  /**
   * How long the server may stay silent (`--rcv-timeout`, ms): receiving
   * streams that get nothing for this long end the test (default
   * {@linkcode DEFAULT_RECEIVE_TIMEOUT_MS}), and so does every wait on the
   * control connection (default {@linkcode HANDSHAKE_TIMEOUT_MS} per
   * handshake step, {@linkcode resultsTimeoutMs} in the results exchange).
   */
  receiveTimeoutMs?: number;
  /** End the test when sending streams get nothing out for this long (`--snd-timeout`, ms). */
  sendTimeoutMs?: number;
  /** TCP keepalive on the control connection (`--cntl-ka`). */
  keepAlive?: boolean;
  /** `--cntl-ka=IDLE/INTVL/CNT` timings (0: the system's); need libc. */
  keepAliveSettings?: KeepAliveSettings;
  /** Threads that move the streams' bytes (`--data-threads`); 0 for the in-process loops; default: see `defaultDataThreads`. */
  dataThreads?: number;
  /** UDP: `-l` was not given, so datagrams take the control connection's MSS where it is known (as iperf3). */
  defaultLength?: boolean;
  /** `-F`: sending streams read this file, receiving streams write it (TCP only; the in-process loops move the test). */
  file?: string;
}

/** Options of {@linkcode runClientSession}. */
export interface ClientSessionOptions {
  /** Interrupts the test: CLIENT_TERMINATE is sent and a partial summary reported. */
  signal?: AbortSignal;
  /** Receives the session's events (connected, stream, interval, summary, done). */
  emit?: EventSink;
  /** Receives a trace of the control protocol (`-d`). */
  debug?: (message: string) => void;
  /** Receives warnings (iperf3 prints them as `warning: ...` on stderr). */
  warn?: (message: string) => void;
}

/** What a finished client test produced. */
export interface ClientOutcome {
  /** The test's cookie. */
  cookie: string;
  /** Totals merged with the server's results. */
  summary: TestSummary;
  /** The server's results as received. */
  serverResults: TestResults;
}

/**
 * How long the client waits for each handshake message from the server
 * (PARAM_EXCHANGE, CREATE_STREAMS, TEST_START, TEST_RUNNING, the payload of
 * a SERVER_ERROR) when `--rcv-timeout` is not given. A working server sends
 * each within milliseconds of what prompts it; iperf3 waits forever.
 */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/** The receive timeout of the client's receiving streams when `--rcv-timeout` is not given (iperf3's default). */
export const DEFAULT_RECEIVE_TIMEOUT_MS = 120_000;

/**
 * How long each step of the results exchange (EXCHANGE_RESULTS after
 * TEST_END, the server's results, DISPLAY_RESULTS) waits for the server.
 *
 * `--rcv-timeout`, when given, is the user's own bound on a silent server.
 * Otherwise the test's length, but at least {@linkcode HANDSHAKE_TIMEOUT_MS}:
 * a server answers TEST_END only once its streams have wound down (a sender's
 * last writes drain through whatever the path buffered, a receiver reads what
 * is still in flight, then come CPU figures and `--get-server-output` text),
 * and that grows with the test: a long test over a slow, deep-buffered path
 * can leave seconds of data queued. The test's length is a wait the user has
 * already accepted. It is measured (TEST_START to the end), so it also holds
 * for `-n` and `-k`.
 *
 * @param testMs how long the test ran, in milliseconds
 * @param receiveTimeoutMs `--rcv-timeout`, if given
 * @returns the deadline of each results step, in milliseconds
 */
export function resultsTimeoutMs(
  testMs: number,
  receiveTimeoutMs?: number,
): number {
  return receiveTimeoutMs ??
    Math.max(HANDSHAKE_TIMEOUT_MS, Math.ceil(testMs));
}

/** Socket numbers iperf3 typically prints on a Linux client: 5, 7, 9, ... */
function clientSocket(index: number): number {
  return 5 + 2 * index;
}

/**
 * Runs one test against an iperf3-compatible server.
 *
 * @example Usage
 * ```ts ignore
 * import { runClientSession } from "./client.ts";
 * const outcome = await runClientSession({ host: "127.0.0.1", port: 5201, interval: 1, params });
 * ```
 *
 * @param config server, test and reporting interval
 * @param options abort signal and event sink
 * @returns the merged results
 * @throws {IperfError} with iperf3's error number on any failure; `IENOMSG`
 *   naming the awaited step when the server stays silent past a deadline
 * @throws {InterruptedError} when `signal` aborted the test
 */
export async function runClientSession(
  config: ClientConfig,
  options: ClientSessionOptions = {},
): Promise<ClientOutcome> {
  const signal = options.signal ?? new AbortController().signal;
  const emit = options.emit ?? (() => {});
  const debug = options.debug ?? (() => {});
  let params = config.params;
  if (signal.aborted) throw new InterruptedError(ERROR_CODES.IECLIENTTERM);

  const native = nativeSockets();
  if (!native) refuseSocketOptions(params, config);
  // The data-plane threads (where libc is there); closed at the end.
  const threadCount = config.dataThreads ?? DEFAULT_DATA_THREADS;
  if (params.protocol === "udp" && (params.gso || params.gro)) {
    refuseGsro(native !== undefined, threadCount);
  }
  const threads = native && threadCount > 0
    ? new ThreadPool(native, threadCount)
    : undefined;
  // A Worker takes about 50 ms to start: the threads start while the
  // control connection and the streams set up.
  const warm = threads?.prepare(streamCount(params));
  const stop = abortPromise(signal);
  let control: StreamConn | undefined;
  let run: TestRun | undefined;
  let monitor: LatencyMonitor | undefined;
  const streams: DataStream[] = [];
  // Ends every pending read: a deadline that passes, and every exit path.
  const closeAll = () => {
    for (const s of streams) {
      if (s.conn) closeQuietly(s.conn);
      s.udp?.socket.close();
    }
    if (control) closeQuietly(control);
  };
  try {
    const address = await unlessAborted(
      resolveHost(config.host, config.family),
      stop.promise,
    );
    control = await unlessAborted(
      connect(address, config.port, {
        timeoutMs: config.connectTimeoutMs,
        localAddress: config.bindAddress,
        code: ERROR_CODES.IECONNECT,
      }),
      stop.promise,
    );
    const ctl = control;
    // The control connection's socket, where libc can reach it.
    const ctlSocket = native && locateTcp(native, ctl);
    if (config.keepAlive) {
      ctl.setKeepAlive?.(true);
      const ka = config.keepAliveSettings;
      if (ka && (ka.idle || ka.interval || ka.count)) {
        if (ctlSocket) {
          const set = applyKeepAlive(ctlSocket, ka);
          debug(
            `control connection TCP keepalive TCP_KEEPIDLE/TCP_KEEPINTVL/TCP_KEEPCNT are set to ${set.idle}/${set.interval}/${set.count}`,
          );
        }
      }
    }
    // Every wait on the server is a step with a deadline: when it passes, the
    // sockets close (which ends the pending read) and the client gives up
    // with one line naming what it waited for. An abort still wins at once.
    const handshakeMs = config.receiveTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
    const awaitServer = <T>(work: Promise<T>, step: Step): Promise<T> =>
      withDeadline(unlessAborted(work, stop.promise), {
        ms: step.ms,
        onTimeout: () => {
          closeAll();
          return new IperfError(ERROR_CODES.IENOMSG, {
            detail: silence(step),
          });
        },
      });
    const serverError = () => {
      const seen = new ReadRecord(ctl);
      return awaitServer(readServerErrorPayload(seen), {
        awaited: `the "SERVER_ERROR" payload`,
        ms: handshakeMs,
        progress: () => errorPayloadProgress(seen),
      });
    };
    const receive = async (wanted: number, ms = handshakeMs) => {
      const got = await awaitServer(traceState(readState(ctl), debug), {
        awaited: `"${stateName(wanted)}"`,
        ms,
      });
      await expect(got, wanted, serverError);
    };
    const send = stateSender(ctl, debug);

    const cookie = makeCookie();
    await writeAll(ctl, encodeCookie(cookie));
    // iperf3 reads the control connection's MSS (0 when it cannot) and
    // sizes default UDP datagrams to it.
    const controlMss = controlConnectionMss(ctlSocket || undefined);
    if (params.protocol === "udp") {
      if (config.defaultLength && controlMss > 0) {
        params = { ...params, length: controlMss };
      }
      if (controlMss > 0 && params.length > controlMss) {
        options.warn?.(
          `UDP block size ${params.length} exceeds TCP MSS ${controlMss}, may result in fragmentation / drops`,
        );
      }
    }
    await receive(STATES.PARAM_EXCHANGE);
    emit({
      kind: "connected",
      host: config.host,
      port: config.port,
      cookie,
      params,
      controlMss,
      ...(params.protocol === "tcp" && !native
        ? { noTcpInfo: nativeUnavailableReason() ?? "" }
        : {}),
    });
    const wireParams = encodeParams(params);
    debug(`send parameters ${JSON.stringify(wireParams)}`);
    await writeAll(ctl, encodeJsonFrame(wireParams));
    await receive(STATES.CREATE_STREAMS);

    const serverAddress = toEndpoint(ctl.remoteAddr).hostname;
    const tuning: SocketTuning = {
      window: params.window,
      mss: params.mss,
      noDelay: params.noDelay,
      tos: params.tos,
      congestion: params.congestion,
      dontFragment: params.dontFragment,
      userTimeoutMs: config.sendTimeoutMs ?? 0,
      fqRate: params.fqRate,
      bindDevice: config.bindDevice,
      mptcp: config.mptcp === true,
      flowLabel: params.flowLabel,
    };
    let congestionUsed: string | undefined;
    let firstBuffers: { sndbuf: number; rcvbuf: number } | undefined;
    const count = streamCount(params);
    for (let i = 0; i < count; i++) {
      const id = streamId(i);
      const sender = sendsOn(params, "client", i);
      const localPort = config.cport === undefined
        ? undefined
        : config.cport + i;
      let stream: DataStream;
      if (params.protocol === "udp") {
        // Bind where the control connection goes out from, so the stream
        // line shows a real local address, as iperf3's connected socket does.
        const bindHost = config.bindAddress ??
          toEndpoint(ctl.localAddr).hostname;
        const peer: Deno.NetAddr = {
          transport: "udp",
          hostname: serverAddress,
          port: config.port,
        };
        if (config.bindDevice !== undefined && !native) {
          throw new StreamError(ERROR_CODES.IESTREAMCONNECT, id, {
            detail:
              "--bind-dev sets a socket option through libc, which needs Linux and --allow-ffi",
          });
        }
        const socket = openUdpSocket(bindHost, localPort ?? 0, id);
        // The descriptor a data-plane thread moves the stream through (a
        // duplicate of it); `socket` owns it.
        let fd: number | undefined;
        if (native) {
          try {
            const found = locateUdp(native, socket.addr);
            fd = found?.fd;
            if (found) {
              applyAfterConnect(found, tuning, {
                buffers: true,
                server: false,
                tcp: false,
              });
              // Before the hello: every datagram goes out of the device.
              if (config.bindDevice !== undefined) {
                bindStreamToDevice(native, found.fd, config.bindDevice);
              }
              firstBuffers ??= found.buffers();
            }
          } catch (error) {
            socket.close();
            throw error;
          }
        }
        stream = {
          id,
          socket: clientSocket(i),
          sender,
          udp: { socket, peer, ...(fd === undefined ? {} : { fd }) },
          local: toEndpoint(socket.addr),
          remote: toEndpoint(peer),
        };
        streams.push(stream);
        await unlessAborted(
          udpConnect(socket, peer, {
            id,
            timeoutMs: config.receiveTimeoutMs ?? UDP_CONNECT_TIMEOUT_MS,
          }),
          stop.promise,
        );
      } else {
        const { conn, probe } = await unlessAborted(
          connectStream(serverAddress, config, {
            native,
            tuning,
            localPort,
            id,
            signal,
          }),
          stop.promise,
        );
        stream = {
          id,
          socket: clientSocket(i),
          sender,
          conn,
          local: toEndpoint(conn.localAddr),
          remote: toEndpoint(conn.remoteAddr),
        };
        if (probe) {
          stream.probe = probe.socket;
          congestionUsed ??= probe.congestion;
          // iperf3 reads them before connecting: a fresh socket's sizes (the
          // kernel grows a connected one's at once).
          firstBuffers ??= native?.probeBuffers(serverAddress, params.window);
        }
        streams.push(stream);
        await writeAll(conn, encodeCookie(cookie));
      }
      emit({
        kind: "stream",
        id: stream.id,
        socket: stream.socket,
        sender: stream.sender,
        local: stream.local,
        remote: stream.remote,
        ...(firstBuffers ? { buffers: firstBuffers } : {}),
      });
    }

    // iperf3's default 120 s applies to our receiving streams (-R, --bidir)
    // too: without it, a -n test whose server sends nothing would never end.
    const receiveMs = config.receiveTimeoutMs ?? DEFAULT_RECEIVE_TIMEOUT_MS;
    await warm;
    // --latency: the probe flow beside the load; each interval report
    // carries its figures.
    monitor = params.latency
      ? openMonitor(params, streams, {
        cookie,
        localHost: config.bindAddress ?? toEndpoint(ctl.localAddr).hostname,
        server: {
          transport: "udp",
          hostname: serverAddress,
          port: config.port,
        },
        ctlSocket: ctlSocket || undefined,
        warn: options.warn,
      })
      : undefined;
    const latency = monitor;
    const runEmit: EventSink = latency
      ? (event) =>
        emit(
          event.kind === "interval"
            ? {
              kind: "interval",
              report: { ...event.report, latency: latency.takeInterval() },
            }
            : event,
        )
      : emit;
    const testRun = new TestRun(streams, {
      params,
      role: "client",
      tcpInfo: params.protocol === "tcp" && streams.every((s) => s.probe),
      ...(congestionUsed === undefined ? {} : { congestionUsed }),
      interval: config.interval,
      emit: runEmit,
      receiveTimeoutMs: receiveMs,
      sendTimeoutMs: config.sendTimeoutMs ?? 0,
      ...(threads ? { threads } : {}),
      ...(config.file !== undefined ? { file: config.file } : {}),
    });
    run = testRun;
    const testStart = awaitServer(traceState(readState(ctl), debug), {
      awaited: `"${stateName(STATES.TEST_START)}"`,
      ms: handshakeMs,
    });
    testStart.catch(() => {});
    // An iperf-ts server holds TEST_START while the client measures the
    // idle path; any other sends it at once, which ends the idle probes.
    if (latency) await latency.idle(testStart);
    await expect(await testStart, STATES.TEST_START, serverError);
    testRun.begin();
    const startedMs = performance.now();
    emit({ kind: "start" });
    await receive(STATES.TEST_RUNNING);
    await testRun.run();
    latency?.startLoaded(startedMs + params.omit * 1000);

    // The run phase: the end condition races the next control message
    // (the server may send SERVER_TERMINATE or SERVER_ERROR at any time).
    const pending = traceState(readState(ctl), debug);
    pending.catch(() => {});
    const endTimer = new AbortController();
    let timeUpDone = false;
    const ended = testRun.timeUp(endTimer.signal).then(() => {
      timeUpDone = true;
    });
    ended.catch(() => {});
    let first: "end" | "message";
    try {
      first = await Promise.race([
        ended.then(() => "end" as const),
        pending.then(() => "message" as const),
        streamFailureUnlessMessage(
          nameDataSilence(testRun.failed, receiveMs),
          pending,
        ),
        stop.promise,
      ]);
    } finally {
      // Only a wait still pending needs cancelling: a process's first
      // abort() costs a millisecond, which would delay TEST_END.
      if (!timeUpDone) endTimer.abort();
    }
    if (first === "message") {
      await testRun.finish();
      const state = await pending;
      if (state === STATES.SERVER_TERMINATE) {
        emit({ kind: "terminated", by: "server" });
        emit({ kind: "summary", summary: summarize(testRun.summaryInput()) });
        if (latency) {
          emit({
            kind: "latency",
            report: await latency.finish({ wait: false }),
          });
        }
        await send(STATES.IPERF_DONE).catch(() => {});
        throw new IperfError(ERROR_CODES.IESERVERTERM);
      }
      await expect(state, STATES.EXCHANGE_RESULTS, serverError);
      throw new ProtocolError(ERROR_CODES.IEMESSAGE, {
        detail: `received "${stateName(state)}" before the test ended`,
      });
    }
    await testRun.finish();
    const resultsMs = resultsTimeoutMs(
      performance.now() - startedMs,
      config.receiveTimeoutMs,
    );
    await send(STATES.TEST_END);
    // Answers still due arrive while the results are exchanged.
    const latencyReport = latency?.finish({ wait: true });
    latencyReport?.catch(() => {});
    await expect(
      await awaitServer(pending, {
        awaited: `"${stateName(STATES.EXCHANGE_RESULTS)}"`,
        ms: resultsMs,
      }),
      STATES.EXCHANGE_RESULTS,
      serverError,
    );
    const ownResults = encodeResults(testRun.results());
    debug(`send results ${JSON.stringify(ownResults)}`);
    await writeAll(ctl, encodeJsonFrame(ownResults));
    const seen = new ReadRecord(ctl);
    const serverWire = await awaitServer(
      readJsonFrame(seen, {
        maxSize: MAX_RESULTS_SIZE,
        code: ERROR_CODES.IERECVRESULTS,
      }),
      {
        awaited: "the server's results",
        ms: resultsMs,
        progress: () => frameProgress(seen),
      },
    );
    debug(`received results ${JSON.stringify(serverWire)}`);
    const serverResults = decodeResults(serverWire);
    checkStreamIds(serverResults, streams);
    await receive(STATES.DISPLAY_RESULTS, resultsMs);
    await testRun.close();
    const summary = summarize({
      ...testRun.summaryInput(),
      peer: serverResults,
    });
    emit({ kind: "summary", summary });
    if (latencyReport) {
      emit({ kind: "latency", report: await latencyReport });
    }
    if (serverResults.serverOutputJson !== undefined) {
      emit({ kind: "server-output", json: serverResults.serverOutputJson });
    } else if (serverResults.serverOutputText !== undefined) {
      emit({ kind: "server-output", text: serverResults.serverOutputText });
    }
    await send(STATES.IPERF_DONE);
    emit({ kind: "done" });
    return { cookie, summary, serverResults };
  } catch (error) {
    if (!(error instanceof Aborted)) throw error;
    // Interrupted (Ctrl-C): report what we have, tell the server, give up.
    if (run) {
      await run.finish();
      emit({ kind: "summary", summary: summarize(run.summaryInput()) });
      if (monitor) {
        emit({
          kind: "latency",
          report: await monitor.finish({ wait: false }),
        });
      }
    }
    if (control) {
      await writeAll(control, encodeState(STATES.CLIENT_TERMINATE)).catch(
        () => {},
      );
    }
    throw new InterruptedError(ERROR_CODES.IECLIENTTERM);
  } finally {
    stop.dispose();
    await run?.close();
    await monitor?.close();
    threads?.close();
    closeAll();
  }
}

/**
 * Checks a state from the server; turns ACCESS_DENIED and SERVER_ERROR into
 * their errors (`readServerError` reads the latter's payload, with its
 * deadline).
 */
async function expect(
  got: number,
  wanted: number,
  readServerError: () => Promise<ServerErrorPayload>,
): Promise<void> {
  if (got === wanted) return;
  if (got === STATES.ACCESS_DENIED) throw new AccessDeniedError();
  if (got === STATES.SERVER_ERROR) {
    const payload = await readServerError();
    throw new ServerError(payload.code, payload.errno);
  }
  if (got === STATES.SERVER_TERMINATE) {
    throw new IperfError(ERROR_CODES.IESERVERTERM);
  }
  throw new ProtocolError(ERROR_CODES.IEMESSAGE, {
    expected: stateName(wanted),
    received: stateName(got),
    detail: `expected state "${stateName(wanted)}", received "${
      stateName(got)
    }"`,
  });
}

/** One wait on the server, for its deadline and the message when that passes. */
interface Step {
  /** What the client waits for, as the message names it: `"TEST_START"`. */
  awaited: string;
  /** The deadline, in milliseconds. */
  ms: number;
  /** What part of a multi-byte message arrived, if any did. */
  progress?: () => string | undefined;
}

/** The detail of a step's timeout: what the client waited for, how long, and what part of it came. */
function silence(step: Step): string {
  const seconds = step.ms / 1000;
  const part = step.progress?.();
  return part === undefined
    ? `the server sent nothing for ${seconds} s while the client waited for ${step.awaited}`
    : `the server stopped after ${part} while the client waited ${seconds} s for ${step.awaited}`;
}

/** Bytes a {@linkcode ReadRecord} keeps: a frame's length, a SERVER_ERROR payload. */
const RECORDED_BYTES = 8;

/**
 * A reader that counts the bytes passing through and keeps the first few,
 * so a timed-out step can say how far a message got.
 */
class ReadRecord implements Reader {
  readonly #reader: Reader;
  /** Bytes read so far. */
  count = 0;
  /** The first {@linkcode RECORDED_BYTES} of them. */
  readonly head = new Uint8Array(RECORDED_BYTES);

  constructor(reader: Reader) {
    this.#reader = reader;
  }

  async read(p: Uint8Array): Promise<number | null> {
    const n = await this.#reader.read(p);
    if (n) {
      const keep = Math.min(n, RECORDED_BYTES - this.count);
      if (keep > 0) this.head.set(p.subarray(0, keep), this.count);
      this.count += n;
    }
    return n;
  }
}

/** How much of a JSON frame arrived: `2 of 4 length bytes`, `20 of 57 JSON bytes`. */
function frameProgress(seen: ReadRecord): string | undefined {
  if (seen.count === 0) return undefined;
  if (seen.count < 4) return `${seen.count} of 4 length bytes`;
  const length = new DataView(seen.head.buffer).getUint32(0);
  return `${seen.count - 4} of ${length} JSON bytes`;
}

/** How much of a SERVER_ERROR payload arrived, with the `i_errno` once it did. */
function errorPayloadProgress(seen: ReadRecord): string | undefined {
  if (seen.count === 0) return undefined;
  if (seen.count < 4) return `${seen.count} of 8 bytes`;
  const code = new DataView(seen.head.buffer).getInt32(0);
  return `${seen.count} of 8 bytes (i_errno ${code}: ${errorText(code)})`;
}

/**
 * The stream failures of a run, with the receive timeout's (TestRun's only
 * `IENOMSG`) worded like a control step's.
 *
 * @param failed the run's stream-failure promise
 * @param ms the receiving streams' timeout
 */
function nameDataSilence(failed: Promise<never>, ms: number): Promise<never> {
  return failed.catch((error) => {
    if (
      error instanceof IperfError && !(error instanceof StreamError) &&
      error.code === ERROR_CODES.IENOMSG
    ) {
      throw new IperfError(ERROR_CODES.IENOMSG, {
        detail: silence({ awaited: "data on the test streams", ms }),
        cause: error,
      });
    }
    throw error;
  });
}

function checkStreamIds(results: TestResults, streams: DataStream[]): void {
  const ids = new Set(streams.map((s) => s.id));
  for (const s of results.streams) {
    if (!ids.has(s.id)) {
      throw new ProtocolError(ERROR_CODES.IESTREAMID, {
        detail: `stream id ${s.id} is not one of this test's`,
      });
    }
  }
}

async function resolveHost(host: string, family?: 4 | 6): Promise<string> {
  const bare = host.startsWith("[") && host.endsWith("]")
    ? host.slice(1, -1)
    : host;
  const literal = isIP(bare);
  if (literal !== 0) {
    if (family !== undefined && family !== literal) {
      throw new IperfError(ERROR_CODES.IECONNECT, {
        detail: `"${host}" is not an IPv${family} address`,
      });
    }
    return bare;
  }
  if (family === undefined) return bare;
  try {
    const found = await dns.lookup(bare, { family });
    return found.address;
  } catch (error) {
    throw new IperfError(ERROR_CODES.IECONNECT, {
      detail: `cannot resolve "${host}" to an IPv${family} address`,
      cause: error,
    });
  }
}

/** TCP_MAXSEG of the control connection, 0 when unknown (iperf3's `ctrl_sck_mss`). */
function controlConnectionMss(control: StreamSocket | undefined): number {
  const mss = control?.getInt(SOCKOPT.IPPROTO_TCP, SOCKOPT.TCP_MAXSEG) ?? 0;
  return mss > 0 && mss <= 65507 ? mss : 0;
}

/**
 * `--gsro` needs UDP_SEGMENT / UDP_GRO and `sendmmsg`/`recvmmsg` on the
 * data-plane threads; without them (no libc, `--data-threads 0`) it is
 * refused, as an iperf3 built without GSO says it has none.
 */
function refuseGsro(native: boolean, threadCount: number): void {
  if (native && threadCount > 0) return;
  throw new IperfError(ERROR_CODES.IEUNIMP, {
    detail: `--gsro needs the data-plane threads (${
      native
        ? "--data-threads is 0"
        : nativeUnavailableReason() ?? "libc is unavailable"
    })`,
  });
}

/**
 * Without libc (no `--allow-ffi`, or not Linux) the options that only a
 * socket option can honour are refused rather than silently dropped.
 */
function refuseSocketOptions(params: TestParams, config: ClientConfig): void {
  const ka = config.keepAliveSettings;
  const asked = [
    ka && (ka.idle || ka.interval || ka.count)
      ? "--cntl-ka=IDLE/INTVL/CNT"
      : "",
    params.window ? "-w" : "",
    params.mss ? "-M" : "",
    params.congestion !== undefined ? "-C" : "",
    params.tos ? "-S" : "",
    params.dontFragment ? "--dont-fragment" : "",
  ].filter((x) => x);
  if (asked.length === 0) return;
  throw new IperfError(ERROR_CODES.IEUNIMP, {
    detail: `${asked.join(", ")} ${
      asked.length > 1 ? "need socket options" : "needs a socket option"
    } set through libc (${nativeUnavailableReason() ?? "unavailable"})`,
  });
}

/**
 * Connects one TCP data stream and sets iperf3's options on it: through a
 * socket of our own when `-M` must be set before the handshake, else through
 * Deno, with the options set right after.
 */
async function connectStream(
  serverAddress: string,
  config: ClientConfig,
  options: {
    native: NativeSockets | undefined;
    tuning: SocketTuning;
    localPort: number | undefined;
    id: number;
    signal: AbortSignal;
  },
): Promise<
  {
    conn: StreamConn;
    probe?: { socket: StreamSocket; congestion: string | undefined };
  }
> {
  const { native, tuning, localPort, id } = options;
  if (
    !native && (tuning.bindDevice !== undefined || tuning.mptcp ||
      tuning.flowLabel)
  ) {
    throw new StreamError(ERROR_CODES.IESTREAMCONNECT, id, {
      detail: `${
        tuning.mptcp ? "-m" : tuning.flowLabel ? "-L" : "--bind-dev"
      } opens the socket through libc, which needs Linux and --allow-ffi`,
    });
  }
  // Options that must precede the handshake: a socket of our own (libc).
  if (
    native &&
    (tuning.mss || tuning.bindDevice !== undefined || tuning.mptcp ||
      tuning.flowLabel)
  ) {
    let tuned;
    try {
      // The session's abort also ends the wait, so no socket is connected
      // (and left open) after the test gave up.
      const signal = config.connectTimeoutMs
        ? AbortSignal.any([
          options.signal,
          AbortSignal.timeout(config.connectTimeoutMs),
        ])
        : options.signal;
      tuned = await connectTuned(native, serverAddress, config.port, {
        tuning,
        localAddress: config.bindAddress,
        localPort,
        signal,
      });
    } catch (error) {
      if (error instanceof IperfError) throw error;
      const detail =
        error instanceof DOMException && error.name === "TimeoutError"
          ? "Connection timed out"
          : osReason(error);
      throw new StreamError(ERROR_CODES.IESTREAMCONNECT, id, {
        detail,
        cause: error,
      });
    }
    try {
      const r = applyAfterConnect(tuned.socket, tuning, {
        buffers: false,
        server: false,
        tcp: true,
      });
      return {
        conn: tuned.conn,
        probe: { socket: tuned.socket, congestion: r.congestion },
      };
    } catch (error) {
      closeQuietly(tuned.conn);
      throw error;
    }
  }
  const conn = await connect(serverAddress, config.port, {
    timeoutMs: config.connectTimeoutMs,
    localAddress: config.bindAddress,
    localPort,
    code: ERROR_CODES.IESTREAMCONNECT,
    id,
  });
  conn.setNoDelay(tuning.noDelay ?? false);
  if (!native) return { conn };
  const socket = locateTcp(native, conn);
  if (!socket) return { conn };
  try {
    const r = applyAfterConnect(socket, tuning, {
      buffers: true,
      server: false,
      tcp: true,
    });
    return { conn, probe: { socket, congestion: r.congestion } };
  } catch (error) {
    closeQuietly(conn);
    throw error;
  }
}

interface ConnectOptions {
  timeoutMs: number | undefined;
  localAddress?: string | undefined;
  localPort?: number | undefined;
  code: number;
  id?: number;
}

async function connect(
  hostname: string,
  port: number,
  options: ConnectOptions,
): Promise<StreamConn> {
  const { timeoutMs, localAddress, localPort, code, id } = options;
  const signal = timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined;
  try {
    if (localAddress !== undefined || localPort !== undefined) {
      return await connectBound(hostname, port, {
        ...(localAddress === undefined ? {} : { localAddress }),
        ...(localPort === undefined ? {} : { localPort }),
        ...(signal ? { signal } : {}),
      });
    }
    return await Deno.connect({
      hostname,
      port,
      ...(signal ? { signal } : {}),
    });
  } catch (error) {
    const detail =
      error instanceof DOMException && error.name === "TimeoutError"
        ? "Connection timed out"
        : osReason(error);
    if (id !== undefined) {
      throw new StreamError(code, id, { detail, cause: error });
    }
    throw new IperfError(code, { detail, cause: error });
  }
}

/** How long the client waits for the server's "6789" on a new UDP stream without `--rcv-timeout` (iperf3: 30 s). */
const UDP_CONNECT_TIMEOUT_MS = 30_000;

/** Data datagrams tolerated before the connect reply (a `-R` server may start early). */
const UDP_CONNECT_TOLERANCE = 2;

function openUdpSocket(hostname: string, port: number, id: number): UdpSocket {
  try {
    // iperf3's netdial sets no SO_REUSEADDR on a client's stream socket.
    return UdpSocket.bind(hostname, port, { reuseAddress: false });
  } catch (error) {
    throw new StreamError(ERROR_CODES.IESTREAMCONNECT, id, {
      detail: osReason(error),
      cause: error,
    });
  }
}

/**
 * iperf3's UDP stream set-up: send "9876", wait for "6789" from the server
 * (`iperf_udp_connect`).
 */
async function udpConnect(
  socket: UdpSocket,
  peer: Deno.NetAddr,
  options: { id: number; timeoutMs: number },
): Promise<void> {
  const { id, timeoutMs } = options;
  try {
    await socket.send(UDP_CONNECT_MSG, peer);
  } catch (error) {
    throw new StreamError(ERROR_CODES.IESTREAMWRITE, id, {
      detail: osReason(error),
      cause: error,
    });
  }
  const buffer = new Uint8Array(65536);
  const timer = setTimeout(() => socket.close(), timeoutMs);
  try {
    let strays = 0;
    while (true) {
      const [data, from] = await socket.receive(buffer);
      if (!sameEndpoint(from, peer)) continue;
      if (isConnectReply(data)) return;
      if (++strays > UDP_CONNECT_TOLERANCE) {
        throw new StreamError(ERROR_CODES.IESTREAMREAD, id, {
          detail: "the server did not answer the UDP connect message",
        });
      }
    }
  } catch (error) {
    if (error instanceof StreamError) throw error;
    throw new StreamError(ERROR_CODES.IESTREAMREAD, id, {
      detail: error instanceof Deno.errors.BadResource ||
          error instanceof Deno.errors.Interrupted
        ? silence({ awaited: "the UDP connect reply", ms: timeoutMs })
        : osReason(error),
      cause: error,
    });
  } finally {
    clearTimeout(timer);
  }
}

/** Logs the state a pending read delivers (`-d`), passing it on unchanged. */
async function traceState(
  read: Promise<number>,
  debug: (message: string) => void,
): Promise<number> {
  const state = await read;
  debug(`received state ${stateName(state)}`);
  return state;
}

/**
 * The `--latency` monitor of a test, with the TCP_INFO samples that the
 * test's sockets give: the sending streams' RTT; with only receiving
 * streams (`-R`) their receiver-side RTT estimate (`tcpi_rcv_rtt`: the
 * control connection carries no data during the test, so its own RTT
 * estimate does not move); in a UDP test the control connection's. A probe
 * socket that cannot be opened is a warning, and the test goes on without.
 */
function openMonitor(
  params: TestParams,
  streams: DataStream[],
  options: {
    cookie: string;
    localHost: string;
    server: Deno.NetAddr;
    ctlSocket: StreamSocket | undefined;
    warn: ((message: string) => void) | undefined;
  },
): LatencyMonitor | undefined {
  const { ctlSocket } = options;
  const tcp = params.protocol === "tcp";
  const senders = streams.flatMap((s) => s.sender && s.probe ? [s.probe] : []);
  const receivers = streams.flatMap((s) =>
    !s.sender && s.probe ? [s.probe] : []
  );
  let sampler: TcpRttSampler | undefined;
  if (tcp && senders.length > 0) {
    sampler = {
      source: "sending_streams",
      sample: () => senders.map((p) => p.tcpInfo()?.rtt ?? 0),
    };
  } else if (tcp && receivers.length > 0) {
    sampler = {
      source: "receiving_streams",
      sample: () => receivers.map((p) => p.tcpInfo()?.rcvRtt ?? 0),
    };
  } else if (ctlSocket) {
    sampler = {
      source: "control",
      sample: () => [ctlSocket.tcpInfo()?.rtt ?? 0],
    };
  }
  try {
    return new LatencyMonitor({
      cookie: options.cookie,
      localHost: options.localHost,
      server: options.server,
      ...(sampler ? { tcp: sampler } : {}),
      // The smallest RTT sample (the handshake's): the smoothed RTT also
      // holds the server's time to answer the cookie and the parameters.
      ...(ctlSocket
        ? {
          controlRtt: () => {
            const info = ctlSocket.tcpInfo();
            return info?.minRtt || info?.rtt;
          },
        }
        : {}),
    });
  } catch (error) {
    options.warn?.(
      `--latency: cannot open the probe socket (${
        osReason(error)
      }); no latency figures`,
    );
    return undefined;
  }
}
