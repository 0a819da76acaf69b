/**
 * The option table's "Client specific" rows from `-w` on (socket options,
 * payload, output, credentials), in iperf3 3.21's `--help` order and words;
 * `options_client.ts` has the ones before.
 *
 * To implement a not-yet row: drop its `notYet`, and use its
 * `OptionValues` member where `build_config.ts` builds the client config
 * (the row's comment says which field it goes to).
 *
 * @module
 */

import { LIMITS } from "../protocol/params.ts";
import {
  CONGESTION,
  DSCP,
  FLAG,
  FLOW_LABEL,
  PLOT_FILE,
  SOCKET_BUFFER,
  text,
  TOS,
  wholeNumber,
} from "./option_kinds.ts";
import { option, type OptionRow } from "./option_row.ts";

const USER_AND_KEY =
  "you must specify a username, password, and path to a valid RSA public key";

/** Rows for the client's options from `-w` on. */
export const CLIENT_MORE_OPTIONS: readonly OptionRow[] = [
  option({
    long: "window",
    short: "w",
    key: "window",
    arg: "required",
    role: "client",
    section: "client",
    kind: SOCKET_BUFFER,
    synopsis: "-w, --window    #[KMG]",
    help: [
      "set send/receive socket buffer sizes",
      "(indirectly sets TCP window size)",
    ],
  }),
  option({
    long: "congestion",
    short: "C",
    aliases: ["linux-congestion"],
    key: "congestion",
    arg: "required",
    role: "client",
    section: "client",
    kind: CONGESTION,
    synopsis: "-C, --congestion <algo>",
    help: [
      "set TCP congestion control algorithm (Linux and FreeBSD only)",
    ],
  }),
  option({
    long: "set-mss",
    short: "M",
    key: "mss",
    arg: "required",
    role: "client",
    section: "client",
    kind: wholeNumber(
      0,
      LIMITS.MAX_MSS,
      `TCP MSS too large (maximum = ${LIMITS.MAX_MSS} bytes)`,
    ),
    synopsis: "-M, --set-mss   #",
    help: ["set TCP/SCTP maximum segment size (MTU - 40 bytes)"],
  }),
  option({
    long: "no-delay",
    short: "N",
    key: "noDelay",
    arg: "none",
    role: "client",
    section: "client",
    kind: FLAG,
    help: ["set TCP/SCTP no delay, disabling Nagle's Algorithm"],
  }),
  option({
    long: "version4",
    short: "4",
    key: "version4",
    arg: "none",
    // Listed under the client by iperf3 3.21, but a server takes it too.
    role: "both",
    section: "client",
    kind: FLAG,
    conflicts: [{
      key: "version6",
      message: "options -4 and -6 cannot be used together",
    }],
    help: ["only use IPv4"],
  }),
  option({
    long: "version6",
    short: "6",
    key: "version6",
    arg: "none",
    role: "both",
    section: "client",
    kind: FLAG,
    help: ["only use IPv6"],
  }),
  option({
    long: "tos",
    short: "S",
    key: "tos",
    arg: "required",
    role: "client",
    section: "client",
    kind: TOS,
    conflicts: [{
      key: "dscp",
      message: "-S and --dscp set the same byte: give one of them",
    }],
    synopsis: "-S, --tos N",
    help: [
      "set the IP type of service, 0-255.",
      "The usual prefixes for octal and hex can be used,",
      "i.e. 52, 064 and 0x34 all specify the same value.",
    ],
  }),
  option({
    long: "dscp",
    key: "dscp",
    arg: "required",
    role: "client",
    section: "client",
    kind: DSCP,
    synopsis: "--dscp N or --dscp val",
    help: [
      "set the IP dscp value, either 0-63 or symbolic (one of: af11-13, af21-23,",
      "af31-33, af41-43, cs1-7, ef, va, lowdelay, throughput, reliability).",
      "Numeric values can be decimal, octal and hex (see --tos above).",
    ],
  }),
  option({
    long: "flowlabel",
    short: "L",
    key: "flowlabel",
    arg: "required",
    role: "client",
    section: "client",
    kind: FLOW_LABEL,
    synopsis: "-L, --flowlabel N",
    help: ["set the IPv6 flow label (only supported on Linux)"],
    // TestParams `flowLabel` (wire `flowlabel`): each TCP data socket is
    // opened through libc with IPV6_FLOWLABEL_MGR and sin6_flowinfo.
  }),
  option({
    long: "zerocopy",
    short: "Z",
    key: "zeroCopy",
    arg: "none",
    role: "client",
    section: "client",
    kind: FLAG,
    help: ["use a 'zero copy' method of sending data"],
  }),
  option({
    long: "skip-rx-copy",
    key: "skipRxCopy",
    arg: "none",
    role: "client",
    section: "client",
    kind: FLAG,
    help: ["ignore received messages using MSG_TRUNC option"],
    // TestParams `skipRxCopy` (wire `skip_rx_copy`): the threads' TCP
    // receivers read with MSG_TRUNC (lib/dataplane/_worker.ts).
  }),
  option({
    long: "omit",
    short: "O",
    key: "omit",
    arg: "required",
    role: "client",
    section: "client",
    kind: wholeNumber(0, LIMITS.MAX_OMIT, "bogus value for --omit"),
    synopsis: "-O, --omit N",
    help: ["perform pre-test for N seconds and omit the pre-test statistics"],
  }),
  option({
    long: "title",
    short: "T",
    key: "title",
    arg: "required",
    role: "client",
    section: "client",
    kind: text(),
    synopsis: "-T, --title str",
    help: ["prefix every output line with this string"],
  }),
  option({
    long: "extra-data",
    key: "extraData",
    arg: "required",
    role: "client",
    section: "client",
    kind: text(),
    synopsis: "--extra-data str",
    help: ["data string to include in client and server JSON"],
  }),
  option({
    long: "get-server-output",
    key: "getServerOutput",
    arg: "none",
    role: "client",
    section: "client",
    kind: FLAG,
    help: ["get results from server"],
  }),
  option({
    long: "plot",
    key: "plot",
    arg: "required",
    role: "client",
    // iperf-ts's own: listed in its section, not among iperf3's.
    section: "iperf-ts",
    kind: PLOT_FILE,
    synopsis: "--plot FILE.svg",
    help: [
      "when the test ends, draw it to FILE.svg (or an",
      ".html page): throughput, TCP retransmits/cwnd/RTT,",
      "UDP jitter/loss; see docs/plots.md",
    ],
    // OutputConfig `plot`: lib/cli/run.ts builds the -J document alongside
    // whatever it prints and hands it to lib/plot/render.ts.
  }),
  option({
    long: "plot-from",
    key: "plotFrom",
    arg: "required",
    role: "client",
    section: "iperf-ts",
    kind: text("the --plot-from file name is empty"),
    synopsis: "--plot-from IN.json",
    requires: [{
      key: "plot",
      message: "--plot-from needs --plot FILE.svg (or FILE.html)",
    }],
    help: [
      "run no test: draw a saved -J or --json-stream",
      "file to the --plot FILE",
    ],
  }),
  option({
    long: "udp-counters-64bit",
    key: "udpCounters64bit",
    arg: "none",
    role: "client",
    section: "client",
    kind: FLAG,
    help: ["use 64-bit counters in UDP test packets"],
  }),
  option({
    long: "gsro",
    key: "gsro",
    arg: "none",
    role: "client",
    section: "client",
    kind: FLAG,
    help: [
      "enable UDP GSO/GRO on both client and server (client-only option)",
    ],
  }),
  option({
    long: "repeating-payload",
    key: "repeatingPayload",
    arg: "none",
    role: "client",
    section: "client",
    kind: FLAG,
    help: [
      "use repeating pattern in payload, instead of",
      "randomized payload (like in iperf2)",
    ],
  }),
  option({
    long: "dont-fragment",
    key: "dontFragment",
    arg: "none",
    role: "client",
    section: "client",
    kind: FLAG,
    help: ["set IPv4 Don't Fragment flag"],
  }),
  option({
    long: "username",
    key: "username",
    arg: "required",
    role: "client",
    section: "client",
    kind: text(),
    requires: [{ key: "rsaPublicKeyPath", message: USER_AND_KEY }],
    help: ["username for authentication"],
  }),
  option({
    long: "rsa-public-key-path",
    key: "rsaPublicKeyPath",
    arg: "required",
    role: "client",
    section: "client",
    kind: text(),
    requires: [{ key: "username", message: USER_AND_KEY }],
    help: [
      "path to the RSA public key used to encrypt",
      "authentication credentials",
    ],
  }),
];
