/**
 * Wires the command line to the sessions and reporters, and maps every
 * outcome to iperf3's messages and an exit code. `main.ts` only supplies the
 * process's streams and signal.
 *
 * @module
 */

import {
  ERROR_CODES,
  InterruptedError,
  IperfError,
  NotImplementedOptionError,
  osReason,
  PlotError,
  ProtocolError,
  strerror,
  UsageError,
} from "../errors.ts";
import {
  NativeError,
  nativeSockets,
  nativeUnavailableReason,
} from "../net/native.ts";
import type { SessionEvent } from "../events.ts";
import { JsonReporter } from "../report/json.ts";
import { strftime } from "../report/strftime.ts";
import {
  systemInfo,
  tcpBufferDefaults,
  VERSION_STRING,
} from "../report/system_info.ts";
import { TextReporter } from "../report/text.ts";
import { runClientSession } from "../session/client.ts";
import { listen, serve } from "../session/server.ts";
import { ServerMetrics } from "../metrics/server_metrics.ts";
import { type MetricsServer, serveMetrics } from "../metrics/metrics_server.ts";
import { VERSION } from "../version.ts";
import { closeQuietly } from "../net/conn.ts";
import { spawnDaemon } from "./daemon.ts";
import { readPassword } from "./password.ts";
import { readCapped } from "./read_capped.ts";
import {
  assertPrivateKey,
  assertPublicKey,
  makeAuthToken,
  parseUsersFile,
} from "../auth.ts";
import type { ServerAuth } from "../session/server.ts";
import {
  type CliConfig,
  type ClientAuthConfig,
  type OutputConfig,
  parseCommandLine,
  type PlotFromConfig,
  type ServerConfig,
} from "./args.ts";
import { plotDocument, readPlotInput } from "../plot/read_input.ts";
import { writePlot } from "../plot/render.ts";
import { USAGE_LONG, USAGE_SHORT } from "./usage.ts";
import { versionText } from "./version_text.ts";
import { runExporter } from "./run_exporter.ts";

export { VERSION };

/** Where the CLI writes, and what stops it. */
export interface CliIo {
  /** Normal output (stdout). */
  stdout: (text: string) => void;
  /** Errors and warnings (stderr). */
  stderr: (text: string) => void;
  /** Aborted on SIGINT/SIGTERM. */
  signal?: AbortSignal;
}

/**
 * Runs iperf-ts with a command line, as the `iperf3` binary would.
 *
 * @param args the arguments after the program name
 * @param io output functions and the interrupt signal
 * @returns the process exit code
 */
export async function runCli(args: string[], io: CliIo): Promise<number> {
  let config: CliConfig;
  try {
    config = parseCommandLine(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    if (error instanceof NotImplementedOptionError) {
      // One line, no usage: the option is fine, iperf-ts lacks it.
      io.stderr(`iperf3: ${error.message}\n`);
      return error.exitCode;
    }
    // iperf3's usage line says nothing of --exporter: one line there.
    const usage = args.includes("--exporter") ? "" : USAGE_SHORT;
    io.stderr(`iperf3: parameter error - ${error.message}\n${usage}`);
    return error.exitCode;
  }
  if (config.role === "help") {
    io.stdout(USAGE_LONG);
    return 0;
  }
  if (config.role === "version") {
    io.stdout(versionText());
    return 0;
  }
  if (config.role === "exporter") return await runExporter(config.exporter, io);
  if (config.role === "plot") return await plotFromFile(config, io);
  // iperf3 3.21's iperf_parse_arguments warnings, on stderr (iperf3 prints
  // the deprecation on stdout, where it would break a -J document).
  const out = config.output;
  for (const option of out.deprecated ?? []) {
    io.stderr(`Warning:  ${option} is deprecated\n`);
  }
  if (out.json && out.format !== "a") {
    io.stderr(
      "warning: Report format (-f) flag ignored with JSON output (-J)\n",
    );
  }
  if (out.json && out.verbose) {
    io.stderr(
      "warning: Verbose output (-v) may interfere with JSON output (-J)\n",
    );
  }
  if (out.json && out.debug) {
    io.stderr(
      "warning: Debug output (-d) may interfere with JSON output (-J)\n",
    );
  }
  if (
    config.affinity !== undefined &&
    !(config.role === "server" && config.server.daemon)
  ) {
    // -A: before any data-plane Worker starts, so they inherit the CPU.
    const failure = pinProcess(config.affinity);
    if (failure !== undefined) {
      io.stderr(`iperf3: error - unable to set CPU affinity: ${failure}\n`);
      return 1;
    }
  }
  if (config.role === "server" && config.server.daemon) {
    try {
      spawnDaemon(args, {
        writes: [config.output.logfile, config.server.pidfile].filter((f) =>
          f !== undefined
        ) as string[],
      });
      return 0;
    } catch (error) {
      io.stderr(
        `iperf3: error - unable to become a daemon: ${describe(error)}\n`,
      );
      return 1;
    }
  }
  // A write that fails (ENOSPC on the log file, EIO...) stops the test as
  // Ctrl-C would: the peer is told, sockets are closed, and one line says why.
  const outputFailed = new AbortController();
  const signal = io.signal
    ? AbortSignal.any([io.signal, outputFailed.signal])
    : outputFailed.signal;
  let output: Output;
  try {
    output = openOutput(
      config.output,
      io,
      config.role === "client",
      () => outputFailed.abort(),
    );
  } catch (error) {
    io.stderr(
      `iperf3: error - unable to open log file "${config.output.logfile}": ${
        fileReason(error)
      }\n`,
    );
    return 1;
  }
  try {
    const code = config.role === "client"
      ? await runClient(config, output, signal)
      : await runServer(config, output, signal);
    const failure = output.failure();
    if (failure === undefined) return code;
    try {
      io.stderr(`iperf3: error - ${failure}\n`);
    } catch {
      // stderr is gone too: the exit code is all that is left.
    }
    return 1;
  } finally {
    output.close();
  }
}

/** The CLI's output: lines with iperf3's prefixes, raw JSON, errors. */
interface Output {
  /** A text line (timestamp and title prefixes added). */
  line(text: string): void;
  /** Text as it is (JSON documents). */
  raw(text: string): void;
  /** An `iperf3: ...` error line (stderr, or the log file). */
  error(text: string): void;
  /**
   * A `warning: ...` line, always on stderr and never in the log file, as
   * iperf3's `warning()` (k8s-netperf reads `--logfile` back as one JSON
   * document); no timestamp or title prefix, as iperf3's.
   */
  warning(text: string): void;
  /** Closes the log file, if any. */
  close(): void;
  /** Why a write failed (then nothing more is written), if one did. */
  failure(): string | undefined;
}

/**
 * The CLI's output on `io` or on the `--logfile`. A write that throws is not
 * retried: the reason is kept for `failure()` and `onFailure` is called once.
 *
 * @throws {Deno.errors.NotFound} and the other errors of opening the log file
 */
function openOutput(
  config: OutputConfig,
  io: CliIo,
  client: boolean,
  onFailure: () => void,
): Output {
  let stdout = io.stdout;
  let stderr = io.stderr;
  let stdoutName = "standard output";
  let stderrName = "standard error";
  let close = () => {};
  if (config.logfile !== undefined) {
    // iperf3 appends everything, errors included, to the log file.
    const file = Deno.openSync(config.logfile, {
      append: true,
      create: true,
    });
    const encoder = new TextEncoder();
    const write = (text: string) => {
      const bytes = encoder.encode(text);
      let written = 0;
      while (written < bytes.byteLength) {
        written += file.writeSync(bytes.subarray(written));
      }
    };
    stdout = write;
    stderr = write;
    stdoutName = stderrName = `log file "${config.logfile}"`;
    close = () => file.close();
  }
  let failure: string | undefined;
  const guard = (sink: (text: string) => void, name: string) => {
    return (text: string) => {
      if (failure !== undefined) return;
      try {
        sink(text);
      } catch (error) {
        failure = `unable to write to ${name}: ${fileReason(error)}`;
        onFailure();
      }
    };
  };
  const out = guard(stdout, stdoutName);
  const err = guard(stderr, stderrName);
  const warn = guard(io.stderr, "standard error");
  const title = client && config.title !== undefined
    ? `${config.title}:  `
    : "";
  const prefix = () =>
    (config.timestamps === undefined
      ? ""
      : strftime(config.timestamps, new Date())) + title;
  return {
    line: (text) => out(`${prefix()}${text}\n`),
    raw: (text) => out(text),
    error: (text) => err(`${prefix()}${text}\n`),
    warning: (text) => warn(`warning: ${text}\n`),
    close,
    failure: () => failure,
  };
}

/** A text or JSON reporter behind one `handle`. */
interface Reporter {
  handle(event: SessionEvent): void;
  /** JSON only: the document gets `"error"`. */
  fail(message: string): void;
  /** JSON only: prints the document. */
  finish(): void;
  /** What `--get-server-output` sends back for the current test. */
  serverOutput(): { text?: string; json?: unknown };
}

function makeReporter(
  config: CliConfig & { output: OutputConfig },
  output: Output,
): Reporter {
  const version = VERSION_STRING;
  const info = systemInfo();
  if (config.output.json) {
    const json = new JsonReporter({
      role: config.role === "client" ? "client" : "server",
      write: output.raw,
      stream: config.output.jsonStream,
      fullOutput: config.output.jsonStreamFullOutput === true,
      version,
      systemInfo: info,
      buffers: tcpBufferDefaults(),
      interval: config.role === "client"
        ? config.client.interval
        : config.role === "server"
        ? config.server.interval
        : 1,
    });
    return {
      handle: (event) => json.handle(event),
      fail: (message) => json.fail(message),
      finish: () => json.finish(),
      serverOutput: () => ({ json: json.document() }),
    };
  }
  // The server's own text of the current test, for --get-server-output:
  // every line from "Accepted connection from ..." on.
  let captured: string[] = [];
  const text = new TextReporter({
    role: config.role === "client" ? "client" : "server",
    format: config.output.format,
    verbose: config.output.verbose,
    version,
    systemInfo: info,
    write: (line) => {
      captured.push(line);
      output.line(line);
    },
  });
  return {
    handle: (event) => {
      if (event.kind === "accepted") captured = [];
      text.handle(event);
    },
    fail: () => {},
    finish: () => {},
    serverOutput: () => ({
      text: captured.map((line) => `${line}\n`).join(""),
    }),
  };
}

async function runClient(
  config: Extract<CliConfig, { role: "client" }>,
  output: Output,
  signal: AbortSignal | undefined,
): Promise<number> {
  const pidfile = config.pidfile;
  if (pidfile !== undefined) {
    try {
      await Deno.writeTextFile(pidfile, `${Deno.pid}\n`);
    } catch (error) {
      output.error(
        `iperf3: error - unable to write PID file: ${describe(error)}`,
      );
      return 1;
    }
  }
  try {
    return await runClientTest(config, output, signal);
  } finally {
    if (pidfile !== undefined) await Deno.remove(pidfile).catch(() => {});
  }
}

async function runClientTest(
  config: Extract<CliConfig, { role: "client" }>,
  output: Output,
  signal: AbortSignal | undefined,
): Promise<number> {
  const printed = makeReporter(config, output);
  // --plot: a -J document built alongside whatever is printed (text, -J,
  // or --json-stream, which keeps no intervals), drawn once the test ends.
  const plotPath = config.output.plot;
  const plotDoc = plotPath === undefined ? undefined : new JsonReporter({
    role: "client",
    write: () => {},
    version: VERSION_STRING,
    systemInfo: systemInfo(),
    interval: config.client.interval,
  });
  const reporter: Reporter = plotDoc
    ? {
      ...printed,
      handle: (event) => {
        printed.handle(event);
        plotDoc.handle(event);
      },
    }
    : printed;
  const code = await runClientReported(config, output, signal, reporter);
  if (plotPath === undefined || plotDoc === undefined) return code;
  const doc = plotDocument(plotDoc.document());
  if (doc === undefined || doc.intervals.length === 0) {
    // The test failed before its first interval: its error is printed.
    output.warning(
      `no plot written to "${plotPath}": the test has no intervals`,
    );
    return code;
  }
  try {
    await writePlot(doc, plotPath);
    return code;
  } catch (error) {
    if (!(error instanceof PlotError)) throw error;
    output.error(`iperf3: error - ${error.message}`);
    return 1;
  }
}

/** Draws a saved run (`--plot-from IN --plot OUT`): one error line and 1 when it cannot. */
async function plotFromFile(
  config: PlotFromConfig,
  io: CliIo,
): Promise<number> {
  try {
    await writePlot(await readPlotInput(config.input), config.output);
    return 0;
  } catch (error) {
    if (!(error instanceof PlotError)) throw error;
    io.stderr(`iperf3: error - ${error.message}\n`);
    return 1;
  }
}

async function runClientReported(
  config: Extract<CliConfig, { role: "client" }>,
  output: Output,
  signal: AbortSignal | undefined,
  reporter: Reporter,
): Promise<number> {
  const json = config.output.json;
  // -Z prints nothing, as iperf3: it is sent on the wire, and iperf-ts's
  // own sends are ordinary writes (wrappers such as arcaflow's treat any
  // stderr output as a failure).
  try {
    const client = config.auth
      ? {
        ...config.client,
        params: {
          ...config.client.params,
          authToken: await clientToken(config.auth),
        },
      }
      : config.client;
    await runClientSession(client, {
      ...(signal ? { signal } : {}),
      emit: (event) => reporter.handle(event),
      warn: (message) => output.warning(message),
      ...(config.output.debug
        ? { debug: (message) => output.line(message) }
        : {}),
    });
    reporter.finish();
    return 0;
  } catch (error) {
    if (error instanceof InterruptedError) {
      if (json) {
        reporter.fail(`interrupt - ${error.iperfText}`);
        reporter.finish();
      } else {
        output.error(`iperf3: interrupt - ${error.iperfText}`);
      }
      return 0;
    }
    if (json) {
      reporter.fail(describe(error));
      reporter.finish();
    } else {
      output.error(`iperf3: error - ${describe(error)}`);
    }
    return 1;
  }
}

async function runServer(
  config: Extract<CliConfig, { role: "server" }>,
  output: Output,
  signal: AbortSignal | undefined,
): Promise<number> {
  const reporter = makeReporter(config, output);
  const json = config.output.json;
  let listener: Deno.TcpListener;
  try {
    listener = listen({
      port: config.server.port,
      ...(config.server.bindAddress === undefined
        ? {}
        : { hostname: config.server.bindAddress }),
      ...(config.server.family === undefined
        ? {}
        : { family: config.server.family }),
    });
  } catch (error) {
    if (json) {
      reporter.fail(describe(error));
      reporter.finish();
    } else {
      output.error(`iperf3: error - ${describe(error)}`);
    }
    return 1;
  }
  // One reporter per test: tests may run side by side (--max-tests), and
  // each keeps its own header, parameters and JSON document.
  const reporters = new Map<number, Reporter>();
  const reporterFor = (test: number) => {
    let found = reporters.get(test);
    if (!found) {
      found = makeReporter(config, output);
      reporters.set(test, found);
    }
    return found;
  };
  let interruptReported = false;
  let auth: ServerAuth | undefined;
  if (config.server.auth) {
    try {
      auth = await serverAuth(config.server.auth);
    } catch (error) {
      closeQuietly(listener);
      output.error(`iperf3: error - ${describe(error)}`);
      return 1;
    }
  }
  // --metrics: the endpoint runs beside the server and stops with it.
  let metrics: ServerMetrics | undefined;
  let endpoint: MetricsServer | undefined;
  if (config.server.metrics !== undefined) {
    metrics = new ServerMetrics();
    try {
      endpoint = serveMetrics(config.server.metrics, metrics);
    } catch (error) {
      closeQuietly(listener);
      output.error(`iperf3: error - ${lowerFirst(describe(error))}`);
      return 1;
    }
  }
  const pidfile = config.server.pidfile;
  if (pidfile !== undefined) {
    try {
      await Deno.writeTextFile(pidfile, `${Deno.pid}\n`);
    } catch (error) {
      closeQuietly(listener);
      await endpoint?.close();
      output.error(
        `iperf3: error - unable to write PID file: ${describe(error)}`,
      );
      return 1;
    }
  }
  try {
    await serveTests();
  } catch (error) {
    // A setting the server cannot honour at all (e.g. --cntl-ka timings
    // without libc): one line, before any test.
    if (!(error instanceof IperfError)) throw error;
    output.error(`iperf3: error - ${error.iperfText}`);
    return 1;
  } finally {
    await endpoint?.close();
    if (pidfile !== undefined) {
      await Deno.remove(pidfile).catch(() => {});
    }
  }
  if (signal?.aborted) {
    if (json) {
      if (interruptReported) return 0;
      reporter.fail("interrupt - the server has terminated");
      reporter.finish();
    } else {
      output.error("iperf3: interrupt - the server has terminated");
    }
  }
  return 0;

  async function serveTests(): Promise<void> {
    await serve(listener, {
      ...(signal ? { signal } : {}),
      emit: (event, test) => {
        if (test === undefined) {
          // The "Server listening" banner belongs to no test.
          if (!json) reporter.handle(event);
          return;
        }
        reporterFor(test).handle(event);
        if (event.kind === "ended") reporters.delete(test);
      },
      interval: config.server.interval,
      oneOff: config.server.oneOff,
      maxTests: config.server.maxTests,
      keepAlive: config.server.keepAlive,
      warn: (message) => output.warning(message),
      ...(config.server.keepAliveSettings
        ? { keepAliveSettings: config.server.keepAliveSettings }
        : {}),
      ...optional("auth", auth),
      ...optional("receiveTimeoutMs", config.server.receiveTimeoutMs),
      ...optional("sendTimeoutMs", config.server.sendTimeoutMs),
      ...optional("bitrateLimit", config.server.bitrateLimit),
      ...optional("bitrateLimitWindow", config.server.bitrateLimitWindow),
      ...optional("maxDuration", config.server.maxDuration),
      ...optional("idleTimeout", config.server.idleTimeout),
      ...optional("dataThreads", config.server.dataThreads),
      ...optional("file", config.server.file),
      ...optional("observer", metrics),
      serverOutput: (test) => reporterFor(test).serverOutput(),
      onTestError: (error, test) => {
        const forTest = reporterFor(test);
        if (
          error instanceof InterruptedError &&
          error.code === ERROR_CODES.IESERVERTERM
        ) {
          // A test cut short by our own shutdown: said once, below (text), or
          // in that test's document (JSON).
          interruptReported = json;
          if (json) forTest.fail("interrupt - the server has terminated");
          return;
        }
        const line = serverErrorLine(error);
        if (json) forTest.fail(line.replace(/^iperf3: (error - )?/, ""));
        else output.error(line);
      },
      ...(config.output.debug
        ? { debug: (message) => output.line(message) }
        : {}),
    });
  }
}

/** The client's `authtoken` (iperf3 `encode_auth_setting`). */
async function clientToken(auth: ClientAuthConfig): Promise<string> {
  const pem = await readKeyFile(
    auth.publicKeyPath,
    "RSA public key",
    MAX_KEY_FILE_BYTES,
  );
  assertKey(() => assertPublicKey(pem), auth.publicKeyPath);
  const password = await readPassword();
  return makeAuthToken(auth.username, password, pem, { pkcs1: auth.pkcs1 });
}

/** The server's key and users, read and checked once at start. */
async function serverAuth(
  auth: NonNullable<ServerConfig["auth"]>,
): Promise<ServerAuth> {
  const pem = await readKeyFile(
    auth.privateKeyPath,
    "RSA private key",
    MAX_KEY_FILE_BYTES,
  );
  assertKey(() => assertPrivateKey(pem), auth.privateKeyPath);
  const users = parseUsersFile(
    await readKeyFile(auth.usersPath, "authorized users", MAX_USERS_FILE_BYTES),
  );
  if (users.size === 0) {
    throw new Error(
      `the authorized users file "${auth.usersPath}" lists no users`,
    );
  }
  return { privateKeyPem: pem, users, skew: auth.skew, pkcs1: auth.pkcs1 };
}

/** Key files: PEM RSA keys are under 4 KiB, so 64 KiB is plenty. */
const MAX_KEY_FILE_BYTES = 64 * 1024;
/** `--authorized-users-path`: one short line per user. */
const MAX_USERS_FILE_BYTES = 1024 * 1024;

async function readKeyFile(
  path: string,
  what: string,
  maxBytes: number,
): Promise<string> {
  try {
    return await readCapped(path, { maxBytes, label: `${what} file` });
  } catch (error) {
    if (error instanceof RangeError) throw error;
    throw new Error(`cannot read the ${what} file "${path}": ${osText(error)}`);
  }
}

function assertKey(check: () => void, path: string): void {
  try {
    check();
  } catch (error) {
    throw new Error(`"${path}" is ${describe(error)}`);
  }
}

function osText(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "No such file or directory";
  if (error instanceof Deno.errors.PermissionDenied) return "Permission denied";
  if (error instanceof Deno.errors.NotCapable) return "needs --allow-read";
  return fileReason(error);
}

/** strerror's words for a file error, without Deno's "(os error N): open '...'". */
function fileReason(error: unknown): string {
  return describe(error).replace(/ \(os error \d+\)(: .*)?$/, "");
}

/** `{ key: value }`, or nothing when the value is undefined (exactOptionalPropertyTypes). */
function optional<K extends string, V>(
  key: K,
  value: V | undefined,
): { [P in K]?: V } {
  return value === undefined ? {} : { [key]: value } as { [P in K]?: V };
}

/** A library message (`Cannot ...`) in iperf3's lower case. */
function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

function describe(error: unknown): string {
  if (error instanceof IperfError) return error.iperfText;
  // Socket errors from Deno: strerror's words, without "(os error N)".
  return osReason(error);
}

function serverErrorLine(error: unknown): string {
  if (error instanceof InterruptedError) {
    return "iperf3: the client has terminated";
  }
  if (
    error instanceof ProtocolError && error.code === ERROR_CODES.IECTRLCLOSE
  ) {
    return "iperf3: the client has unexpectedly closed the connection";
  }
  return `iperf3: error - ${describe(error)}`;
}

/** Pins this thread (and the Workers it starts) to `cpu`; the reason when it cannot. */
function pinProcess(cpu: number): string | undefined {
  const native = nativeSockets();
  if (!native) {
    return nativeUnavailableReason() ?? "libc cannot be opened";
  }
  try {
    native.pinToCpu(cpu);
    return undefined;
  } catch (error) {
    return error instanceof NativeError ? strerror(error.errno) : String(error);
  }
}
