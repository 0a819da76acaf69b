/**
 * Command lines and outputs that wrappers of iperf3 depend on: kubernetes
 * perf-tests, perfSONAR pScheduler, arcaflow.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseCommandLine } from "../../lib/cli/args.ts";
import { IPERF_PROTOCOL_VERSION } from "../../lib/protocol/params.ts";
import { systemInfo } from "../../lib/report/system_info.ts";
import { VERSION } from "../../lib/version.ts";
import { cli } from "../_support/cli.ts";
import { withServer } from "../_support/server.ts";

Deno.test("parseCommandLine() ignores a stray word, as iperf3: kubernetes perf-tests' `iperf3 -s HOST -J -i 60`", () => {
  const config = parseCommandLine(["-s", "HOST", "-J", "-i", "60"]);
  assert.equal(config.role, "server");
  if (config.role !== "server") return;
  assert.equal(config.output.json, true);
  assert.equal(config.server.interval, 60);
  assert.equal(config.server.port, 5201);
  // iperf3 3.21 ignores one on the client too (`iperf3 -c h stray` runs).
  const client = parseCommandLine(["-c", "h", "stray", "-t", "3"]);
  assert.ok(client.role === "client");
  if (client.role !== "client") return;
  assert.equal(client.client.host, "h");
  assert.equal(client.client.params.time, 3);
});

Deno.test("runCli() --version: `iperf 3.21 (iperf-ts VERSION)`, the uname line, the features, as pScheduler reads them", async () => {
  const run = await cli(["--version"]);
  assert.equal(run.code, 0);
  assert.equal(run.stderr, "");
  const lines = run.stdout.split("\n");
  assert.equal(lines.length, 4);
  assert.equal(lines[0], `iperf 3.21 (iperf-ts ${VERSION})`);
  // pScheduler takes the second word as the iperf3 version.
  assert.equal(lines[0]?.split(" ")[1], "3.21");
  assert.equal(lines[1], systemInfo());
  const features = /^Optional features available: (.+)$/.exec(lines[2] ?? "");
  assert.ok(features, lines[2]);
  // iperf3 3.21's names and order, less SCTP and sendfile (not ours).
  const known = [
    "CPU affinity setting",
    "IPv6 flow label",
    "TCP congestion algorithm setting",
    "socket pacing",
    "authentication",
    "bind to device",
    "support IPv4 don't fragment",
    "POSIX threads",
    "GSO/GRO support",
  ];
  const listed = features[1]?.split(", ") ?? [];
  assert.deepEqual(listed, known.filter((name) => listed.includes(name)));
  assert.ok(listed.includes("authentication"));
  assert.equal(lines[3], "");
  // -v says the same.
  assert.equal((await cli(["-v"])).stdout, run.stdout);
  // The wire still announces the protocol iperf-ts speaks.
  assert.equal(IPERF_PROTOCOL_VERSION, "3.12");
});

Deno.test("runCli() -J puts the --version line in start.version", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const run = await cli(["-c", "127.0.0.1", "-p", String(port), "-J"]);
  assert.equal(run.code, 1);
  const doc = JSON.parse(run.stdout);
  const version = (await cli(["--version"])).stdout.split("\n")[0];
  assert.equal(doc.start.version, version);
});

Deno.test("runCli() -Z prints nothing on stderr, as iperf3 (arcaflow fails on any stderr output)", async () => {
  await withServer(async (server) => {
    for (const extra of [[], ["-J"], ["--bidir"]]) {
      const run = await cli([
        "-c",
        "127.0.0.1",
        "-p",
        String(server.port),
        "-Z",
        "-n",
        "1M",
        ...extra,
      ]);
      assert.equal(run.stderr, "", extra.join(" "));
      assert.equal(run.code, 0);
    }
    // -Z still reaches the server.
    const accepted = server.events.filter((e) => e.kind === "accepted");
    assert.ok(
      accepted.length === 3 &&
        accepted.every((e) => e.kind === "accepted" && e.params.zeroCopy),
    );
  });
});
