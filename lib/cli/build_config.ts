/**
 * {@linkcode OptionValues} (read from the command line, or given typed to
 * the library API) to a validated client or server config: the option
 * table's relations (conflicts, pairs), iperf3's defaults, and the checks
 * that involve more than one option.
 *
 * @module
 */

import type { KeepAliveSettings } from "../net/stream_socket.ts";
import { UsageError } from "../errors.ts";
import {
  DEFAULT_PACING_TIMER,
  DEFAULT_TCP_BLKSIZE,
  DEFAULT_UDP_BLKSIZE,
  DEFAULT_UDP_RATE,
  LIMITS,
  tcpTestParams,
} from "../protocol/params.ts";
import type { ClientConfig } from "../session/client.ts";
import { streamCount } from "../session/_streams.ts";
import { DEFAULT_MAX_TESTS, DEFAULT_PORT } from "../session/server.ts";
import type { UnitFormat } from "../units.ts";
import type {
  ExporterLogFormat,
  ExporterLogLevel,
} from "../exporter/log_line.ts";
import {
  DEFAULT_LISTEN_ADDRESS,
  DEFAULT_PROBE_PATH,
  DEFAULT_PROBE_TIMEOUT,
  DEFAULT_TELEMETRY_PATH,
} from "../exporter/defaults.ts";
import { OPTION_ROWS, type OptionKey, type OptionValues } from "./options.ts";

/** Output settings shared by both roles. */
export interface OutputConfig {
  /** Rate format (`-f`). */
  format: UnitFormat;
  /** Extra lines (`-V`). */
  verbose: boolean;
  /** One JSON document per test (`-J`). */
  json: boolean;
  /** One JSON line per event (`--json-stream`, implies `-J`). */
  jsonStream: boolean;
  /** With `--json-stream`, the whole document after the lines too (`--json-stream-full-output`). */
  jsonStreamFullOutput?: boolean;
  /** Append all output to this file instead of stdout/stderr (`--logfile`). */
  logfile?: string;
  /** Flush after every line (`--forceflush`; output is unbuffered anyway). */
  forceFlush: boolean;
  /** strftime format prefixed to every line (`--timestamps[=FORMAT]`). */
  timestamps?: string;
  /** Protocol trace on stdout (`-d`). */
  debug: boolean;
  /** Prefix for every line (`-T`, client only). */
  title?: string;
  /** Deprecated options given, each warned about on stderr (`--no-fq-socket-pacing`). */
  deprecated?: readonly string[];
  /** Draw the test to this `.svg` or `.html` file afterwards (`--plot`, client only). */
  plot?: string;
}

/** The server's settings. */
export interface ServerConfig {
  /** Port to listen on (`-p`). */
  port: number;
  /** Address to bind (`-B`). */
  bindAddress?: string;
  /** Only IPv4 / only IPv6 (`-4`/`-6`). */
  family?: 4 | 6;
  /** Serve one test and exit (`-1`). */
  oneOff: boolean;
  /** Seconds between interval reports (`-i`), 0 for none. */
  interval: number;
  /** Tests run at once; more clients are refused (`--max-tests`). */
  maxTests: number;
  /** Run detached in the background (`-D`). */
  daemon: boolean;
  /** Write the process id here, removed at exit (`-I`). */
  pidfile?: string;
  /** A one-off server unused for this many seconds stops (`--idle-timeout`). */
  idleTimeout?: number;
  /** Total rate limit per test, bits/s (`--server-bitrate-limit`). */
  bitrateLimit?: number;
  /** Seconds the rate limit is averaged over. */
  bitrateLimitWindow?: number;
  /** Longest test accepted, seconds (`--server-max-duration`). */
  maxDuration?: number;
  /** Receive timeout, ms (`--rcv-timeout`). */
  receiveTimeoutMs?: number;
  /** Send timeout, ms (`--snd-timeout`). */
  sendTimeoutMs?: number;
  /** TCP keepalive on control connections (`--cntl-ka`). */
  keepAlive: boolean;
  /** `--cntl-ka=IDLE/INTVL/CNT` timings (0: the system's). */
  keepAliveSettings?: KeepAliveSettings;
  /** Threads that move the streams' bytes (`--data-threads`); 0 for the in-process loops. */
  dataThreads?: number;
  /** `-F`: the file the tests' streams send from or receive into. */
  file?: string;
  /** `--metrics`: `HOST:PORT` of the Prometheus endpoint, as given (checked when it starts). */
  metrics?: string;
  /** Credentials required: the key and users files (read by the caller). */
  auth?: {
    /** `--rsa-private-key-path`. */
    privateKeyPath: string;
    /** `--authorized-users-path`. */
    usersPath: string;
    /** `--time-skew-threshold`, seconds. */
    skew: number;
    /** `--use-pkcs1-padding`. */
    pkcs1: boolean;
  };
}

/** A client's credentials (the password comes from IPERF3_PASSWORD or a prompt). */
export interface ClientAuthConfig {
  /** `--username`. */
  username: string;
  /** `--rsa-public-key-path`. */
  publicKeyPath: string;
  /** `--use-pkcs1-padding`. */
  pkcs1: boolean;
}

/** The exporter's settings (`--exporter`), with edgard/iperf3_exporter's defaults. */
export interface ExporterConfig {
  /** `--web.listen-address`, every one given (default `:9579`). */
  listenAddresses: readonly string[];
  /** `--iperf3.timeout`, seconds (default 30). */
  timeout: number;
  /** `--web.telemetry-path` (default `/metrics`). */
  telemetryPath: string;
  /** `--web.probe-path` (default `/probe`). */
  probePath: string;
  /** `--log.level`; an unknown level counts as `info`, as edgard's. */
  logLevel: ExporterLogLevel;
  /** `--log.format`; anything but `json` is `logfmt`, as edgard's. */
  logFormat: ExporterLogFormat;
}

const LOG_LEVELS: readonly string[] = ["debug", "info", "warn", "error"];

/** A validated test: the client's or the server's side, or the exporter. */
export type RoleConfig =
  | {
    readonly role: "client";
    readonly client: ClientConfig;
    readonly output: OutputConfig;
    readonly auth?: ClientAuthConfig;
    /** Where the client writes its PID while it runs (`-I`, as iperf3 3.21's client). */
    readonly pidfile?: string;
    /** The CPU this process is pinned to (`-A n`). */
    readonly affinity?: number;
  }
  | {
    readonly role: "server";
    readonly server: ServerConfig;
    readonly output: OutputConfig;
    /** The CPU this process is pinned to (`-A n`). */
    readonly affinity?: number;
  }
  | {
    readonly role: "exporter";
    readonly exporter: ExporterConfig;
  };

/**
 * `-A n[,m]`: this side's CPU, and (client) the server's for the test, as
 * iperf3 parses them (0-1024).
 */
function affinity(text: string | undefined): { cpu?: number; server?: number } {
  if (text === undefined) return {};
  const [own, other, extra] = text.split(",");
  const cpuOf = (part: string | undefined) => {
    if (part === undefined || !/^\d+$/.test(part) || Number(part) > 1024) {
      throw new UsageError(
        `unable to set CPU affinity: bad -A value "${text}"`,
      );
    }
    return Number(part);
  };
  if (extra !== undefined) cpuOf(undefined);
  return {
    cpu: cpuOf(own),
    ...(other !== undefined ? { server: cpuOf(other) } : {}),
  };
}

/**
 * Whether an option counts as given: a flag set to `false` (possible
 * through the library API) does not.
 *
 * @param values the options
 * @param key one of them
 * @returns whether it is given
 */
export function isGiven(values: OptionValues, key: OptionKey): boolean {
  const value = values[key];
  return value !== undefined && value !== false;
}

/**
 * The table's relations: the first conflict or missing partner, in table
 * order, throws.
 *
 * @param given whether an option is given
 * @throws {UsageError} with iperf3's message
 */
export function checkRelations(given: (key: OptionKey) => boolean): void {
  for (const row of OPTION_ROWS) {
    if (!given(row.key)) continue;
    for (const other of row.conflicts ?? []) {
      if (given(other.key)) throw new UsageError(other.message);
    }
    for (const other of row.requires ?? []) {
      if (!given(other.key)) throw new UsageError(other.message);
    }
  }
}

/**
 * Builds the client's or the server's config (`server` or `client` in
 * `values` says which). Every value is checked with its row's kind first,
 * so typed values (the library API's) pass the same checks as text.
 *
 * @param values the options
 * @returns the frozen config
 * @throws {UsageError} with iperf3's message for any bad value or combination
 */
export function buildConfig(values: OptionValues): RoleConfig {
  const v: OptionValues = { ...values };
  for (const row of OPTION_ROWS) row.check(v);
  checkRelations((key) => isGiven(v, key));
  const isServer = v.server === true;
  if (v.exporter === true) {
    if (isServer) throw new UsageError("cannot be both exporter and server");
    if (v.client !== undefined) {
      throw new UsageError("cannot be both exporter and client");
    }
    return deepFreeze({ role: "exporter", exporter: exporterConfig(v) });
  }
  if (isServer && v.client !== undefined) {
    throw new UsageError("cannot be both server and client");
  }
  if (!isServer && v.client === undefined) {
    throw new UsageError("must either be a client (-c) or server (-s)");
  }
  const family = v.version4 ? 4 : v.version6 ? 6 : undefined;
  const port = v.port ?? DEFAULT_PORT;
  const interval = v.interval ?? 1;
  const output: OutputConfig = {
    format: v.format ?? "a",
    verbose: v.verbose === true,
    // --json-stream implies -J.
    json: v.json === true || v.jsonStream === true,
    jsonStream: v.jsonStream === true,
    ...(v.jsonStreamFullOutput ? { jsonStreamFullOutput: true } : {}),
    forceFlush: v.forceFlush === true,
    debug: v.debug !== undefined,
  };
  if (v.logfile !== undefined) output.logfile = v.logfile;
  if (v.noFqSocketPacing) output.deprecated = ["--no-fq-socket-pacing"];
  if (v.timestamps !== undefined) output.timestamps = v.timestamps;
  if (v.plot !== undefined) output.plot = v.plot;
  const keepAliveSettings = typeof v.keepAlive === "object"
    ? v.keepAlive
    : undefined;
  const timeouts: { receiveTimeoutMs?: number; sendTimeoutMs?: number } = {};
  if (v.receiveTimeout !== undefined) {
    timeouts.receiveTimeoutMs = v.receiveTimeout;
  }
  if (v.sendTimeout !== undefined) timeouts.sendTimeoutMs = v.sendTimeout;

  if (isServer) {
    const server: ServerConfig = {
      port,
      oneOff: v.oneOff === true,
      interval,
      maxTests: v.maxTests ?? DEFAULT_MAX_TESTS,
      daemon: v.daemon === true,
      keepAlive: v.keepAlive !== undefined,
    };
    if (keepAliveSettings) server.keepAliveSettings = keepAliveSettings;
    if (v.dataThreads !== undefined) server.dataThreads = v.dataThreads;
    if (v.pidfile !== undefined) server.pidfile = v.pidfile;
    if (v.file !== undefined) server.file = v.file;
    if (v.metrics !== undefined) server.metrics = v.metrics;
    if (v.idleTimeout !== undefined) server.idleTimeout = v.idleTimeout;
    if (v.serverBitrateLimit !== undefined) {
      server.bitrateLimit = v.serverBitrateLimit.bitsPerSecond;
      if (v.serverBitrateLimit.window !== undefined) {
        server.bitrateLimitWindow = v.serverBitrateLimit.window;
      }
    }
    if (v.serverMaxDuration !== undefined) {
      server.maxDuration = v.serverMaxDuration;
    }
    Object.assign(server, timeouts);
    if (
      v.rsaPrivateKeyPath !== undefined && v.authorizedUsersPath !== undefined
    ) {
      server.auth = {
        privateKeyPath: v.rsaPrivateKeyPath,
        usersPath: v.authorizedUsersPath,
        skew: v.timeSkewThreshold ?? 10,
        pkcs1: v.usePkcs1Padding === true,
      };
    }
    if (v.bind !== undefined) server.bindAddress = v.bind;
    if (family !== undefined) server.family = family;
    const pin = affinity(v.affinity);
    if (pin.server !== undefined) {
      throw new UsageError(
        "some option you are trying to set is client only: -A n,m",
      );
    }
    return deepFreeze({
      role: "server",
      server,
      output,
      ...(pin.cpu !== undefined ? { affinity: pin.cpu } : {}),
    });
  }

  const host = v.client ?? "";
  const udp = v.udp === true;
  if (v.file !== undefined && udp) {
    throw new UsageError("cannot transfer file using UDP");
  }
  // iperf3: -F without -t, -n or -k sends the file's size (when it can
  // stat the file; otherwise the default duration stands).
  const fileBytes = v.file !== undefined && v.time === undefined &&
      v.bytes === undefined && v.blocks === undefined
    ? fileSize(v.file)
    : undefined;
  // An empty file ends the test at its first read instead.
  const bytes = v.bytes ?? (fileBytes || undefined);
  const ended = bytes !== undefined || v.blocks !== undefined;
  const time = v.time ?? (ended ? 0 : 10);
  // Without -l, iperf3 sizes UDP datagrams to the control connection's MSS:
  // the client session does so where it can read it (`defaultLength`), and
  // keeps 1460 otherwise, as iperf3 does without an MSS.
  const length = v.length === undefined
    ? (udp ? DEFAULT_UDP_BLKSIZE : DEFAULT_TCP_BLKSIZE)
    : blockSize(v.length, udp);
  const rate = v.bitrate ?? {
    bitsPerSecond: udp ? DEFAULT_UDP_RATE : 0,
    burst: 0,
  };
  const params = tcpTestParams({
    protocol: udp ? "udp" : "tcp",
    udpCounters64bit: v.udpCounters64bit === true,
    pacingTimer: v.pacingTimer ?? DEFAULT_PACING_TIMER,
    omit: v.omit ?? 0,
    time,
    bytes: bytes ?? 0,
    blocks: v.blocks ?? 0,
    parallel: v.parallel ?? 1,
    reverse: v.reverse === true,
    bidirectional: v.bidir === true,
    length,
    bandwidth: rate.bitsPerSecond,
    burst: rate.burst,
    noDelay: v.noDelay === true,
    repeatingPayload: v.repeatingPayload === true,
    getServerOutput: v.getServerOutput === true,
    window: v.window ?? 0,
    mss: v.mss ?? 0,
    // -S is the whole byte, --dscp its upper six bits (already shifted).
    tos: v.tos ?? v.dscp ?? 0,
    // Sent on the wire as iperf3 does; iperf-ts itself sends with ordinary
    // writes (Deno's sockets have no sendfile).
    zeroCopy: v.zeroCopy === true,
    dontFragment: v.dontFragment === true,
    // --no-fq-socket-pacing is iperf3's deprecated `--fq-rate 0`.
    fqRate: v.noFqSocketPacing ? 0 : v.fqRate?.bitsPerSecond ?? 0,
    flowLabel: v.flowlabel ?? 0,
    ...(v.skipRxCopy ? { skipRxCopy: true } : {}),
  });
  if (v.congestion !== undefined) params.congestion = v.congestion;
  if (v.extraData !== undefined) params.extraData = v.extraData;
  if (v.latency === true) params.latency = true;
  // iperf3 3.21 accepts --gsro with TCP too and only sends it for UDP.
  if (v.gsro === true && udp) {
    params.gso = true;
    params.gro = true;
  }
  if (v.title !== undefined) {
    params.title = v.title;
    output.title = v.title;
  }
  const client: ClientConfig = { host, port, params, interval };
  if (udp && v.length === undefined) client.defaultLength = true;
  if (v.file !== undefined) client.file = v.file;
  Object.assign(client, timeouts);
  if (
    client.receiveTimeoutMs !== undefined && !params.reverse &&
    !params.bidirectional
  ) {
    throw new UsageError(
      "client receive timeout is valid only in receiving mode",
    );
  }
  if (v.keepAlive !== undefined) client.keepAlive = true;
  if (v.dataThreads !== undefined) client.dataThreads = v.dataThreads;
  if (keepAliveSettings) client.keepAliveSettings = keepAliveSettings;
  if (family !== undefined) client.family = family;
  if (v.bind !== undefined) client.bindAddress = v.bind;
  if (v.bindDev !== undefined) client.bindDevice = v.bindDev;
  if (v.mptcp) client.mptcp = true;
  if (v.cport !== undefined) {
    client.cport = v.cport;
    if (client.cport + streamCount(params) - 1 > 65535) {
      throw new UsageError(
        "--cport leaves no room for every stream's port below 65536",
      );
    }
  }
  if (v.connectTimeout !== undefined) {
    client.connectTimeoutMs = v.connectTimeout;
  }
  if (host === "") throw new UsageError("the host name after -c is empty");
  const pin = affinity(v.affinity);
  if (pin.server !== undefined) params.serverAffinity = pin.server;
  if (v.username !== undefined && v.rsaPublicKeyPath !== undefined) {
    const auth: ClientAuthConfig = {
      username: v.username,
      publicKeyPath: v.rsaPublicKeyPath,
      pkcs1: v.usePkcs1Padding === true,
    };
    return deepFreeze({
      role: "client",
      client,
      output,
      auth,
      ...(v.pidfile !== undefined ? { pidfile: v.pidfile } : {}),
      ...(pin.cpu !== undefined ? { affinity: pin.cpu } : {}),
    });
  }
  return deepFreeze({
    role: "client",
    client,
    output,
    ...(v.pidfile !== undefined ? { pidfile: v.pidfile } : {}),
    ...(pin.cpu !== undefined ? { affinity: pin.cpu } : {}),
  });
}

/** The exporter's settings from its options. */
function exporterConfig(v: OptionValues): ExporterConfig {
  const level = v.logLevel ?? "info";
  return {
    listenAddresses: v.webListenAddress ?? [DEFAULT_LISTEN_ADDRESS],
    timeout: v.iperf3Timeout ?? DEFAULT_PROBE_TIMEOUT,
    telemetryPath: v.webTelemetryPath ?? DEFAULT_TELEMETRY_PATH,
    probePath: v.webProbePath ?? DEFAULT_PROBE_PATH,
    logLevel: LOG_LEVELS.includes(level) ? level as ExporterLogLevel : "info",
    logFormat: v.logFormat === "json" ? "json" : "logfmt",
  };
}

/** A file's size for `-F`, undefined when it cannot be read (iperf3 then keeps the default duration). */
function fileSize(path: string): number | undefined {
  try {
    return Deno.statSync(path).size;
  } catch {
    return undefined;
  }
}

/** `-l`: at most 1 MiB; 16 to 65507 bytes with `-u`. */
function blockSize(n: number, udp: boolean): number {
  if (udp && (n < LIMITS.MIN_UDP_BLOCKSIZE || n > LIMITS.MAX_UDP_BLOCKSIZE)) {
    throw new UsageError(
      `block size invalid (minimum = ${LIMITS.MIN_UDP_BLOCKSIZE} bytes, maximum = ${LIMITS.MAX_UDP_BLOCKSIZE} bytes)`,
    );
  }
  if (n <= 0 || n > LIMITS.MAX_BLOCKSIZE) {
    throw new UsageError(
      `block size too large (maximum = ${LIMITS.MAX_BLOCKSIZE} bytes)`,
    );
  }
  return n;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
