import assert from "node:assert/strict";
import { parseCommandLine } from "../../lib/cli/args.ts";
import { buildConfig } from "../../lib/cli/build_config.ts";
import { OPTION_ROWS } from "../../lib/cli/options.ts";
import { usageLong } from "../../lib/cli/usage.ts";
import { NotImplementedOptionError, UsageError } from "../../lib/errors.ts";
import { cli } from "../_support/cli.ts";

/** iperf3 3.21's getopt table (`iperf_parse_arguments`), every long name. */
const IPERF3_3_21_LONG_OPTIONS = [
  "port",
  "format",
  "interval",
  "daemon",
  "one-off",
  "verbose",
  "json",
  "json-stream",
  "json-stream-full-output",
  "version",
  "server",
  "client",
  "udp",
  "bitrate",
  "bandwidth",
  "server-bitrate-limit",
  "server-max-duration",
  "time",
  "bytes",
  "blockcount",
  "length",
  "parallel",
  "reverse",
  "bidir",
  "window",
  "bind",
  "bind-dev",
  "cport",
  "set-mss",
  "no-delay",
  "version4",
  "version6",
  "tos",
  "dscp",
  "extra-data",
  "flowlabel",
  "zerocopy",
  "omit",
  "file",
  "repeating-payload",
  "timestamps",
  "affinity",
  "title",
  "congestion",
  "linux-congestion",
  "sctp",
  "pidfile",
  "logfile",
  "forceflush",
  "get-server-output",
  "udp-counters-64bit",
  "no-fq-socket-pacing",
  "dont-fragment",
  "skip-rx-copy",
  "username",
  "rsa-public-key-path",
  "rsa-private-key-path",
  "authorized-users-path",
  "time-skew-threshold",
  "use-pkcs1-padding",
  "fq-rate",
  "pacing-timer",
  "connect-timeout",
  "idle-timeout",
  "rcv-timeout",
  "snd-timeout",
  "cntl-ka",
  "mptcp",
  "gsro",
  "debug",
  "help",
  // `--nstreams` and `-X/--xbind` exist only in SCTP builds (3.21's own
  // Linux build has neither), and are left out here.
];

/** A value for each not-yet option that takes one. */
function sampleArgs(long: string, arg: string): string[] {
  return arg === "required" ? [`--${long}`, "1"] : [`--${long}`];
}

Deno.test("OPTION_ROWS has one row per long name, alias, short letter and value", () => {
  const names = OPTION_ROWS.flatMap((
    row,
  ) => [row.long, ...(row.aliases ?? [])]);
  assert.equal(new Set(names).size, names.length);
  const shorts = OPTION_ROWS.flatMap((row) => row.short ?? []);
  assert.equal(new Set(shorts).size, shorts.length);
  const keys = OPTION_ROWS.map((row) => row.key);
  assert.equal(new Set(keys).size, keys.length);
});

Deno.test("OPTION_ROWS has a row for every option of iperf3 3.21", () => {
  const names = new Set(
    OPTION_ROWS.flatMap((row) => [row.long, ...(row.aliases ?? [])]),
  );
  const missing = IPERF3_3_21_LONG_OPTIONS.filter((name) => !names.has(name));
  assert.deepEqual(missing, []);
  // iperf-ts's own: --max-tests, --data-threads, --metrics, --latency, --plot,
  // --plot-from, and the exporter's (edgard/iperf3_exporter's flags, with
  // --exporter).
  const extra = [...names].filter((name) =>
    !IPERF3_3_21_LONG_OPTIONS.includes(name)
  );
  assert.deepEqual(extra.sort(), [
    "data-threads",
    "exporter",
    "iperf3.timeout",
    "latency",
    "log.format",
    "log.level",
    "max-tests",
    "metrics",
    "plot",
    "plot-from",
    "web.config.file",
    "web.listen-address",
    "web.probe-path",
    "web.systemd-socket",
    "web.telemetry-path",
  ]);
});

Deno.test("usageLong() lays out iperf3 3.21's --help lines for every option iperf-ts takes", async () => {
  const theirs = await Deno.readTextFile(
    new URL("./fixtures/iperf3_3.21_help.txt", import.meta.url),
  );
  const ours = usageLong();
  const sections = (text: string) => {
    const out = new Map<string, string[]>();
    let current = "";
    for (const line of text.split("\n")) {
      if (/^[A-Za-z-]+( or Client| specific):$/.test(line)) {
        current = line;
        out.set(current, []);
      } else if (current !== "" && line.startsWith("  ")) {
        out.get(current)?.push(line);
      }
    }
    return out;
  };
  const theirSections = sections(theirs);
  const ourSections = sections(ours);
  assert.deepEqual([...ourSections.keys()], [
    "Server or Client:",
    "Server specific:",
    "Client specific:",
    "iperf-ts specific:",
    "Exporter specific:",
  ]);
  // Two lines differ on purpose: iperf-ts takes no `%<dev>` suffix
  // (--bind-dev is not implemented), so -B and -c read as in an iperf3
  // built without SO_BINDTODEVICE.
  const different = [
    "  -B, --bind      <host>    bind to the interface associated with the address <host>",
    "  -c, --client    <host>    run in client mode, connecting to <host>",
  ];
  for (
    const title of ["Server or Client:", "Server specific:", "Client specific:"]
  ) {
    const their = theirSections.get(title) ?? [];
    let at = 0;
    for (const line of ourSections.get(title) ?? []) {
      if (different.includes(line)) continue;
      const found = their.indexOf(line, at);
      assert.ok(found >= 0, `${title} ${JSON.stringify(line)} is not 3.21's`);
      at = found + 1;
    }
  }
  // The omissions are listed now, and -B is not "server only".
  for (
    const synopsis of [
      "-u, --udp",
      "-J, --json",
      "-w, --window",
      "-C, --congestion",
      "--cport",
      "-D, --daemon",
      "--max-tests",
      "--logfile",
    ]
  ) {
    assert.ok(ours.includes(`\n  ${synopsis} `), synopsis);
  }
  assert.doesNotMatch(ours, /server only/);
  const both = ourSections.get("Server or Client:") ?? [];
  assert.ok(both.some((line) => line.startsWith("  -B, --bind ")));
  // Every option iperf-ts takes is listed; not-yet ones are named at the end.
  for (const row of OPTION_ROWS) {
    if (row.help === undefined) continue;
    const listed = ours.includes(`\n  ${row.synopsis}`);
    const refused = row.notYet !== undefined && row.notYetRole === undefined;
    assert.equal(listed, !refused, row.long);
    if (row.notYet !== undefined) {
      assert.match(ours, new RegExp(`--${row.long}\\b`));
    }
  }
});

Deno.test("parseCommandLine() refuses each not-yet option with one NotImplementedOptionError", () => {
  const notYet = OPTION_ROWS.filter((row) =>
    row.notYet !== undefined && row.notYetRole === undefined
  );
  // --sctp: no SCTP in Deno (nor in this kernel).
  assert.ok(notYet.length >= 1);
  for (const row of notYet) {
    for (const role of [["-s"], ["-c", "h"]]) {
      assert.throws(
        () => parseCommandLine([...role, ...sampleArgs(row.long, row.arg)]),
        (error: unknown) => {
          assert.ok(error instanceof NotImplementedOptionError, row.long);
          assert.equal(error.exitCode, 1);
          assert.equal(
            error.message,
            `option --${row.long} is not implemented yet: ${row.notYet}`,
          );
          return true;
        },
      );
    }
  }
  // -I: both sides write a PID file, as iperf3 3.21.
  const server = parseCommandLine(["-s", "-I", "/tmp/x.pid"]);
  assert.ok(server.role === "server" && server.server.pidfile === "/tmp/x.pid");
  const client = parseCommandLine(["-c", "h", "-I", "/tmp/x.pid"]);
  assert.ok(client.role === "client" && client.pidfile === "/tmp/x.pid");
});

Deno.test("runCli() prints a not-yet option as one line and exits 1", async () => {
  for (
    const args of [
      ["-s", "-m"],
      ["-c", "h", "--sctp"],
      ["-s", "--bind-dev", "lo"],
    ]
  ) {
    const run = await cli(args);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, "");
    assert.match(
      run.stderr,
      /^iperf3: option --[a-z-]+ is not implemented yet: [^\n]+\n$/,
    );
  }
});

Deno.test("parseCommandLine() takes iperf3 3.21's --dscp names and its option aliases", () => {
  const tos = (args: string[]) => {
    const c = parseCommandLine(["-c", "h", ...args]);
    return c.role === "client" ? c.client.params.tos : -1;
  };
  assert.equal(tos(["--dscp", "lowdelay"]), 0x10);
  assert.equal(tos(["--dscp", "THROUGHPUT"]), 0x08);
  assert.equal(tos(["--dscp", "reliability"]), 0x04);
  const bw = parseCommandLine(["-c", "h", "--bandwidth", "5M"]);
  assert.ok(bw.role === "client" && bw.client.params.bandwidth === 5_000_000);
  // A client-only option given to a server is named as it was typed.
  assert.throws(
    () => parseCommandLine(["-s", "--bandwidth", "5M"]),
    /client only: --bandwidth$/,
  );
});

Deno.test("buildConfig() checks typed values with the same rows and messages as the command line", () => {
  const message = (f: () => unknown) => {
    try {
      f();
    } catch (error) {
      assert.ok(error instanceof UsageError);
      return error.message;
    }
    assert.fail("no UsageError");
  };
  const pairs: [string[], Parameters<typeof buildConfig>[0]][] = [
    [["-c", "h", "-P", "0"], { client: "h", parallel: 0 }],
    [["-c", "h", "-t", "86401"], { client: "h", time: 86401 }],
    [["-c", "h", "-w", "513M"], { client: "h", window: 513 * 1024 * 1024 }],
    [["-c", "h", "-R", "--bidir"], { client: "h", reverse: true, bidir: true }],
    [["-c", "h", "-t", "1", "-n", "1M"], { client: "h", time: 1, bytes: 1 }],
    [["-c", "h", "-u", "-l", "10"], { client: "h", udp: true, length: 10 }],
    [["-c", "h", "-S", "256"], { client: "h", tos: 256 }],
    [["-s", "--max-tests", "0"], { server: true, maxTests: 0 }],
    [["-c", "h", "--username", "u"], { client: "h", username: "u" }],
  ];
  for (const [args, values] of pairs) {
    assert.equal(
      message(() => buildConfig(values)),
      message(() => parseCommandLine(args)),
      args.join(" "),
    );
  }
  assert.match(
    message(() => buildConfig({ client: "h", time: 1.5 })),
    /^invalid --time value "1.5": expected a whole number$/,
  );
  // A flag set to false is not given: no conflict.
  const ok = buildConfig({ client: "h", reverse: false, bidir: true });
  assert.ok(ok.role === "client" && ok.client.params.bidirectional);
});
