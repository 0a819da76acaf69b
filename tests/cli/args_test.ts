import assert from "node:assert/strict";
import { parseCommandLine } from "../../lib/cli/args.ts";
import { UsageError } from "../../lib/errors.ts";

function usageError(args: string[], message: RegExp): void {
  assert.throws(() => parseCommandLine(args), (error: unknown) => {
    assert.ok(
      error instanceof UsageError,
      `not a UsageError: ${String(error)}`,
    );
    assert.match(error.message, message);
    assert.equal(error.exitCode, 1);
    return true;
  });
}

Deno.test("parseCommandLine() gives iperf3's defaults for a bare client", () => {
  const config = parseCommandLine(["-c", "example.net"]);
  assert.equal(config.role, "client");
  if (config.role !== "client") return;
  assert.equal(config.client.host, "example.net");
  assert.equal(config.client.port, 5201);
  assert.equal(config.client.interval, 1);
  const p = config.client.params;
  assert.deepEqual(
    [
      p.protocol,
      p.time,
      p.bytes,
      p.blocks,
      p.parallel,
      p.length,
      p.omit,
      p.reverse,
      p.bidirectional,
    ],
    ["tcp", 10, 0, 0, 1, 131072, 0, false, false],
  );
  assert.equal(config.output.format, "a");
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.client.params));
});

Deno.test("parseCommandLine() reads every client flag it supports", () => {
  const config = parseCommandLine([
    "--client",
    "::1",
    "-p",
    "6000",
    "-n",
    "10M",
    "-l",
    "64K",
    "-P",
    "4",
    "-R",
    "-i",
    "0.5",
    "-O",
    "2",
    "-T",
    "box",
    "-N",
    "-f",
    "M",
    "-6",
    "--connect-timeout",
    "250",
    "-b",
    "100M/5",
    "--repeating-payload",
    "-V",
  ]);
  assert.equal(config.role, "client");
  if (config.role !== "client") return;
  const p = config.client.params;
  assert.equal(config.client.port, 6000);
  assert.equal(p.time, 0);
  assert.equal(p.bytes, 10 * 1024 * 1024);
  assert.equal(p.length, 65536);
  assert.equal(p.parallel, 4);
  assert.equal(p.reverse, true);
  assert.equal(p.omit, 2);
  assert.equal(p.title, "box");
  assert.equal(p.noDelay, true);
  assert.equal(p.bandwidth, 100_000_000);
  assert.equal(p.burst, 5);
  assert.equal(p.repeatingPayload, true);
  assert.equal(config.client.interval, 0.5);
  assert.equal(config.client.family, 6);
  assert.equal(config.client.connectTimeoutMs, 250);
  assert.equal(config.output.format, "M");
  assert.equal(config.output.verbose, true);
  assert.equal(config.output.title, "box");
});

Deno.test("parseCommandLine() reads the server flags", () => {
  const config = parseCommandLine([
    "-s",
    "-p",
    "5999",
    "-1",
    "-B",
    "127.0.0.1",
    "-4",
    "-i",
    "0",
  ]);
  assert.deepEqual(config, {
    role: "server",
    server: {
      port: 5999,
      oneOff: true,
      interval: 0,
      bindAddress: "127.0.0.1",
      family: 4,
      maxTests: 8,
      daemon: false,
      keepAlive: false,
    },
    output: {
      format: "a",
      verbose: false,
      json: false,
      jsonStream: false,
      forceFlush: false,
      debug: false,
    },
  });
});

Deno.test("parseCommandLine() takes -B and --cport on the client", () => {
  const config = parseCommandLine([
    "-c",
    "h",
    "-B",
    "127.0.0.1",
    "--cport",
    "40000",
    "-P",
    "2",
  ]);
  assert.equal(config.role, "client");
  if (config.role !== "client") return;
  assert.equal(config.client.bindAddress, "127.0.0.1");
  assert.equal(config.client.cport, 40000);
  usageError(["-c", "h", "--cport", "65535", "-P", "2"], /no room/);
  usageError(
    ["-c", "h", "--cport", "0"],
    /port number must be between 1 and 65535/,
  );
});

Deno.test("parseCommandLine() reads the output flags, optional values included", () => {
  const config = parseCommandLine([
    "-c",
    "h",
    "--json-stream",
    "--logfile",
    "/tmp/x.log",
    "--forceflush",
    "--timestamps=%T ",
    "--debug=3",
    "--get-server-output",
    "--extra-data",
    "lab 7",
  ]);
  assert.equal(config.role, "client");
  if (config.role !== "client") return;
  assert.deepEqual(config.output, {
    format: "a",
    verbose: false,
    json: true,
    jsonStream: true,
    forceFlush: true,
    debug: true,
    logfile: "/tmp/x.log",
    timestamps: "%T ",
  });
  assert.equal(config.client.params.getServerOutput, true);
  assert.equal(config.client.params.extraData, "lab 7");
  const plain = parseCommandLine(["-s", "--timestamps", "-J"]);
  assert.equal(plain.role, "server");
  if (plain.role !== "server") return;
  assert.equal(plain.output.timestamps, "%c ");
  assert.equal(plain.output.json, true);
  usageError(["-s", "--get-server-output"], /client only/);
  usageError(["-c", "h", "--logfile", ""], /--logfile name is empty/);
});

Deno.test("parseCommandLine() gives UDP iperf3's defaults and reads its flags", () => {
  const config = parseCommandLine(["-c", "h", "-u"]);
  assert.equal(config.role, "client");
  if (config.role !== "client") return;
  const p = config.client.params;
  assert.deepEqual([p.protocol, p.length, p.bandwidth, p.pacingTimer], [
    "udp",
    1460,
    1048576,
    1000,
  ]);
  const rich = parseCommandLine([
    "-c",
    "h",
    "-u",
    "-b",
    "100M/10",
    "-l",
    "1200",
    "--udp-counters-64bit",
    "--pacing-timer",
    "500",
  ]);
  if (rich.role !== "client") throw new Error("client expected");
  const r = rich.client.params;
  assert.deepEqual(
    [r.bandwidth, r.burst, r.length, r.udpCounters64bit, r.pacingTimer],
    [100_000_000, 10, 1200, true, 500],
  );
  usageError(
    ["-c", "h", "-u", "-l", "10"],
    /block size invalid \(minimum = 16 bytes, maximum = 65507 bytes\)/,
  );
  usageError(["-c", "h", "-u", "-l", "64K"], /block size invalid/);
  const df = parseCommandLine(["-c", "h", "-u", "--dont-fragment"]);
  if (df.role !== "client") throw new Error("client expected");
  assert.equal(df.client.params.dontFragment, true);
  // Without -l the datagram size follows the control connection's MSS.
  assert.equal(df.client.defaultLength, true);
  assert.equal(rich.client.defaultLength, undefined);
  usageError(["-c", "h", "-u", "-b", "1M/1001"], /burst/i);
});

Deno.test("parseCommandLine() reads the socket options -w, -M, -C, -S, --dscp, -Z", () => {
  const config = parseCommandLine([
    "-c",
    "h",
    "-w",
    "256K",
    "-M",
    "1400",
    "-C",
    "reno",
    "-S",
    "0x10",
    "-Z",
  ]);
  if (config.role !== "client") throw new Error("client expected");
  const p = config.client.params;
  assert.deepEqual(
    [p.window, p.mss, p.congestion, p.tos, p.zeroCopy],
    [262144, 1400, "reno", 16, true],
  );
  const tos = (args: string[]) => {
    const c = parseCommandLine(["-c", "h", ...args]);
    if (c.role !== "client") throw new Error("client expected");
    return c.client.params.tos;
  };
  // -S reads numbers as C's strtol(..., 0) does: hex, octal, decimal.
  assert.equal(tos(["-S", "020"]), 16);
  assert.equal(tos(["-S", "184"]), 184);
  assert.equal(tos(["--dscp", "ef"]), 184);
  assert.equal(tos(["--dscp", "AF11"]), 40);
  assert.equal(tos(["--dscp", "46"]), 184);
  assert.equal(
    (() => {
      const c = parseCommandLine(["-c", "h", "--linux-congestion", "cubic"]);
      return c.role === "client" ? c.client.params.congestion : "";
    })(),
    "cubic",
  );
  usageError(["-c", "h", "-S", "256"], /bad TOS value/);
  usageError(["-c", "h", "-S", "0x1g"], /bad TOS value/);
  usageError(["-c", "h", "--dscp", "64"], /bad DSCP value/);
  usageError(["-c", "h", "--dscp", "xx"], /bad DSCP value/);
  usageError(["-c", "h", "-S", "4", "--dscp", "1"], /-S and --dscp/);
  usageError(["-c", "h", "-w", "513M"], /socket buffer size too large/);
  usageError(["-c", "h", "-w", "lots"], /invalid --window value/);
  usageError(["-c", "h", "-M", "40000"], /TCP MSS too large/);
  usageError(["-c", "h", "-M", "-1"], /-M|set-mss|requires|whole number/);
  usageError(["-c", "h", "-C", "bad name!"], /invalid --congestion value/);
  usageError(["-s", "-w", "1M"], /client only: --window/);
});

Deno.test("parseCommandLine() reads the server's limits and timeouts", () => {
  const config = parseCommandLine([
    "-s",
    "-D",
    "-I",
    "/tmp/x.pid",
    "--idle-timeout",
    "30",
    "--server-bitrate-limit",
    "100M/10",
    "--server-max-duration",
    "60",
    "--rcv-timeout",
    "5000",
    "--snd-timeout",
    "7000",
    "--cntl-ka",
  ]);
  assert.equal(config.role, "server");
  if (config.role !== "server") return;
  const s = config.server;
  assert.deepEqual(
    [
      s.daemon,
      s.pidfile,
      s.idleTimeout,
      s.bitrateLimit,
      s.bitrateLimitWindow,
      s.maxDuration,
      s.receiveTimeoutMs,
      s.sendTimeoutMs,
      s.keepAlive,
    ],
    [true, "/tmp/x.pid", 30, 100_000_000, 10, 60, 5000, 7000, true],
  );
  // iperf3 3.19's --cntl-ka=IDLE/INTVL/CNT, each part optional.
  const ka = parseCommandLine(["-s", "--cntl-ka=10/3/3"]);
  assert.ok(ka.role === "server");
  if (ka.role === "server") {
    assert.equal(ka.server.keepAlive, true);
    assert.deepEqual(ka.server.keepAliveSettings, {
      idle: 10,
      interval: 3,
      count: 3,
    });
  }
  const partial = parseCommandLine(["-c", "h", "--cntl-ka=/5/"]);
  assert.ok(partial.role === "client");
  if (partial.role === "client") {
    assert.deepEqual(partial.client.keepAliveSettings, {
      idle: 0,
      interval: 5,
      count: 0,
    });
  }
  usageError(
    ["-s", "--cntl-ka=10/5/3"],
    /Keepalive Idle time \(10\) should be greater than Retries-interval \(5\) times Retries-count \(3\)/,
  );
  usageError(["-s", "--cntl-ka=a/b"], /invalid --cntl-ka value/);
  usageError(["-s", "--cntl-ka=1/2/3/4"], /invalid --cntl-ka value/);
  usageError(
    ["-c", "h", "--rcv-timeout", "100"],
    /valid only in receiving mode/,
  );
  usageError(["-c", "h", "-D"], /server only: --daemon/);
  usageError(["-s", "--idle-timeout", "0"], /idle timeout parameter/);
  const client = parseCommandLine([
    "-c",
    "h",
    "-R",
    "--rcv-timeout",
    "100",
    "--cntl-ka",
  ]);
  assert.ok(
    client.role === "client" && client.client.receiveTimeoutMs === 100 &&
      client.client.keepAlive,
  );
});

Deno.test("parseCommandLine() reads the authentication flags and wants them in pairs", () => {
  const client = parseCommandLine([
    "-c",
    "h",
    "--username",
    "mario",
    "--rsa-public-key-path",
    "pub.pem",
    "--use-pkcs1-padding",
  ]);
  assert.ok(client.role === "client");
  assert.deepEqual(client.role === "client" && client.auth, {
    username: "mario",
    publicKeyPath: "pub.pem",
    pkcs1: true,
  });
  const server = parseCommandLine([
    "-s",
    "--rsa-private-key-path",
    "priv.pem",
    "--authorized-users-path",
    "users.csv",
    "--time-skew-threshold",
    "30",
  ]);
  assert.ok(server.role === "server");
  assert.deepEqual(server.role === "server" && server.server.auth, {
    privateKeyPath: "priv.pem",
    usersPath: "users.csv",
    skew: 30,
    pkcs1: false,
  });
  usageError(
    ["-c", "h", "--username", "mario"],
    /you must specify a username, password, and path to a valid RSA public key/,
  );
  usageError(
    ["-s", "--rsa-private-key-path", "p"],
    /you must specify a path to a valid RSA private key and a user credential file/,
  );
  usageError(["-s", "--username", "x"], /client only/);
  usageError(["-c", "h", "--authorized-users-path", "u"], /server only/);
});

Deno.test("parseCommandLine() reads --max-tests", () => {
  const config = parseCommandLine(["-s", "--max-tests", "1"]);
  assert.ok(config.role === "server" && config.server.maxTests === 1);
  usageError(
    ["-s", "--max-tests", "0"],
    /--max-tests must be between 1 and 1024/,
  );
  usageError(["-c", "h", "--max-tests", "2"], /server only/);
});

Deno.test("parseCommandLine() reads --latency, client only", () => {
  const config = parseCommandLine(["-c", "h", "--latency"]);
  assert.ok(config.role === "client" && config.client.params.latency === true);
  const plain = parseCommandLine(["-c", "h"]);
  assert.ok(plain.role === "client" && !("latency" in plain.client.params));
  usageError(["-s", "--latency"], /client only/);
  usageError(["-c", "h", "--latency=1"], /--latency/);
});

Deno.test("parseCommandLine() answers -h and -v", () => {
  assert.equal(parseCommandLine(["-h"]).role, "help");
  assert.equal(parseCommandLine(["--version"]).role, "version");
});

Deno.test("parseCommandLine() rejects bad input with iperf3-style messages", () => {
  usageError(["-c", "h", "-t", "abc"], /invalid --time value "abc"/);
  usageError(
    ["-c", "h", "-t", "86401"],
    /test duration too long \(maximum = 86400 seconds\)/,
  );
  usageError(
    ["-c", "h", "-P", "0"],
    /number of parallel streams must be between 1 and 128/,
  );
  usageError(["-c", "h", "-P", "129"], /between 1 and 128/);
  usageError(
    ["-c", "h", "-l", "99G"],
    /block size too large \(maximum = 1048576 bytes\)/,
  );
  usageError(["-c", "h", "-l", "12X"], /invalid --length value/);
  usageError(["-c", "h", "-n", "0"], /must be above 0/);
  usageError(
    ["-c", "h", "-p", "70000"],
    /port number must be between 1 and 65535 inclusive/,
  );
  usageError(["-c", "h", "-p", "-1"], /./);
  usageError(["-c", "h", "-i", "0.05"], /invalid report interval/);
  usageError(["-c", "h", "-f", "x"], /bad format specifier/);
  usageError(["-c", "h", "-O", "601"], /bogus value for --omit/);
  usageError(["-c", "h", "-b", "fast"], /invalid --bitrate value/);
  usageError(["-c", "h", "-t", "1", "-n", "1M"], /only one test end condition/);
  usageError(
    ["-c", "h", "-R", "--bidir"],
    /cannot be both reverse and bidirectional/,
  );
  usageError(["-c", "h", "-s"], /cannot be both server and client/);
  usageError([], /must either be a client \(-c\) or server \(-s\)/);
  usageError(["-s", "-t", "5"], /client only/);
  usageError(["-c", "h", "-1"], /server only/);
  usageError(["-c", "h", "-4", "-6"], /-4 and -6/);
  usageError(["--frobnicate"], /unrecognized option '--frobnicate'/);
  usageError(["-c"], /requires an argument/);
  usageError(
    ["-c", "h", "--sctp"],
    /^option --sctp is not implemented yet: /,
  );
  usageError(["-c", "h", "-L", "1048576"], /unable to set IPv6 flow label/);
  usageError(["-c", "h", "-L", "0"], /unable to set IPv6 flow label/);
  usageError(["-c", "h", "-L", "label"], /unable to set IPv6 flow label/);
});

Deno.test("parseCommandLine() reads -L as iperf3's strtol(optarg, 0): decimal, 0x hex, 0 octal", () => {
  for (
    const [text, label] of [["74565", 74565], ["0x12345", 0x12345], [
      "0777",
      0o777,
    ]] as const
  ) {
    const config = parseCommandLine(["-c", "::1", "-L", text]);
    assert.ok(config.role === "client");
    assert.equal(config.client.params.flowLabel, label, text);
  }
});
