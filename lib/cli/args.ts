/**
 * The command line: iperf3's flags parsed with `node:util` `parseArgs` into a
 * validated, frozen {@linkcode CliConfig}. Never exits, never prints.
 *
 * @module
 */

import type { KeepAliveSettings } from "../net/stream_socket.ts";
import { parseArgs } from "node:util";
import { UsageError } from "../errors.ts";
import {
  DEFAULT_PACING_TIMER,
  DEFAULT_TCP_BLKSIZE,
  DEFAULT_UDP_BLKSIZE,
  DEFAULT_UDP_RATE,
  LIMITS,
  tcpTestParams,
} from "../protocol/params.ts";
import {
  parseRate,
  parseSize,
  parseUnitFormat,
  type UnitFormat,
} from "../units.ts";
import type { ClientConfig } from "../session/client.ts";
import { streamCount } from "../session/_streams.ts";
import { DEFAULT_MAX_TESTS, DEFAULT_PORT } from "../session/server.ts";

/** The `--timestamps` format when none is given (iperf3's). */
export const DEFAULT_TIMESTAMP_FORMAT = "%c ";

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

/** What the command line asks for, tagged by `role`. */
export type CliConfig =
  | {
    readonly role: "client";
    readonly client: ClientConfig;
    readonly output: OutputConfig;
    readonly auth?: ClientAuthConfig;
  }
  | {
    readonly role: "server";
    readonly server: ServerConfig;
    readonly output: OutputConfig;
  }
  | { readonly role: "help" }
  | { readonly role: "version" };

type OptionSpec = { type: "string" | "boolean"; short?: string };

/** iperf3's flags that iperf-ts implements. */
const OPTIONS = {
  "server": { type: "boolean", short: "s" },
  "client": { type: "string", short: "c" },
  "port": { type: "string", short: "p" },
  "format": { type: "string", short: "f" },
  "interval": { type: "string", short: "i" },
  "bind": { type: "string", short: "B" },
  "verbose": { type: "boolean", short: "V" },
  "version4": { type: "boolean", short: "4" },
  "version6": { type: "boolean", short: "6" },
  "help": { type: "boolean", short: "h" },
  "version": { type: "boolean", short: "v" },
  "one-off": { type: "boolean", short: "1" },
  "time": { type: "string", short: "t" },
  "bytes": { type: "string", short: "n" },
  "blockcount": { type: "string", short: "k" },
  "length": { type: "string", short: "l" },
  "parallel": { type: "string", short: "P" },
  "reverse": { type: "boolean", short: "R" },
  "bidir": { type: "boolean" },
  "omit": { type: "string", short: "O" },
  "title": { type: "string", short: "T" },
  "no-delay": { type: "boolean", short: "N" },
  "cport": { type: "string" },
  "connect-timeout": { type: "string" },
  "bitrate": { type: "string", short: "b" },
  "bandwidth": { type: "string" },
  "repeating-payload": { type: "boolean" },
  "json": { type: "boolean", short: "J" },
  "json-stream": { type: "boolean" },
  "logfile": { type: "string" },
  "forceflush": { type: "boolean" },
  "timestamps": { type: "boolean" },
  "debug": { type: "boolean", short: "d" },
  "get-server-output": { type: "boolean" },
  "extra-data": { type: "string" },
  "udp": { type: "boolean", short: "u" },
  "udp-counters-64bit": { type: "boolean" },
  "pacing-timer": { type: "string" },
  "max-tests": { type: "string" },
  "daemon": { type: "boolean", short: "D" },
  "pidfile": { type: "string", short: "I" },
  "idle-timeout": { type: "string" },
  "server-bitrate-limit": { type: "string" },
  "server-max-duration": { type: "string" },
  "rcv-timeout": { type: "string" },
  "snd-timeout": { type: "string" },
  "cntl-ka": { type: "boolean" },
  "username": { type: "string" },
  "rsa-public-key-path": { type: "string" },
  "rsa-private-key-path": { type: "string" },
  "authorized-users-path": { type: "string" },
  "time-skew-threshold": { type: "string" },
  "use-pkcs1-padding": { type: "boolean" },
  "window": { type: "string", short: "w" },
  "set-mss": { type: "string", short: "M" },
  "congestion": { type: "string", short: "C" },
  "linux-congestion": { type: "string" },
  "tos": { type: "string", short: "S" },
  "dscp": { type: "string" },
  "zerocopy": { type: "boolean", short: "Z" },
  "dont-fragment": { type: "boolean" },
  "data-threads": { type: "string" },
  "gsro": { type: "boolean" },
} as const satisfies Record<string, OptionSpec>;

/** iperf3 flags that are recognised but not implemented yet, with the reason. */
const NOT_YET: Record<string, OptionSpec & { why: string }> = {
  "affinity": { type: "string", short: "A", why: "Deno cannot pin CPUs" },
  "file": {
    type: "string",
    short: "F",
    why: "file transfer is not implemented",
  },
  "flowlabel": {
    type: "string",
    short: "L",
    why: "IPv6 flow labels (IPV6_FLOWLABEL_MGR) are not implemented",
  },
  "fq-rate": {
    type: "string",
    why: "fair-queue pacing (SO_MAX_PACING_RATE) is not implemented",
  },
  "sctp": { type: "boolean", why: "Deno has no SCTP sockets" },
  "bind-dev": { type: "string", why: "Deno cannot bind to a device" },
};

const CLIENT_ONLY = [
  "time",
  "bytes",
  "blockcount",
  "length",
  "parallel",
  "reverse",
  "bidir",
  "omit",
  "title",
  "no-delay",
  "cport",
  "connect-timeout",
  "bitrate",
  "bandwidth",
  "repeating-payload",
  "get-server-output",
  "extra-data",
  "udp",
  "udp-counters-64bit",
  "pacing-timer",
  "username",
  "rsa-public-key-path",
  "window",
  "set-mss",
  "congestion",
  "linux-congestion",
  "tos",
  "dscp",
  "zerocopy",
  "dont-fragment",
  "gsro",
] as const;

/**
 * Parses iperf3's command line.
 *
 * @example Usage
 * ```ts
 * import { parseCommandLine } from "./args.ts";
 * const config = parseCommandLine(["-c", "127.0.0.1", "-t", "5", "-P", "2"]);
 * if (config.role !== "client" || config.client.params.parallel !== 2) throw new Error();
 * ```
 *
 * @param args the arguments after the program name
 * @returns the validated configuration
 * @throws {UsageError} with iperf3's message for any bad flag or value
 */
export function parseCommandLine(args: string[]): CliConfig {
  // `--timestamps[=FORMAT]` and `--debug[=LEVEL]` take optional values,
  // which parseArgs cannot express: split them off first.
  let timestampFormat: string | undefined;
  let keepAliveSettings: KeepAliveSettings | undefined;
  args = args.map((arg) => {
    if (arg.startsWith("--timestamps=")) {
      timestampFormat = arg.slice("--timestamps=".length);
      return "--timestamps";
    }
    if (/^--debug=[1-4]$/.test(arg)) return "--debug";
    if (arg.startsWith("--cntl-ka=")) {
      keepAliveSettings = cntlKa(arg.slice("--cntl-ka=".length));
      return "--cntl-ka";
    }
    return arg;
  });
  const options: Record<string, OptionSpec> = { ...OPTIONS };
  for (const [name, spec] of Object.entries(NOT_YET)) {
    options[name] = spec.short === undefined
      ? { type: spec.type }
      : { type: spec.type, short: spec.short };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args,
      options,
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new UsageError(describeParseError(error));
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  for (const [name, spec] of Object.entries(NOT_YET)) {
    if (v[name] !== undefined) {
      throw new UsageError(
        `option --${name} is not supported by iperf-ts yet: ${spec.why}`,
      );
    }
  }
  if (v["help"]) return Object.freeze({ role: "help" });
  if (v["version"]) return Object.freeze({ role: "version" });
  const isServer = v["server"] === true;
  const host = v["client"] as string | undefined;
  if (isServer && host !== undefined) {
    throw new UsageError("cannot be both server and client");
  }
  if (!isServer && host === undefined) {
    throw new UsageError("must either be a client (-c) or server (-s)");
  }
  if (v["version4"] && v["version6"]) {
    throw new UsageError("options -4 and -6 cannot be used together");
  }
  const family = v["version4"] ? 4 : v["version6"] ? 6 : undefined;
  const port = v["port"] === undefined ? DEFAULT_PORT : integer(
    v["port"] as string,
    "port",
    1,
    65535,
    "port number must be between 1 and 65535 inclusive",
  );
  const interval = v["interval"] === undefined
    ? 1
    : reportInterval(v["interval"] as string);
  const output: OutputConfig = {
    format: v["format"] === undefined ? "a" : unitFormat(v["format"] as string),
    verbose: v["verbose"] === true,
    json: v["json"] === true || v["json-stream"] === true,
    jsonStream: v["json-stream"] === true,
    forceFlush: v["forceflush"] === true,
    debug: v["debug"] === true,
  };
  if (v["logfile"] !== undefined) {
    if (v["logfile"] === "") {
      throw new UsageError("the --logfile name is empty");
    }
    output.logfile = v["logfile"] as string;
  }
  if (v["timestamps"]) {
    output.timestamps = timestampFormat ?? DEFAULT_TIMESTAMP_FORMAT;
  }

  if (isServer) {
    const clientOnly = CLIENT_ONLY.find((name) => v[name] !== undefined);
    if (clientOnly !== undefined) {
      throw new UsageError(
        `some option you are trying to set is client only: --${clientOnly}`,
      );
    }
    const server: ServerConfig = {
      port,
      oneOff: v["one-off"] === true,
      interval,
      maxTests: v["max-tests"] === undefined ? DEFAULT_MAX_TESTS : integer(
        v["max-tests"] as string,
        "max-tests",
        1,
        1024,
        "--max-tests must be between 1 and 1024",
      ),
      daemon: v["daemon"] === true,
      keepAlive: v["cntl-ka"] === true,
    };
    if (keepAliveSettings) server.keepAliveSettings = keepAliveSettings;
    if (v["data-threads"] !== undefined) {
      server.dataThreads = dataThreads(v["data-threads"] as string);
    }
    if (v["pidfile"] !== undefined) {
      if (v["pidfile"] === "") {
        throw new UsageError("the --pidfile name is empty");
      }
      server.pidfile = v["pidfile"] as string;
    }
    if (v["idle-timeout"] !== undefined) {
      server.idleTimeout = integer(
        v["idle-timeout"] as string,
        "idle-timeout",
        1,
        86400,
        "idle timeout parameter is not positive or larger than allowed limit",
      );
    }
    if (v["server-bitrate-limit"] !== undefined) {
      const [rate, window] = (v["server-bitrate-limit"] as string).split("/");
      server.bitrateLimit = bitrate(rate ?? "").bitsPerSecond;
      if (server.bitrateLimit <= 0) {
        throw new UsageError("--server-bitrate-limit must be above 0");
      }
      if (window !== undefined) {
        server.bitrateLimitWindow = integer(
          window,
          "server-bitrate-limit",
          1,
          3600,
          "invalid time interval for calculating average data rate",
        );
      }
    }
    if (v["server-max-duration"] !== undefined) {
      server.maxDuration = integer(
        v["server-max-duration"] as string,
        "server-max-duration",
        1,
        LIMITS.MAX_TIME,
        "--server-max-duration must be 1 to 86400 seconds",
      );
    }
    Object.assign(server, timeouts(v));
    const key = v["rsa-private-key-path"] as string | undefined;
    const users = v["authorized-users-path"] as string | undefined;
    if ((key === undefined) !== (users === undefined)) {
      throw new UsageError(
        "you must specify a path to a valid RSA private key and a user credential file",
      );
    }
    if (key !== undefined && users !== undefined) {
      server.auth = {
        privateKeyPath: key,
        usersPath: users,
        skew: v["time-skew-threshold"] === undefined ? 10 : integer(
          v["time-skew-threshold"] as string,
          "time-skew-threshold",
          1,
          86400,
          "skew threshold must be a positive number",
        ),
        pkcs1: v["use-pkcs1-padding"] === true,
      };
    } else if (v["time-skew-threshold"] !== undefined) {
      throw new UsageError(
        "--time-skew-threshold goes with --rsa-private-key-path",
      );
    }
    if (v["bind"] !== undefined) server.bindAddress = v["bind"] as string;
    if (family !== undefined) server.family = family;
    return deepFreeze({ role: "server", server, output });
  }

  for (const name of ["one-off", "max-tests"] as const) {
    if (v[name] !== undefined) {
      throw new UsageError(
        `some option you are trying to set is server only: --${name}`,
      );
    }
  }
  for (
    const name of [
      "daemon",
      "pidfile",
      "idle-timeout",
      "server-bitrate-limit",
      "server-max-duration",
    ] as const
  ) {
    if (v[name] !== undefined) {
      throw new UsageError(
        `some option you are trying to set is server only: --${name}`,
      );
    }
  }
  const ends = ["time", "bytes", "blockcount"].filter((n) =>
    v[n] !== undefined
  );
  if (ends.length > 1) {
    throw new UsageError(
      "only one test end condition (-t, -n, -k) may be specified",
    );
  }
  if (v["reverse"] && v["bidir"]) {
    throw new UsageError("cannot be both reverse and bidirectional");
  }
  const time = v["time"] === undefined ? (ends.length ? 0 : 10) : integer(
    v["time"] as string,
    "time",
    0,
    LIMITS.MAX_TIME,
    `test duration too long (maximum = ${LIMITS.MAX_TIME} seconds)`,
  );
  const bytes = v["bytes"] === undefined
    ? 0
    : positiveSize(v["bytes"] as string, "bytes");
  const blocks = v["blockcount"] === undefined
    ? 0
    : positiveSize(v["blockcount"] as string, "blockcount");
  const udp = v["udp"] === true;
  // Without -l, iperf3 sizes UDP datagrams to the control connection's MSS:
  // the client session does so where it can read it (`defaultLength`), and
  // keeps 1460 otherwise, as iperf3 does without an MSS.
  const length = v["length"] === undefined
    ? (udp ? DEFAULT_UDP_BLKSIZE : DEFAULT_TCP_BLKSIZE)
    : blockSize(v["length"] as string, udp);
  const parallel = v["parallel"] === undefined ? 1 : integer(
    v["parallel"] as string,
    "parallel",
    1,
    LIMITS.MAX_STREAMS,
    `number of parallel streams must be between 1 and ${LIMITS.MAX_STREAMS}`,
  );
  const omit = v["omit"] === undefined ? 0 : integer(
    v["omit"] as string,
    "omit",
    0,
    LIMITS.MAX_OMIT,
    "bogus value for --omit",
  );
  const rateText = (v["bitrate"] ?? v["bandwidth"]) as string | undefined;
  const rate = rateText === undefined
    ? { bitsPerSecond: udp ? DEFAULT_UDP_RATE : 0, burst: 0 }
    : bitrate(rateText);
  const pacingTimer = v["pacing-timer"] === undefined
    ? DEFAULT_PACING_TIMER
    : integer(
      v["pacing-timer"] as string,
      "pacing-timer",
      1,
      1_000_000,
      "the pacing timer must be 1 to 1000000 microseconds",
    );

  const params = tcpTestParams({
    protocol: udp ? "udp" : "tcp",
    udpCounters64bit: v["udp-counters-64bit"] === true,
    pacingTimer,
    omit,
    time,
    bytes,
    blocks,
    parallel,
    reverse: v["reverse"] === true,
    bidirectional: v["bidir"] === true,
    length,
    bandwidth: rate.bitsPerSecond,
    burst: rate.burst,
    noDelay: v["no-delay"] === true,
    repeatingPayload: v["repeating-payload"] === true,
    getServerOutput: v["get-server-output"] === true,
    window: v["window"] === undefined ? 0 : socketBuffer(v["window"] as string),
    mss: v["set-mss"] === undefined ? 0 : integer(
      v["set-mss"] as string,
      "set-mss",
      0,
      LIMITS.MAX_MSS,
      `TCP MSS too large (maximum = ${LIMITS.MAX_MSS} bytes)`,
    ),
    tos: typeOfService(v),
    zeroCopy: v["zerocopy"] === true,
    dontFragment: v["dont-fragment"] === true,
  });
  const congestion = (v["congestion"] ?? v["linux-congestion"]) as
    | string
    | undefined;
  if (congestion !== undefined) {
    if (!/^[A-Za-z0-9_-]{1,15}$/.test(congestion)) {
      throw new UsageError(
        `invalid --congestion value "${congestion}": a congestion control algorithm name (1-15 letters, digits, - or _)`,
      );
    }
    params.congestion = congestion;
  }
  if (v["extra-data"] !== undefined) {
    params.extraData = v["extra-data"] as string;
  }
  // iperf3 3.21 accepts --gsro with TCP too and only sends it for UDP.
  if (v["gsro"] === true && udp) {
    params.gso = true;
    params.gro = true;
  }

  if (v["title"] !== undefined) {
    params.title = v["title"] as string;
    output.title = params.title;
  }
  const client: ClientConfig = { host: host as string, port, params, interval };
  if (udp && v["length"] === undefined) client.defaultLength = true;
  Object.assign(client, timeouts(v));
  if (
    client.receiveTimeoutMs !== undefined && !params.reverse &&
    !params.bidirectional
  ) {
    throw new UsageError(
      "client receive timeout is valid only in receiving mode",
    );
  }
  if (v["cntl-ka"]) client.keepAlive = true;
  if (v["data-threads"] !== undefined) {
    client.dataThreads = dataThreads(v["data-threads"] as string);
  }
  if (keepAliveSettings) client.keepAliveSettings = keepAliveSettings;
  if (family !== undefined) client.family = family;
  if (v["bind"] !== undefined) client.bindAddress = v["bind"] as string;
  if (v["cport"] !== undefined) {
    client.cport = integer(
      v["cport"] as string,
      "cport",
      1,
      65535,
      "port number must be between 1 and 65535 inclusive",
    );
    if (
      client.cport + streamCount(params) - 1 >
        65535
    ) {
      throw new UsageError(
        "--cport leaves no room for every stream's port below 65536",
      );
    }
  }
  if (v["connect-timeout"] !== undefined) {
    client.connectTimeoutMs = integer(
      v["connect-timeout"] as string,
      "connect-timeout",
      1,
      2 ** 31 - 1,
      "the connect timeout must be a positive number of milliseconds",
    );
  }
  if (host === "") throw new UsageError("the host name after -c is empty");
  for (
    const name of [
      "rsa-private-key-path",
      "authorized-users-path",
      "time-skew-threshold",
    ] as const
  ) {
    if (v[name] !== undefined) {
      throw new UsageError(
        `some option you are trying to set is server only: --${name}`,
      );
    }
  }
  const user = v["username"] as string | undefined;
  const publicKey = v["rsa-public-key-path"] as string | undefined;
  if ((user === undefined) !== (publicKey === undefined)) {
    throw new UsageError(
      "you must specify a username, password, and path to a valid RSA public key",
    );
  }
  if (user !== undefined && publicKey !== undefined) {
    const auth: ClientAuthConfig = {
      username: user,
      publicKeyPath: publicKey,
      pkcs1: v["use-pkcs1-padding"] === true,
    };
    return deepFreeze({ role: "client", client, output, auth });
  }
  return deepFreeze({ role: "client", client, output });
}

function timeouts(
  v: Record<string, string | boolean | undefined>,
): { receiveTimeoutMs?: number; sendTimeoutMs?: number } {
  const out: { receiveTimeoutMs?: number; sendTimeoutMs?: number } = {};
  if (v["rcv-timeout"] !== undefined) {
    out.receiveTimeoutMs = integer(
      v["rcv-timeout"] as string,
      "rcv-timeout",
      1,
      86_400_000,
      "receive timeout value is incorrect or not in range",
    );
  }
  if (v["snd-timeout"] !== undefined) {
    out.sendTimeoutMs = integer(
      v["snd-timeout"] as string,
      "snd-timeout",
      1,
      86_400_000,
      "send timeout value is incorrect or not in range",
    );
  }
  return out;
}

function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code;
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const m = /'([^']+)'/.exec(message);
    return `unrecognized option '${m?.[1] ?? message}'`;
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    const m = /'([^']+)'/.exec(message);
    return `option '${m?.[1]?.split(" ")[0] ?? "?"}' requires an argument`;
  }
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
    const m = /'([^']+)'/.exec(message);
    return `unexpected argument '${m?.[1] ?? message}'`;
  }
  return message.split("\n", 1)[0] ?? message;
}

/** The largest `--data-threads`. */
export const MAX_DATA_THREADS = 64;

function dataThreads(text: string): number {
  return integer(
    text,
    "data-threads",
    0,
    MAX_DATA_THREADS,
    `--data-threads must be between 0 and ${MAX_DATA_THREADS}`,
  );
}

function integer(
  text: string,
  name: string,
  min: number,
  max: number,
  rangeMessage: string,
): number {
  if (!/^\d+$/.test(text.trim())) {
    throw new UsageError(
      `invalid --${name} value "${text}": expected a whole number`,
    );
  }
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(rangeMessage);
  }
  return n;
}

/**
 * `--cntl-ka=IDLE/INTVL/CNT` (iperf3 3.19+): each part optional, 0 or empty
 * for the system's value; the idle time must exceed interval x count.
 */
function cntlKa(text: string): KeepAliveSettings {
  const parts = text.split("/");
  if (parts.length > 3 || parts.some((p) => !/^\d*$/.test(p))) {
    throw new UsageError(
      `invalid --cntl-ka value "${text}": expected IDLE/INTERVAL/COUNT, whole numbers, each optional`,
    );
  }
  const [idle, interval, count] = [0, 1, 2].map((i) =>
    Number(parts[i] || 0)
  ) as [
    number,
    number,
    number,
  ];
  if (idle && interval && count && idle <= interval * count) {
    throw new UsageError(
      `Keepalive Idle time (${idle}) should be greater than Retries-interval (${interval}) times Retries-count (${count})`,
    );
  }
  return { idle, interval, count };
}

/** `-w`: a size with an optional K/M/G suffix, at most 512 MiB (iperf3's MAX_TCP_BUFFER). */
function socketBuffer(text: string): number {
  let n: number;
  try {
    n = parseSize(text);
  } catch (error) {
    throw new UsageError(`invalid --window value: ${(error as Error).message}`);
  }
  if (n > LIMITS.MAX_TCP_BUFFER) {
    throw new UsageError(
      `socket buffer size too large (maximum = ${LIMITS.MAX_TCP_BUFFER} bytes)`,
    );
  }
  return Math.floor(n);
}

/** DSCP names iperf3 knows (RFC 4594 and friends), as code points. */
const DSCP_NAMES: Record<string, number> = {
  cs0: 0,
  cs1: 8,
  cs2: 16,
  cs3: 24,
  cs4: 32,
  cs5: 40,
  cs6: 48,
  cs7: 56,
  af11: 10,
  af12: 12,
  af13: 14,
  af21: 18,
  af22: 20,
  af23: 22,
  af31: 26,
  af32: 28,
  af33: 30,
  af41: 34,
  af42: 36,
  af43: 38,
  ef: 46,
  va: 44,
  le: 1,
};

/** A C `strtol(text, 0)` number: decimal, 0x hex or 0 octal; NaN otherwise. */
function cNumber(text: string): number {
  const t = text.trim();
  if (/^0[xX][0-9a-fA-F]+$/.test(t)) return parseInt(t.slice(2), 16);
  if (/^0[0-7]+$/.test(t)) return parseInt(t.slice(1), 8);
  if (/^\d+$/.test(t)) return Number(t);
  return NaN;
}

/** `-S` (the whole TOS byte) or `--dscp` (the upper six bits). */
function typeOfService(
  v: Record<string, string | boolean | undefined>,
): number {
  const bad = "bad TOS value (must be between 0 and 255 inclusive)";
  if (v["tos"] !== undefined && v["dscp"] !== undefined) {
    throw new UsageError("-S and --dscp set the same byte: give one of them");
  }
  if (v["tos"] !== undefined) {
    const n = cNumber(v["tos"] as string);
    if (!(n >= 0 && n <= LIMITS.MAX_TOS)) throw new UsageError(bad);
    return n;
  }
  if (v["dscp"] !== undefined) {
    const text = (v["dscp"] as string).trim().toLowerCase();
    const n = DSCP_NAMES[text] ?? cNumber(text);
    if (!(n >= 0 && n <= 63)) {
      throw new UsageError(
        `bad DSCP value "${v["dscp"]}" (0-63, or a name such as ef, af11, cs1)`,
      );
    }
    return n << 2;
  }
  return 0;
}

function reportInterval(text: string): number {
  const n = /^\d+(\.\d*)?$|^\.\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (Number.isNaN(n)) {
    throw new UsageError(
      `invalid --interval value "${text}": expected seconds`,
    );
  }
  if (n !== 0 && (n < 0.1 || n > 60)) {
    throw new UsageError(
      "invalid report interval (min = 0.1, max = 60 seconds)",
    );
  }
  return n;
}

function unitFormat(text: string): UnitFormat {
  try {
    return parseUnitFormat(text);
  } catch (error) {
    throw new UsageError(
      error instanceof Error ? error.message : String(error),
    );
  }
}

function positiveSize(text: string, name: string): number {
  let n: number;
  try {
    n = parseSize(text);
  } catch (error) {
    throw new UsageError(
      `invalid --${name} value: ${(error as Error).message}`,
    );
  }
  if (n <= 0) {
    throw new UsageError(`invalid --${name} value "${text}": must be above 0`);
  }
  return n;
}

function blockSize(text: string, udp: boolean): number {
  let n: number;
  try {
    n = parseSize(text);
  } catch (error) {
    throw new UsageError(`invalid --length value: ${(error as Error).message}`);
  }
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

function bitrate(text: string): { bitsPerSecond: number; burst: number } {
  try {
    return parseRate(text);
  } catch (error) {
    throw new UsageError(
      `invalid --bitrate value: ${(error as Error).message}`,
    );
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
