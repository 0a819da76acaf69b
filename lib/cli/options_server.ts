/**
 * The option table's "Server specific" rows, in iperf3 3.21's `--help`
 * order and words, and iperf-ts's own `--metrics` (listed with iperf-ts's
 * options).
 *
 * @module
 */

import { LIMITS } from "../protocol/params.ts";
import { BITRATE_LIMIT, FLAG, text, wholeNumber } from "./option_kinds.ts";
import { option, type OptionRow } from "./option_row.ts";

const KEY_AND_USERS =
  "you must specify a path to a valid RSA private key and a user credential file";

/** Rows for the server's options. */
export const SERVER_OPTIONS: readonly OptionRow[] = [
  option({
    long: "server",
    short: "s",
    key: "server",
    arg: "none",
    role: "server",
    section: "server",
    kind: FLAG,
    help: ["run in server mode"],
  }),
  option({
    long: "daemon",
    short: "D",
    key: "daemon",
    arg: "none",
    role: "server",
    section: "server",
    kind: FLAG,
    help: ["run the server as a daemon"],
  }),
  option({
    long: "one-off",
    short: "1",
    key: "oneOff",
    arg: "none",
    role: "server",
    section: "server",
    kind: FLAG,
    help: ["handle one client connection then exit"],
  }),
  option({
    long: "server-bitrate-limit",
    key: "serverBitrateLimit",
    arg: "required",
    role: "server",
    section: "server",
    kind: BITRATE_LIMIT,
    // iperf3 3.21 leaves three spaces after this long names column.
    synopsis: "--server-bitrate-limit #[KMG][/#]  ",
    help: [
      "server's total bit rate limit (default 0 = no limit)",
      "(optional slash and number of secs interval for averaging",
      "total data rate.  Default is 5 seconds)",
    ],
  }),
  option({
    long: "idle-timeout",
    key: "idleTimeout",
    arg: "required",
    role: "server",
    section: "server",
    kind: wholeNumber(
      1,
      86400,
      "idle timeout parameter is not positive or larger than allowed limit",
    ),
    synopsis: "--idle-timeout #",
    help: [
      "restart idle server after # seconds in case it",
      "got stuck (default - no timeout)",
    ],
  }),
  option({
    long: "server-max-duration",
    key: "serverMaxDuration",
    arg: "required",
    role: "server",
    section: "server",
    kind: wholeNumber(
      1,
      LIMITS.MAX_TIME,
      "--server-max-duration must be 1 to 86400 seconds",
    ),
    synopsis: "--server-max-duration #",
    help: [
      "max time, in seconds, that an iperf test can run against the server",
    ],
  }),
  option({
    long: "rsa-private-key-path",
    key: "rsaPrivateKeyPath",
    arg: "required",
    role: "server",
    section: "server",
    kind: text(),
    requires: [{ key: "authorizedUsersPath", message: KEY_AND_USERS }],
    help: [
      "path to the RSA private key used to decrypt",
      "authentication credentials",
    ],
  }),
  option({
    long: "authorized-users-path",
    key: "authorizedUsersPath",
    arg: "required",
    role: "server",
    section: "server",
    kind: text(),
    requires: [{ key: "rsaPrivateKeyPath", message: KEY_AND_USERS }],
    help: [
      "path to the configuration file containing user",
      "credentials",
    ],
  }),
  option({
    long: "time-skew-threshold",
    key: "timeSkewThreshold",
    arg: "required",
    role: "server",
    section: "server",
    kind: wholeNumber(1, 86400, "skew threshold must be a positive number"),
    requires: [{
      key: "rsaPrivateKeyPath",
      message: "--time-skew-threshold goes with --rsa-private-key-path",
    }],
    help: [
      "time skew threshold (in seconds) between the server",
      "and client during the authentication process",
    ],
  }),
  option({
    long: "use-pkcs1-padding",
    key: "usePkcs1Padding",
    arg: "none",
    // iperf3 3.21 takes it on the server only; iperf-ts's client takes it
    // too, to encrypt its credentials for a server that uses PKCS #1.
    role: "both",
    section: "server",
    kind: FLAG,
    help: ["use pkcs1 padding at your own risk"],
  }),
  option({
    long: "metrics",
    key: "metrics",
    arg: "required",
    role: "server",
    section: "iperf-ts",
    // Checked when the endpoint starts, so a bad address is one line
    // (`iperf3: error - cannot serve metrics on ...`), as a -B that cannot
    // be bound is.
    kind: { ...text(), describe: "HOST:PORT" },
    synopsis: "--metrics       <host>:#",
    help: [
      "serve the server's counters for Prometheus at",
      "http://<host>:#/metrics (:# for every address)",
    ],
  }),
];
