import assert from "node:assert/strict";
import { cli } from "../_support/cli.ts";
import { withServer } from "../_support/server.ts";

Deno.test("runCli() prints one parameter error line, the short usage, and exits 1", async () => {
  const { code, stdout, stderr } = await cli(["-c", "127.0.0.1", "-P", "0"]);
  assert.equal(code, 1);
  assert.equal(stdout, "");
  const lines = stderr.split("\n");
  assert.equal(
    lines[0],
    "iperf3: parameter error - number of parallel streams must be between 1 and 128",
  );
  assert.equal(lines[1], "Usage: iperf3 [-s|-c host] [options]");
});

Deno.test("runCli() reports a refused connection as iperf3 does and exits 1", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const { code, stdout, stderr } = await cli([
    "-c",
    "127.0.0.1",
    "-p",
    String(port),
    "-t",
    "1",
  ]);
  assert.equal(code, 1);
  assert.equal(stdout, "");
  assert.equal(
    stderr,
    "iperf3: error - unable to connect to server - server may have stopped running or use a different port, firewall issue, etc.: Connection refused\n",
  );
});

Deno.test("runCli() prints help and version", async () => {
  const help = await cli(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: iperf3 \[-s\|-c host\] \[options\]/);
  const version = await cli(["-v"]);
  assert.equal(version.code, 0);
  assert.match(
    version.stdout,
    /^iperf 3\.21 \(iperf-ts \d+\.\d+\.\d+\)\n.+\nOptional features available: .+\n$/,
  );
});

Deno.test("runCli() as a client prints iperf3's text report", async () => {
  await withServer(async (server) => {
    const { code, stdout, stderr } = await cli([
      "-c",
      "127.0.0.1",
      "-p",
      String(server.port),
      "-n",
      "8M",
      "-T",
      "t1",
    ]);
    assert.equal(stderr, "");
    assert.equal(code, 0);
    const lines = stdout.trimEnd().split("\n");
    assert.equal(
      lines[0],
      `t1:  Connecting to host 127.0.0.1, port ${server.port}`,
    );
    assert.match(
      lines[1] ?? "",
      /^t1: {2}\[ {2}5\] local 127\.0\.0\.1 port \d+ connected to 127\.0\.0\.1 port \d+$/,
    );
    // TCP_INFO is readable (the test permissions grant --allow-ffi).
    assert.equal(
      lines[2],
      "t1:  [ ID] Interval           Transfer     Bitrate         Retr  Cwnd",
    );
    assert.match(
      lines[3] ?? "",
      /^t1: {2}\[ {2}5\] {3}0\.00-\s*\d+\.\d\d\s+sec\s+[\d.]+ [KMG]?Bytes\s+[\d.]+ [KMG]?bits\/sec {2}[ \d]{2}\d {3}[ \d.]{4} [KMG]?Bytes {7}$/,
    );
    assert.ok(
      lines.includes("t1:  - - - - - - - - - - - - - - - - - - - - - - - - -"),
    );
    assert.match(
      lines.at(-4) ?? "",
      /^t1: {2}\[ {2}5\] {3}0\.00-\s*\d+\.\d\d\s+sec {2}8\.00 MBytes\s+[\d.]+ [KMG]?bits\/sec {2}[ \d]{2}\d {13}sender$/,
    );
    assert.match(lines.at(-3) ?? "", /receiver$/);
    assert.equal(lines.at(-2), "t1:  ");
    assert.equal(lines.at(-1), "t1:  iperf Done.");
  });
});
