/**
 * The option table's "Server or Client" rows, in iperf3 3.21's `--help`
 * order and words.
 *
 * To implement a not-yet row: drop its `notYet`, and use its
 * `OptionValues` member where `build_config.ts` builds the config (the
 * row's comment says which field it goes to).
 *
 * @module
 */

import { DEFAULT_RECEIVE_TIMEOUT_MS } from "../session/client.ts";
import {
  DEBUG_LEVEL,
  FLAG,
  KEEP_ALIVE,
  REPORT_INTERVAL,
  text,
  TIMESTAMP_FORMAT,
  UNIT_FORMAT,
  wholeNumber,
} from "./option_kinds.ts";
import { option, type OptionRow } from "./option_row.ts";

/** Rows for options both sides take. */
export const COMMON_OPTIONS: readonly OptionRow[] = [
  option({
    long: "port",
    short: "p",
    key: "port",
    arg: "required",
    role: "both",
    section: "both",
    kind: wholeNumber(
      1,
      65535,
      "port number must be between 1 and 65535 inclusive",
    ),
    synopsis: "-p, --port      #",
    help: ["server port to listen on/connect to"],
  }),
  option({
    long: "format",
    short: "f",
    key: "format",
    arg: "required",
    role: "both",
    section: "both",
    kind: UNIT_FORMAT,
    synopsis: "-f, --format   [kmgtKMGT]",
    help: ["format to report: Kbits, Mbits, Gbits, Tbits"],
  }),
  option({
    long: "interval",
    short: "i",
    key: "interval",
    arg: "required",
    role: "both",
    section: "both",
    kind: REPORT_INTERVAL,
    synopsis: "-i, --interval  #",
    help: ["seconds between periodic throughput reports"],
  }),
  option({
    long: "pidfile",
    short: "I",
    key: "pidfile",
    arg: "required",
    role: "both",
    section: "both",
    kind: text("the --pidfile name is empty"),
    synopsis: "-I, --pidfile file",
    help: ["write PID file"],
    // Both roles write it while they run and remove it at the end.
  }),
  option({
    long: "file",
    short: "F",
    key: "file",
    arg: "required",
    role: "both",
    section: "both",
    kind: text("the --file name is empty"),
    synopsis: "-F, --file name",
    help: ["xmit/recv the specified file"],
    // ClientConfig and ServerConfig `file`: each TCP stream that sends reads
    // the file from its start, each that receives writes it (iperf3's
    // `diskfile_name`); with -F the in-process loops move the test.
  }),
  option({
    long: "affinity",
    short: "A",
    key: "affinity",
    arg: "required",
    role: "both",
    section: "both",
    kind: text(),
    synopsis: "-A, --affinity n[,m]",
    help: [
      "set CPU affinity core number to n (the core the process will use)",
      " (optional Client only m - the Server's core number for this test)",
    ],
    // RoleConfig `affinity` (run.ts pins the main thread before any Worker
    // starts; the Workers inherit it), and TestParams `serverAffinity`
    // (wire `server_affinity`) for the client's `,m`.
  }),
  option({
    long: "bind",
    short: "B",
    key: "bind",
    arg: "required",
    role: "both",
    section: "both",
    kind: text(),
    synopsis: "-B, --bind      <host>",
    help: ["bind to the interface associated with the address <host>"],
  }),
  option({
    long: "bind-dev",
    key: "bindDev",
    arg: "required",
    role: "both",
    section: "both",
    kind: text(),
    synopsis: "--bind-dev <dev>",
    help: ["bind to the network interface with SO_BINDTODEVICE"],
    // ClientConfig `bindDevice`: the client's TCP data streams are opened
    // through libc with SO_BINDTODEVICE before connect. A server's listener
    // is Deno's, which cannot be bound to a device.
    notYet: "the server's listener is Deno's and cannot be bound to a device",
    notYetRole: "server",
  }),
  option({
    long: "verbose",
    short: "V",
    key: "verbose",
    arg: "none",
    role: "both",
    section: "both",
    kind: FLAG,
    help: ["more detailed output"],
  }),
  option({
    long: "json",
    short: "J",
    key: "json",
    arg: "none",
    role: "both",
    section: "both",
    kind: FLAG,
    help: ["output in JSON format"],
  }),
  option({
    long: "json-stream",
    key: "jsonStream",
    arg: "none",
    role: "both",
    section: "both",
    kind: FLAG,
    help: ["output in line-delimited JSON format"],
  }),
  option({
    long: "json-stream-full-output",
    key: "jsonStreamFullOutput",
    arg: "none",
    role: "both",
    section: "both",
    kind: FLAG,
    help: ["output in JSON format with JSON streams enabled"],
    // OutputConfig `jsonStreamFullOutput`: JsonReporter prints the whole
    // document after the `--json-stream` lines (only with --json-stream).
  }),
  option({
    long: "logfile",
    key: "logfile",
    arg: "required",
    role: "both",
    section: "both",
    kind: text("the --logfile name is empty"),
    synopsis: "--logfile f",
    help: ["send output to a log file"],
  }),
  option({
    long: "forceflush",
    key: "forceFlush",
    arg: "none",
    role: "both",
    section: "both",
    kind: FLAG,
    help: ["force flushing output at every interval"],
  }),
  option({
    long: "timestamps",
    key: "timestamps",
    arg: "optional",
    role: "both",
    section: "both",
    kind: TIMESTAMP_FORMAT,
    synopsis: "--timestamps<=format>",
    help: [
      "emit a timestamp at the start of each output line",
      '(optional "=" and format string as per strftime(3))',
    ],
  }),
  option({
    long: "rcv-timeout",
    key: "receiveTimeout",
    arg: "required",
    role: "both",
    section: "both",
    kind: wholeNumber(
      1,
      86_400_000,
      "receive timeout value is incorrect or not in range",
    ),
    synopsis: "--rcv-timeout #",
    help: [
      `idle timeout for receiving data (default ${DEFAULT_RECEIVE_TIMEOUT_MS} ms)`,
    ],
  }),
  option({
    long: "snd-timeout",
    key: "sendTimeout",
    arg: "required",
    role: "both",
    section: "both",
    kind: wholeNumber(
      1,
      86_400_000,
      "send timeout value is incorrect or not in range",
    ),
    synopsis: "--snd-timeout #",
    help: [
      "timeout for unacknowledged TCP data",
      "(in ms, default is system settings)",
    ],
  }),
  option({
    long: "cntl-ka",
    key: "keepAlive",
    arg: "optional",
    role: "both",
    section: "both",
    kind: KEEP_ALIVE,
    synopsis: "--cntl-ka[=#/#/#]",
    help: [
      "use control connection TCP keepalive - KEEPIDLE/KEEPINTV/KEEPCNT",
      "each value is optional with system settings default",
    ],
  }),
  option({
    long: "mptcp",
    short: "m",
    key: "mptcp",
    arg: "none",
    role: "both",
    section: "both",
    kind: FLAG,
    help: ["use MPTCP rather than plain TCP"],
    // ClientConfig `mptcp`: the client's TCP data streams are opened with
    // IPPROTO_MPTCP through libc. A server's listener is Deno's (plain TCP;
    // an MPTCP client falls back to TCP against it).
    notYet: "the server's listener is Deno's, which cannot be MPTCP",
    notYetRole: "server",
  }),
  option({
    long: "debug",
    short: "d",
    key: "debug",
    arg: "optional",
    role: "both",
    section: "both",
    kind: DEBUG_LEVEL,
    synopsis: "-d, --debug[=#]",
    help: [
      "emit debugging output",
      '(optional "=" and debug level: 1-4. Default is 4 - all messages)',
    ],
  }),
  option({
    long: "version",
    short: "v",
    key: "version",
    arg: "none",
    role: "both",
    section: "both",
    kind: FLAG,
    help: ["show version information and quit"],
  }),
  option({
    long: "help",
    short: "h",
    key: "help",
    arg: "none",
    role: "both",
    section: "both",
    kind: FLAG,
    help: ["show this message and quit"],
  }),
];
