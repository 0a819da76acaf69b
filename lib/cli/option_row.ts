/**
 * The shape of the option table: {@linkcode OptionValues} (every option's
 * typed value, camelCase) and {@linkcode OptionRow} (one option: names,
 * value kind, role, relations, help text, whether it is implemented), and
 * `option()`, which ties a row's value kind to its `OptionValues` member so
 * the compiler checks one against the other.
 *
 * @module
 */

import type { UnitFormat } from "../units.ts";
import type { ParsedRate } from "../units.ts";
import type {
  BitrateLimit,
  KeepAliveOption,
  ValueKind,
} from "./option_kinds.ts";

/**
 * Every option's value once read, keyed by the option's camelCase name.
 * The command line fills it from text, the library API from its typed
 * options; `buildConfig()` turns it into a client or server config.
 */
export interface OptionValues {
  // Server or client.
  /** `-p`. */
  port?: number;
  /** `-f`. */
  format?: UnitFormat;
  /** `-i`. */
  interval?: number;
  /** `-I`. */
  pidfile?: string;
  /** `-F` (not implemented yet). */
  file?: string;
  /** `-A` (not implemented yet). */
  affinity?: string;
  /** `-B`. */
  bind?: string;
  /** `--bind-dev` (not implemented yet). */
  bindDev?: string;
  /** `-V`. */
  verbose?: boolean;
  /** `-J`. */
  json?: boolean;
  /** `--json-stream`. */
  jsonStream?: boolean;
  /** `--json-stream-full-output` (not implemented yet). */
  jsonStreamFullOutput?: boolean;
  /** `--logfile`. */
  logfile?: string;
  /** `--forceflush`. */
  forceFlush?: boolean;
  /** `--timestamps[=FORMAT]`: the format. */
  timestamps?: string;
  /** `--rcv-timeout`, ms. */
  receiveTimeout?: number;
  /** `--snd-timeout`, ms. */
  sendTimeout?: number;
  /** `--cntl-ka[=IDLE/INTVL/CNT]`. */
  keepAlive?: KeepAliveOption;
  /** `-m` (not implemented yet). */
  mptcp?: boolean;
  /** `-d[=LEVEL]`: the level. */
  debug?: number;
  /** `-v`. */
  version?: boolean;
  /** `-h`. */
  help?: boolean;
  // Server.
  /** `-s`. */
  server?: boolean;
  /** `-D`. */
  daemon?: boolean;
  /** `-1`. */
  oneOff?: boolean;
  /** `--server-bitrate-limit`. */
  serverBitrateLimit?: BitrateLimit;
  /** `--idle-timeout`, seconds. */
  idleTimeout?: number;
  /** `--server-max-duration`, seconds. */
  serverMaxDuration?: number;
  /** `--rsa-private-key-path`. */
  rsaPrivateKeyPath?: string;
  /** `--authorized-users-path`. */
  authorizedUsersPath?: string;
  /** `--time-skew-threshold`, seconds. */
  timeSkewThreshold?: number;
  /** `--use-pkcs1-padding`. */
  usePkcs1Padding?: boolean;
  // Client.
  /** `-c`: the server's host. */
  client?: string;
  /** `--sctp` (not implemented yet). */
  sctp?: boolean;
  /** `-u`. */
  udp?: boolean;
  /** `--connect-timeout`, ms. */
  connectTimeout?: number;
  /** `-b`: rate and burst. */
  bitrate?: ParsedRate;
  /** `--pacing-timer`, microseconds. */
  pacingTimer?: number;
  /** `--fq-rate` (not implemented yet). */
  fqRate?: ParsedRate;
  /** `--no-fq-socket-pacing` (not implemented yet; deprecated in iperf3). */
  noFqSocketPacing?: boolean;
  /** `-t`, seconds. */
  time?: number;
  /** `-n`. */
  bytes?: number;
  /** `-k`. */
  blocks?: number;
  /** `-l`. */
  length?: number;
  /** `--cport`. */
  cport?: number;
  /** `-P`. */
  parallel?: number;
  /** `-R`. */
  reverse?: boolean;
  /** `--bidir`. */
  bidir?: boolean;
  /** `-w`, bytes. */
  window?: number;
  /** `-C`. */
  congestion?: string;
  /** `-M`. */
  mss?: number;
  /** `-N`. */
  noDelay?: boolean;
  /** `-4`. */
  version4?: boolean;
  /** `-6`. */
  version6?: boolean;
  /** `-S`: the TOS byte. */
  tos?: number;
  /** `--dscp`: the TOS byte it makes. */
  dscp?: number;
  /** `-L` (not implemented yet). */
  flowlabel?: number;
  /** `-Z`. */
  zeroCopy?: boolean;
  /** `--skip-rx-copy` (not implemented yet). */
  skipRxCopy?: boolean;
  /** `-O`, seconds. */
  omit?: number;
  /** `-T`. */
  title?: string;
  /** `--extra-data`. */
  extraData?: string;
  /** `--get-server-output`. */
  getServerOutput?: boolean;
  /** `--udp-counters-64bit`. */
  udpCounters64bit?: boolean;
  /** `--gsro`. */
  gsro?: boolean;
  /** `--repeating-payload`. */
  repeatingPayload?: boolean;
  /** `--dont-fragment`. */
  dontFragment?: boolean;
  /** `--username`. */
  username?: string;
  /** `--rsa-public-key-path`. */
  rsaPublicKeyPath?: string;
  // iperf-ts.
  /** `--max-tests`. */
  maxTests?: number;
  /** `--data-threads`. */
  dataThreads?: number;
  /** `--metrics`: `HOST:PORT` of the Prometheus endpoint. */
  metrics?: string;
  /** `--latency`. */
  latency?: boolean;
  // Exporter (edgard/iperf3_exporter's flags).
  /** `--exporter`. */
  exporter?: boolean;
  /** `--web.listen-address`, every one given. */
  webListenAddress?: readonly string[];
  /** `--iperf3.timeout`, seconds. */
  iperf3Timeout?: number;
  /** `--web.telemetry-path`. */
  webTelemetryPath?: string;
  /** `--web.probe-path`. */
  webProbePath?: string;
  /** `--log.level`. */
  logLevel?: string;
  /** `--log.format`. */
  logFormat?: string;
  /** `--web.config.file` (not implemented yet). */
  webConfigFile?: string;
  /** `--web.systemd-socket` (not implemented yet). */
  webSystemdSocket?: boolean;
  /** `--plot`: the picture written after the test (or from `--plot-from`). */
  plot?: string;
  /** `--plot-from`: a saved `-J` or `--json-stream` file to draw; no test runs. */
  plotFrom?: string;
}

/** A member of {@linkcode OptionValues}. */
export type OptionKey = keyof OptionValues;

/** Which side an option belongs to (`exporter`: only with `--exporter`). */
export type OptionRole = "client" | "server" | "both" | "exporter";

/** The `--help` section a row is listed in. */
export type HelpSection =
  | "both"
  | "server"
  | "client"
  | "iperf-ts"
  | "exporter";

/** Another option that must not, or must, be given with this one. */
export interface OptionRelation {
  /** The other option's value. */
  readonly key: OptionKey;
  /** iperf3's message when the rule is broken. */
  readonly message: string;
}

/** One row of the option table, as the parser, `--help` and the docs use it. */
export interface OptionRow {
  /** The long name, without `--`. */
  readonly long: string;
  /** The short letter, without `-`. */
  readonly short?: string;
  /** Other long names for the same option (`--bandwidth` for `--bitrate`). */
  readonly aliases?: readonly string[];
  /** Its member of {@linkcode OptionValues}. */
  readonly key: OptionKey;
  /** Whether it takes a value: never, always (`-p 5201`), or optionally (`--cntl-ka[=...]`). */
  readonly arg: "none" | "required" | "optional";
  /** Which side may give it; the other side's parser refuses it as iperf3 does. */
  readonly role: OptionRole;
  /** The `--help` section (iperf3 3.21's, which is not always the role: `-4` is listed under the client). */
  readonly section: HelpSection;
  /** The names column of `--help`, e.g. `-p, --port      #`. */
  readonly synopsis: string;
  /** The `--help` description lines, in iperf3 3.21's words; absent: not listed (as iperf3 hides it). */
  readonly help?: readonly string[];
  /** Set when recognised but not implemented yet: why, in a few words. */
  readonly notYet?: string;
  /** With `notYet`: the only role where it is not implemented (`-I` on the client). */
  readonly notYetRole?: "client" | "server";
  /** Options it cannot be given with. */
  readonly conflicts?: readonly OptionRelation[];
  /** Options it must be given with. */
  readonly requires?: readonly OptionRelation[];
  /** What the value is, for the docs. */
  readonly describe: string;
  /** Set when it may be given more than once (each value counts). */
  readonly repeatable?: true;
  /** Reads the command line's text (undefined when none) into `values[key]`. */
  read(values: OptionValues, text: string | undefined): void;
  /** Validates `values[key]` when it arrived typed (the library API). */
  check(values: OptionValues): void;
}

/** What `option()` takes: a row without the methods, with its value kind. */
export type OptionSpec<K extends OptionKey> =
  & Omit<
    OptionRow,
    "key" | "read" | "check" | "describe" | "synopsis" | "repeatable"
  >
  & {
    /** Its member of {@linkcode OptionValues}. */
    readonly key: K;
    /** How its value is read and checked; must produce `OptionValues[key]`. */
    readonly kind: ValueKind<NonNullable<OptionValues[K]>>;
    /** The `--help` names column; by default built from the names. */
    readonly synopsis?: string;
  };

/**
 * Makes a row; the compiler checks that `kind` yields the type of
 * `OptionValues[key]`.
 *
 * @param spec the row's fields and value kind
 * @returns the row
 */
export function option<K extends OptionKey>(spec: OptionSpec<K>): OptionRow {
  const { kind, key, long } = spec;
  return {
    ...spec,
    synopsis: spec.synopsis ??
      (spec.short === undefined ? `--${long}` : `-${spec.short}, --${long}`),
    describe: kind.describe,
    ...(kind.combine ? { repeatable: true } : {}),
    read(values, text) {
      const value = kind.parse(text, long);
      const earlier = values[key];
      values[key] = earlier !== undefined && kind.combine
        ? kind.combine(earlier as NonNullable<OptionValues[K]>, value)
        : value;
    },
    check(values) {
      const value = values[key];
      if (value !== undefined) values[key] = kind.check(value, long);
    },
  };
}
