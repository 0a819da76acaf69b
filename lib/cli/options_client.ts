/**
 * The option table's "Client specific" rows up to `--bidir` (the test's
 * shape), in iperf3 3.21's `--help` order and words;
 * `options_client_more.ts` has the rest.
 *
 * To implement a not-yet row: drop its `notYet`, and use its
 * `OptionValues` member where `build_config.ts` builds the client config
 * (the row's comment says which field it goes to).
 *
 * @module
 */

import { DEFAULT_PACING_TIMER, LIMITS } from "../protocol/params.ts";
import {
  FLAG,
  POSITIVE_SIZE,
  RATE,
  SIZE,
  text,
  wholeNumber,
} from "./option_kinds.ts";
import { option, type OptionRow } from "./option_row.ts";

const ONE_END = "only one test end condition (-t, -n, -k) may be specified";

/** Rows for the client's options up to `--bidir`. */
export const CLIENT_OPTIONS: readonly OptionRow[] = [
  option({
    long: "client",
    short: "c",
    key: "client",
    arg: "required",
    role: "client",
    section: "client",
    kind: text(),
    synopsis: "-c, --client    <host>",
    help: ["run in client mode, connecting to <host>"],
  }),
  option({
    long: "sctp",
    key: "sctp",
    arg: "none",
    role: "client",
    section: "client",
    kind: FLAG,
    help: ["use SCTP rather than TCP"],
    // Goes to TestParams `protocol: "sctp"`, with SCTP streams in lib/stream.
    notYet: "Deno has no SCTP sockets",
  }),
  option({
    long: "udp",
    short: "u",
    key: "udp",
    arg: "none",
    role: "client",
    section: "client",
    kind: FLAG,
    help: ["use UDP rather than TCP"],
  }),
  option({
    long: "connect-timeout",
    key: "connectTimeout",
    arg: "required",
    role: "client",
    section: "client",
    kind: wholeNumber(
      1,
      2 ** 31 - 1,
      "the connect timeout must be a positive number of milliseconds",
    ),
    synopsis: "--connect-timeout #",
    help: ["timeout for control connection setup (ms)"],
  }),
  option({
    long: "bitrate",
    short: "b",
    aliases: ["bandwidth"],
    key: "bitrate",
    arg: "required",
    role: "client",
    section: "client",
    kind: RATE,
    synopsis: "-b, --bitrate #[KMG][/#]",
    help: [
      "target bitrate in bits/sec (0 for unlimited)",
      "(default 1 Mbit/sec for UDP, unlimited for TCP)",
      "(optional slash and packet count for burst mode)",
    ],
  }),
  option({
    long: "pacing-timer",
    key: "pacingTimer",
    arg: "required",
    role: "client",
    section: "client",
    kind: wholeNumber(
      1,
      1_000_000,
      "the pacing timer must be 1 to 1000000 microseconds",
    ),
    synopsis: "--pacing-timer #[KMG]",
    help: [
      `set the Server timing for pacing, in microseconds (default ${DEFAULT_PACING_TIMER})`,
      "(deprecated - for servers using older versions backward compatibility)",
    ],
  }),
  option({
    long: "fq-rate",
    key: "fqRate",
    arg: "required",
    role: "client",
    section: "client",
    kind: RATE,
    synopsis: "--fq-rate #[KMG]",
    help: [
      "enable fair-queuing based socket pacing in",
      "bits/sec (Linux only)",
    ],
    // TestParams `fqRate` (wire `fqrate`): SO_MAX_PACING_RATE on each
    // data socket of both sides (lib/net/stream_socket.ts).
  }),
  option({
    long: "no-fq-socket-pacing",
    key: "noFqSocketPacing",
    arg: "none",
    role: "client",
    section: "client",
    kind: FLAG,
    // Not in iperf3 3.21's --help: deprecated there, as `--fq-rate 0` with
    // a warning (OutputConfig `deprecated`).
  }),
  option({
    long: "time",
    short: "t",
    key: "time",
    arg: "required",
    role: "client",
    section: "client",
    kind: wholeNumber(
      0,
      LIMITS.MAX_TIME,
      `test duration too long (maximum = ${LIMITS.MAX_TIME} seconds)`,
    ),
    conflicts: [
      { key: "bytes", message: ONE_END },
      { key: "blocks", message: ONE_END },
    ],
    synopsis: "-t, --time      #",
    help: ["time in seconds to transmit for (default 10 secs)"],
  }),
  option({
    long: "bytes",
    short: "n",
    key: "bytes",
    arg: "required",
    role: "client",
    section: "client",
    kind: POSITIVE_SIZE,
    conflicts: [{ key: "blocks", message: ONE_END }],
    synopsis: "-n, --bytes     #[KMG]",
    help: [
      "transmit until the end of the interval when the client sent or received",
      "(per direction) at least this number of bytes (instead of -t or -k)",
    ],
  }),
  option({
    long: "blockcount",
    short: "k",
    key: "blocks",
    arg: "required",
    role: "client",
    section: "client",
    kind: POSITIVE_SIZE,
    synopsis: "-k, --blockcount #[KMG]",
    help: [
      "transmit until the end of the interval when the client sent or received",
      "(per direction) at least this number of blocks (instead of -t or -n)",
    ],
  }),
  option({
    long: "length",
    short: "l",
    key: "length",
    arg: "required",
    role: "client",
    section: "client",
    // The range depends on -u: checked in build_config.ts.
    kind: SIZE,
    synopsis: "-l, --length    #[KMG]",
    help: [
      "length of buffer to read or write",
      "(default 128 KB for TCP, dynamic or 1460 for UDP)",
    ],
  }),
  option({
    long: "cport",
    key: "cport",
    arg: "required",
    role: "client",
    section: "client",
    kind: wholeNumber(
      1,
      65535,
      "port number must be between 1 and 65535 inclusive",
    ),
    synopsis: "--cport         <port>",
    help: [
      "bind to a specific client port (TCP and UDP, default: ephemeral port)",
    ],
  }),
  option({
    long: "parallel",
    short: "P",
    key: "parallel",
    arg: "required",
    role: "client",
    section: "client",
    kind: wholeNumber(
      1,
      LIMITS.MAX_STREAMS,
      `number of parallel streams must be between 1 and ${LIMITS.MAX_STREAMS}`,
    ),
    synopsis: "-P, --parallel  #",
    help: ["number of parallel client streams to run"],
  }),
  option({
    long: "reverse",
    short: "R",
    key: "reverse",
    arg: "none",
    role: "client",
    section: "client",
    kind: FLAG,
    conflicts: [{
      key: "bidir",
      message: "cannot be both reverse and bidirectional",
    }],
    help: ["run in reverse mode (server sends, client receives)"],
  }),
  option({
    long: "bidir",
    key: "bidir",
    arg: "none",
    role: "client",
    section: "client",
    kind: FLAG,
    help: [
      "run in bidirectional mode.",
      "Client and server send and receive data.",
    ],
  }),
];
