/**
 * The typed library API: `runClient()` and `startServer()`, with options
 * named after the long flags and results shaped like iperf3's `-J` document.
 *
 * @module
 */

import { parseCommandLine } from "./cli/args.ts";
import { UsageError } from "./errors.ts";
import { JsonReporter } from "./report/json.ts";
import type { IperfJson, JsonInterval } from "./report/json_types.ts";
import {
  systemInfo,
  tcpBufferDefaults,
  VERSION_STRING,
} from "./report/system_info.ts";
import { runClientSession } from "./session/client.ts";
import { DEFAULT_PORT, listen, serve } from "./session/server.ts";

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
  /** Interrupts the test: the server is told, `result` rejects. */
  signal?: AbortSignal;
}

/** A running client test: its intervals as they happen, and its document. */
export interface ClientRun extends AsyncIterable<JsonInterval> {
  /**
   * The whole `-J` document once the test is over; rejects with the test's
   * error (an `IperfError`, `UsageError` for bad options).
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
    onInterval: (interval) => {
      queue.push(interval as unknown as JsonInterval);
      wake();
    },
  });
  const result = (async () => {
    try {
      const config = parseCommandLine(clientArgs(options));
      if (config.role !== "client") {
        throw new UsageError("expected a client test");
      }
      await runClientSession(config.client, {
        emit: (event) => reporter.handle(event),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      return reporter.document() as unknown as IperfJson;
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
  const listener = listen({
    port: options.port ?? DEFAULT_PORT,
    ...(options.hostname === undefined ? {} : { hostname: options.hostname }),
  });
  const controller = new AbortController();
  const stop = () => controller.abort();
  options.signal?.addEventListener("abort", stop, { once: true });
  const reporters = new Map<number, JsonReporter>();
  const done = serve(listener, {
    signal: controller.signal,
    ...(options.maxTests === undefined ? {} : { maxTests: options.maxTests }),
    ...(options.dataThreads === undefined
      ? {}
      : { dataThreads: options.dataThreads }),
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
        options.onTest?.(reporter.document() as unknown as IperfJson);
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

/** The command line for `options`, so the library validates exactly as the CLI does. */
function clientArgs(o: ClientOptions): string[] {
  const args = ["-c", o.host, "-J"];
  const value = (flag: string, v: number | string | undefined) => {
    if (v !== undefined) args.push(flag, String(v));
  };
  const flag = (name: string, on: boolean | undefined) => {
    if (on) args.push(name);
  };
  value("-p", o.port);
  value("-t", o.time);
  value("-n", o.bytes);
  value("-k", o.blocks);
  value("-P", o.parallel);
  flag("-R", o.reverse);
  flag("--bidir", o.bidir);
  flag("-u", o.udp);
  if (o.bitrate !== undefined) {
    args.push("-b", o.burst ? `${o.bitrate}/${o.burst}` : String(o.bitrate));
  }
  value("-l", o.length);
  value("-O", o.omit);
  value("-i", o.interval);
  flag("-N", o.noDelay);
  if (o.family !== undefined) args.push(o.family === 4 ? "-4" : "-6");
  value("-B", o.bind);
  value("--cport", o.cport);
  value("--connect-timeout", o.connectTimeout);
  value("-T", o.title);
  value("--extra-data", o.extraData);
  flag("--get-server-output", o.getServerOutput);
  flag("--udp-counters-64bit", o.udpCounters64bit);
  flag("--repeating-payload", o.repeatingPayload);
  value("-w", o.window);
  value("-M", o.mss);
  value("-C", o.congestion);
  value("-S", o.tos);
  flag("--dont-fragment", o.dontFragment);
  flag("-Z", o.zeroCopy);
  value("--data-threads", o.dataThreads);
  return args;
}
