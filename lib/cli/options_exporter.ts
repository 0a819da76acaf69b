/**
 * The option table's "Exporter specific" rows: `--exporter` and
 * edgard/iperf3_exporter 1.3.1's flags, with its defaults and, where it has
 * them, its words. They are taken only with `--exporter`.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { goDurationSeconds, parseGoDuration } from "../exporter/go_duration.ts";
import { parseListenAddress } from "../exporter/listen_address.ts";
import { FLAG, text, type ValueKind } from "./option_kinds.ts";
import { option, type OptionRow } from "./option_row.ts";

/** `--web.listen-address`: Go's `host:port`, repeatable. */
const LISTEN_ADDRESSES: ValueKind<readonly string[]> = {
  describe: "host:port, [v6]:port or :port (repeatable)",
  parse: (value, name) => LISTEN_ADDRESSES.check([value ?? ""], name),
  check(addresses, name) {
    if (addresses.length === 0) {
      throw new UsageError(`--${name} needs at least one address`);
    }
    for (const address of addresses) {
      try {
        parseListenAddress(address);
      } catch (error) {
        throw new UsageError(
          `invalid --${name} value "${address}": ${messageOf(error)}`,
        );
      }
    }
    return addresses;
  },
  combine: (earlier, later) => [...earlier, ...later],
};

/** `--iperf3.timeout`: a Go duration above 0, in seconds. */
const TIMEOUT: ValueKind<number> = {
  describe: "Go duration (30s, 500ms, 1m30s), above 0",
  parse(value, name) {
    let seconds: number;
    try {
      seconds = goDurationSeconds(parseGoDuration(value ?? ""));
    } catch (error) {
      throw new UsageError(
        `invalid --${name} value "${value}": ${messageOf(error)}`,
      );
    }
    return TIMEOUT.check(seconds, name);
  },
  check(seconds) {
    // edgard's "Invalid configuration" reason.
    if (!(seconds > 0 && Number.isFinite(seconds))) {
      throw new UsageError("timeout must be greater than 0");
    }
    return seconds;
  },
};

/**
 * An HTTP path: not empty (edgard's message), starting with `/`.
 *
 * @param what `metrics` or `probe`, for the message
 */
function httpPath(what: string): ValueKind<string> {
  const check = (path: string, name: string) => {
    if (path === "") throw new UsageError(`${what} path cannot be empty`);
    if (!path.startsWith("/")) {
      throw new UsageError(
        `invalid --${name} value "${path}": must start with "/"`,
      );
    }
    return path;
  };
  return {
    describe: "URL path starting with /",
    parse: (value, name) => check(value ?? "", name),
    check,
  };
}

/** Rows for the exporter's options. */
export const EXPORTER_OPTIONS: readonly OptionRow[] = [
  option({
    long: "exporter",
    key: "exporter",
    arg: "none",
    role: "exporter",
    section: "exporter",
    kind: FLAG,
    help: [
      "run as a Prometheus exporter, a drop-in for",
      "edgard/iperf3_exporter: GET /probe?target=HOST runs",
      "a test and answers with its metrics",
    ],
  }),
  option({
    long: "web.listen-address",
    key: "webListenAddress",
    arg: "required",
    role: "exporter",
    section: "exporter",
    kind: LISTEN_ADDRESSES,
    synopsis: "--web.listen-address <addr>",
    help: [
      "addresses on which to expose metrics and web",
      "interface (repeatable; default :9579)",
    ],
  }),
  option({
    long: "web.telemetry-path",
    key: "webTelemetryPath",
    arg: "required",
    role: "exporter",
    section: "exporter",
    kind: httpPath("metrics"),
    synopsis: "--web.telemetry-path <path>",
    help: ["path under which to expose metrics", "(default /metrics)"],
  }),
  option({
    long: "web.probe-path",
    key: "webProbePath",
    arg: "required",
    role: "exporter",
    section: "exporter",
    kind: httpPath("probe"),
    synopsis: "--web.probe-path <path>",
    help: [
      "path under which to expose the probe endpoint",
      "(default /probe)",
    ],
  }),
  option({
    long: "iperf3.timeout",
    key: "iperf3Timeout",
    arg: "required",
    role: "exporter",
    section: "exporter",
    kind: TIMEOUT,
    synopsis: "--iperf3.timeout <dur>",
    help: [
      "iperf3 run timeout, a Go duration such as 30s, 500ms",
      "or 1m30s (default 30s)",
    ],
  }),
  option({
    long: "log.level",
    key: "logLevel",
    arg: "required",
    role: "exporter",
    section: "exporter",
    kind: text(),
    synopsis: "--log.level <level>",
    help: [
      "only log messages with the given severity or above:",
      "debug, info, warn, error (default info)",
    ],
  }),
  option({
    long: "log.format",
    key: "logFormat",
    arg: "required",
    role: "exporter",
    section: "exporter",
    kind: text(),
    synopsis: "--log.format <format>",
    help: [
      "output format of log messages: logfmt, json",
      "(default logfmt)",
    ],
  }),
  option({
    long: "web.config.file",
    key: "webConfigFile",
    arg: "required",
    role: "exporter",
    section: "exporter",
    kind: text(),
    notYet: "no TLS or basic authentication (exporter-toolkit web config)",
    help: [
      "path to configuration file that can enable TLS or",
      "authentication",
    ],
  }),
  option({
    long: "web.systemd-socket",
    key: "webSystemdSocket",
    arg: "none",
    role: "exporter",
    section: "exporter",
    kind: FLAG,
    notYet: "no systemd socket activation",
    help: [
      "use systemd socket activation listeners instead of",
      "port listeners (Linux only)",
    ],
  }),
];

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
