/**
 * The typed library API: `runClient()` and `startServer()`, with options
 * named after the long flags and results shaped like iperf3's `-J` document.
 *
 * @module
 */

import { buildConfig, type ServerConfig } from "./cli/build_config.ts";
import type { OptionKey, OptionValues } from "./cli/options.ts";
import { UsageError } from "./errors.ts";
import { JsonReporter } from "./report/json.ts";
import { isIperfJson, isJsonInterval } from "./report/json_guard.ts";
import type { IperfJson, JsonInterval } from "./report/json_types.ts";
import {
  systemInfo,
  tcpBufferDefaults,
  VERSION_STRING,
} from "./report/system_info.ts";
import { runClientSession } from "./session/client.ts";
import { listen, serve } from "./session/server.ts";

/** Options of {@linkcode runClient}: iperf3's client flags, camelCase. */
export interface ClientOptions {
  /** The server's host name or address (`-c`). */
  host: string;
  /** The server's port (`-p`, default 5201). */
  port?: number;
  /** Test length in seconds (`-t`, default 10). */
  time?: number;
  /** Bytes to send instead of a time (`-n`). */
  bytes?: number;
  /** Blocks to send instead of a time (`-k`). */
  blocks?: number;
  /** Streams (`-P`, default 1). */
  parallel?: number;
  /** The server sends (`-R`). */
  reverse?: boolean;
  /** Both send (`--bidir`). */
  bidir?: boolean;
  /** UDP instead of TCP (`-u`). */
  udp?: boolean;
  /** Target rate per stream in bits/s (`-b`; 0 unlimited; UDP default 1048576). */
  bitrate?: number;
  /** Datagrams per burst with `bitrate` (`-b RATE/N`). */
  burst?: number;
  /** Block or datagram size in bytes (`-l`). */
  length?: number;
  /** Seconds left out at the start (`-O`). */
  omit?: number;
  /** Seconds between interval reports (`-i`, default 1; 0 for one at the end). */
  interval?: number;
  /** TCP_NODELAY on the data streams (`-N`). */
  noDelay?: boolean;
  /** Only IPv4 (4) or only IPv6 (6) (`-4`/`-6`). */
  family?: 4 | 6;
  /** Local address to bind (`-B`). */
  bind?: string;
  /** Local port of the first data stream (`--cport`). */
  cport?: number;
  /** Control connection timeout in ms (`--connect-timeout`). */
  connectTimeout?: number;
  /** Title carried into the document (`-T`). */
  title?: string;
  /** Free text carried to both sides' documents (`--extra-data`). */
  extraData?: string;
  /** Ask for the server's own output (`--get-server-output`). */
  getServerOutput?: boolean;
  /** 64-bit UDP sequence numbers (`--udp-counters-64bit`). */
  udpCounters64bit?: boolean;
  /** `0123456789...` payload instead of random bytes (`--repeating-payload`). */
  repeatingPayload?: boolean;
  /** SO_SNDBUF/SO_RCVBUF in bytes (`-w`; Linux with `--allow-ffi`). */
  window?: number;
  /** TCP MSS, set before the handshake (`-M`; Linux with `--allow-ffi`). */
  mss?: number;
  /** TCP congestion control algorithm (`-C`; Linux with `--allow-ffi`). */
  congestion?: string;
  /** The IP TOS byte (`-S`; Linux with `--allow-ffi`). */
  tos?: number;
  /** IPv4 don't-fragment on UDP (`--dont-fragment`; Linux with `--allow-ffi`). */
  dontFragment?: boolean;
  /** Ask the server for zero-copy sends (`-Z`; iperf-ts itself sends with ordinary writes). */
  zeroCopy?: boolean;
  /** Threads that move the streams' bytes (`--data-threads`; Linux with `--allow-ffi`); 0 for the in-process loops. */
  dataThreads?: number;
  /**
   * Latency under load (`--latency`, iperf-ts's own): the document gets
   * `intervals[].iperf_ts.latency` and `end.iperf_ts.latency` (idle and
   * loaded RTT, responsiveness in RPM); see docs/latency.md.
   */
  latency?: boolean;
  /** Interrupts the test: the server is told, `result` rejects. */
  signal?: AbortSignal;
}

/** A running client test: its intervals as they happen, and its document. */
export interface ClientRun extends AsyncIterable<JsonInterval> {
  /**
   * The whole `-J` document once the test is over, checked against
   * `IperfJson` (a server's `server_output_json` that is not an iperf3
   * document is left out); rejects with the test's error (an `IperfError`,
   * `UsageError` for bad options).
   */
  readonly result: Promise<IperfJson>;
}

/**
 * Runs one test against an iperf3-compatible server.
 *
 * @example Usage
 * ```ts
 * import { runClient, startServer } from "./api.ts";
 *
 * await using server = await startServer({ hostname: "127.0.0.1", port: 0 });
 * const run = runClient({ host: "127.0.0.1", port: server.port, time: 1, interval: 0.5 });
 * for await (const interval of run) {
 *   if (interval.sum.bytes <= 0) throw new Error("nothing moved");
 * }
 * const doc = await run.result;
 * if (!(doc.end.sum_received && doc.end.sum_received.bits_per_second > 0)) {
 *   throw new Error("no rate");
 * }
 * ```
 *
 * @param options the test, as iperf3's client flags
 * @returns the intervals (async iterable) and `result`
 */
export function runClient(options: ClientOptions): ClientRun {
  const queue: JsonInterval[] = [];
  let ended = false;
  let wake = () => {};
  const reporter = new JsonReporter({
    role: "client",
    write: () => {},
    version: VERSION_STRING,
    systemInfo: systemInfo(),
    buffers: tcpBufferDefaults(),
    interval: options.interval ?? 1,
    onInterval: (interval) => {
      // Always an interval as iperf3 prints it; one without a sum (no
      // streams) is not one a caller could use.
      if (!isJsonInterval(interval)) return;
      queue.push(interval);
      wake();
    },
  });
  const result = (async () => {
    try {
      const config = buildConfig(clientValues(options));
      if (config.role !== "client") {
        throw new UsageError("expected a client test");
      }
      await runClientSession(config.client, {
        emit: (event) => reporter.handle(event),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      const doc = typedDocument(reporter.document());
      if (doc === undefined) {
        throw new TypeError(
          "Cannot return the results: the -J document does not have the IperfJson shape",
        );
      }
      return doc;
    } finally {
      ended = true;
      wake();
    }
  })();
  // Observed through `result`; iteration alone must not leave it unhandled.
  result.catch(() => {});
  return {
    result,
    async *[Symbol.asyncIterator]() {
      while (true) {
        const next = queue.shift();
        if (next) {
          yield next;
          continue;
        }
        if (ended) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
  };
}

/** Options of {@linkcode startServer}. */
export interface ServerOptions {
  /** The port (default 5201; 0 for any free port). */
  port?: number;
  /** The address to listen on (default all, IPv4 and IPv6). */
  hostname?: string;
  /** Tests run at once (default 8). */
  maxTests?: number;
  /** Called with each finished test's `-J` document. */
  onTest?: (doc: IperfJson) => void;
  /** Threads that move the tests' bytes, shared by all tests (Linux with `--allow-ffi`); 0 for the in-process loops. */
  dataThreads?: number;
  /** Stops the server, like `close()`. */
  signal?: AbortSignal;
}

/** A running server. */
export interface ServerHandle extends AsyncDisposable {
  /** The port it listens on. */
  readonly port: number;
  /** Stops it: running tests get SERVER_TERMINATE, every socket closes. */
  close(): Promise<void>;
}

/**
 * Starts an iperf3-compatible server.
 *
 * @example Usage
 * ```ts
 * import { startServer } from "./api.ts";
 *
 * const server = await startServer({ hostname: "127.0.0.1", port: 0 });
 * if (server.port === 0) throw new Error("no port");
 * await server.close();
 * ```
 *
 * @param options port, address, concurrency, per-test callback, signal
 * @returns the handle, once it listens
 * @throws {IperfError} when it cannot listen (`IELISTEN`)
 */
export function startServer(
  options: ServerOptions = {},
): Promise<ServerHandle> {
  const config = serverConfig(options);
  const listener = listen({
    port: config.port,
    ...(config.bindAddress === undefined
      ? {}
      : { hostname: config.bindAddress }),
  });
  const controller = new AbortController();
  const stop = () => controller.abort();
  options.signal?.addEventListener("abort", stop, { once: true });
  const reporters = new Map<number, JsonReporter>();
  const done = serve(listener, {
    signal: controller.signal,
    maxTests: config.maxTests,
    ...(config.dataThreads === undefined
      ? {}
      : { dataThreads: config.dataThreads }),
    emit: (event, test) => {
      if (test === undefined) return;
      let reporter = reporters.get(test);
      if (!reporter) {
        reporter = new JsonReporter({
          role: "server",
          write: () => {},
          version: VERSION_STRING,
          systemInfo: systemInfo(),
          buffers: tcpBufferDefaults(),
        });
        reporters.set(test, reporter);
      }
      if (event.kind === "ended") {
        // The finished document; handing "ended" to the reporter would
        // print it and start an empty one.
        reporters.delete(test);
        // Never a throw here: it would end the server for every test.
        const doc = typedDocument(reporter.document());
        if (doc !== undefined) options.onTest?.(doc);
        return;
      }
      reporter.handle(event);
    },
    onTestError: (error, test) => {
      const message = error instanceof Error ? error.message : String(error);
      reporters.get(test)?.fail(message);
    },
  });
  const close = async () => {
    controller.abort();
    await done;
    options.signal?.removeEventListener("abort", stop);
  };
  return Promise.resolve({
    port: listener.addr.port,
    close,
    [Symbol.asyncDispose]: close,
  });
}

/**
 * The option table's values for a client test: the typed options go in as
 * they are (no command line), and `buildConfig()` checks them as it checks
 * the command line's.
 */
function clientValues(o: ClientOptions): OptionValues {
  const v: OptionValues = { client: o.host };
  if (o.port !== undefined) v.port = o.port;
  if (o.time !== undefined) v.time = o.time;
  if (o.bytes !== undefined) v.bytes = o.bytes;
  if (o.blocks !== undefined) v.blocks = o.blocks;
  if (o.parallel !== undefined) v.parallel = o.parallel;
  if (o.reverse !== undefined) v.reverse = o.reverse;
  if (o.bidir !== undefined) v.bidir = o.bidir;
  if (o.udp !== undefined) v.udp = o.udp;
  if (o.bitrate !== undefined) {
    v.bitrate = { bitsPerSecond: o.bitrate, burst: o.burst ?? 0 };
  }
  if (o.length !== undefined) v.length = o.length;
  if (o.omit !== undefined) v.omit = o.omit;
  if (o.interval !== undefined) v.interval = o.interval;
  if (o.noDelay !== undefined) v.noDelay = o.noDelay;
  if (o.family === 4) v.version4 = true;
  if (o.family === 6) v.version6 = true;
  if (o.bind !== undefined) v.bind = o.bind;
  if (o.cport !== undefined) v.cport = o.cport;
  if (o.connectTimeout !== undefined) v.connectTimeout = o.connectTimeout;
  if (o.title !== undefined) v.title = o.title;
  if (o.extraData !== undefined) v.extraData = o.extraData;
  if (o.getServerOutput !== undefined) v.getServerOutput = o.getServerOutput;
  if (o.udpCounters64bit !== undefined) {
    v.udpCounters64bit = o.udpCounters64bit;
  }
  if (o.repeatingPayload !== undefined) {
    v.repeatingPayload = o.repeatingPayload;
  }
  if (o.window !== undefined) v.window = o.window;
  if (o.mss !== undefined) v.mss = o.mss;
  if (o.congestion !== undefined) v.congestion = o.congestion;
  if (o.tos !== undefined) v.tos = o.tos;
  if (o.dontFragment !== undefined) v.dontFragment = o.dontFragment;
  if (o.zeroCopy !== undefined) v.zeroCopy = o.zeroCopy;
  if (o.dataThreads !== undefined) v.dataThreads = o.dataThreads;
  if (o.latency !== undefined) v.latency = o.latency;
  return v;
}

/**
 * The server's config from its typed options, checked by the option table
 * (`port: 0`, any free port, is the API's own).
 */
function serverConfig(o: ServerOptions): ServerConfig {
  const v: OptionValues = { server: true };
  if (o.port !== undefined && o.port !== 0) v.port = o.port;
  if (o.hostname !== undefined) v.bind = o.hostname;
  if (o.maxTests !== undefined) v.maxTests = o.maxTests;
  if (o.dataThreads !== undefined) v.dataThreads = o.dataThreads;
  const config = buildConfig(v);
  if (config.role !== "server") throw new UsageError("expected a server");
  return o.port === 0 ? { ...config.server, port: 0 } : config.server;
}

/** The reporter's document, checked against {@linkcode IperfJson}; undefined if it does not match. */
function typedDocument(doc: Record<string, unknown>): IperfJson | undefined {
  // The server's own document comes off the wire: one that is not an
  // iperf3 document is left out rather than mistyped.
  if (
    doc["server_output_json"] !== undefined &&
    !isIperfJson(doc["server_output_json"])
  ) {
    delete doc["server_output_json"];
  }
  return isIperfJson(doc) ? doc : undefined;
}

/** The members of `O` named like an option-table value but typed differently. */
type Mismatched<O> = {
  [K in keyof O & OptionKey]-?: NonNullable<O[K]> extends
    NonNullable<OptionValues[K]> ? never
    : K;
}[keyof O & OptionKey];

// Compile-time checks that the API's options agree with the option table:
// each fails to compile if a member named like a table value has another
// type. `bitrate` differs on purpose (bits/s here, with `burst` beside it).
const _clientOptionsMatchTable: [
  Exclude<Mismatched<ClientOptions>, "bitrate">,
] extends [never] ? true
  : never = true;
const _serverOptionsMatchTable: [Mismatched<ServerOptions>] extends [never]
  ? true
  : never = true;
