/**
 * `--latency` against iperf3 3.12's server, which knows nothing of it: the
 * test runs (iperf3 ignores the `iperf_ts_latency` key), the client says
 * once that the server does not answer probes, and reports the figures of
 * TCP_INFO alone. A UDP test stays whole: no probe goes out while iperf3's
 * server takes the first datagram it sees as a stream's hello.
 *
 * @module
 */

import assert from "node:assert/strict";
import { NO_ECHO_LINE } from "../../lib/report/latency.ts";
import {
  freePort,
  interopTest,
  Iperf3,
  iperf3ServerArgs,
  LOOPBACK,
  parseIperf3Json,
  runOurCliClient,
} from "./_iperf3.ts";

// deno-lint-ignore no-explicit-any
type Doc = any;

async function againstIperf3(
  flags: string[],
): Promise<{ ours: string; theirs: Doc }> {
  const port = freePort();
  await using server = new Iperf3(iperf3ServerArgs(port));
  const run = await runOurCliClient(
    ["-c", LOOPBACK, "-p", String(port), "--latency", ...flags],
    server,
  );
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const result = await server.wait();
  assert.equal(result.code, 0, result.stdout + result.stderr);
  return { ours: run.stdout, theirs: parseIperf3Json(result) };
}

interopTest(
  "--latency against iperf3 -s: the test runs, figures from TCP_INFO only",
  async (t) => {
    const { ours, theirs } = await againstIperf3(["-t", "1", "-J"]);
    const doc = JSON.parse(ours);
    const latency = doc.end.iperf_ts.latency;
    // deno-lint-ignore no-console
    console.log(
      `against iperf3 3.12: idle (TCP_INFO) ${latency.idle.median_ms} ms, loaded (TCP_INFO) median ${latency.loaded.tcp_info.median_ms} ms, ${latency.rpm.value} RPM`,
    );

    await t.step("iperf3 ran the test as any other", () => {
      assert.ok(theirs.end.sum_received.bytes > 0);
      assert.equal(theirs.error, undefined);
      assert.ok(doc.end.sum_received.bytes > 0);
    });

    await t.step("no echo, said once in the document", () => {
      assert.equal(latency.server_echo, false);
      assert.match(latency.note, /does not answer latency probes/);
      assert.equal(latency.loaded.probe, null);
      assert.equal(latency.rpm.foreign, null);
    });

    await t.step("idle: the control connection's TCP_INFO RTT", () => {
      assert.equal(latency.idle.source, "tcp_info");
      assert.equal(latency.idle.count, 1);
      assert.ok(latency.idle.median_ms > 0);
      assert.equal(latency.idle.lost, undefined);
    });

    await t.step(
      "loaded: the sending stream's TCP_INFO RTT every 100 ms",
      () => {
        const tcp = latency.loaded.tcp_info;
        assert.equal(tcp.source, "sending_streams");
        assert.ok(tcp.count >= 5, tcp);
        assert.ok(tcp.min_ms > 0 && tcp.min_ms <= tcp.max_ms, tcp);
        assert.equal(latency.rpm.value, latency.rpm.self);
        for (const interval of doc.intervals) {
          const l = interval.iperf_ts.latency;
          assert.equal(l.rtt_ms, null);
          assert.equal(l.probe.count, 0);
          assert.ok(l.tcp_rtt_ms > 0, l);
        }
      },
    );
  },
);

interopTest(
  "--latency against iperf3 -s: the text says so in one line",
  async () => {
    const { ours } = await againstIperf3(["-t", "1"]);
    const lines = ours.split("\n");
    assert.equal(lines.filter((l) => l === NO_ECHO_LINE).length, 1);
    const at = lines.indexOf(NO_ECHO_LINE);
    assert.ok(lines[at - 1]?.endsWith("receiver"), lines[at - 1]);
    assert.match(lines[at + 2] ?? "", /^idle \(TCP_INFO\) /);
    assert.match(lines[at + 3] ?? "", /^loaded \(TCP_INFO\) /);
    assert.match(
      lines[at + 4] ?? "",
      /^Responsiveness: \d+ RPM \(probe flow -, TCP_INFO \d+\)$/,
    );
    assert.equal(ours.includes("loaded (probe)"), false);
  },
);

interopTest(
  "--latency -R against iperf3 -s: the receiving stream's RTT estimate",
  async () => {
    const { ours } = await againstIperf3(["-t", "1", "-R", "-J"]);
    const latency = JSON.parse(ours).end.iperf_ts.latency;
    assert.equal(latency.server_echo, false);
    assert.equal(latency.loaded.tcp_info.source, "receiving_streams");
    assert.ok(latency.loaded.tcp_info.count >= 5, latency.loaded.tcp_info);
  },
);

interopTest(
  "--latency -u -P 2 against iperf3 -s: every stream connects, every datagram counts",
  async () => {
    const { ours, theirs } = await againstIperf3([
      "-u",
      "-P",
      "2",
      "-b",
      "2M",
      "-t",
      "1",
      "-J",
    ]);
    const doc = JSON.parse(ours);
    assert.equal(doc.end.iperf_ts.latency.server_echo, false);
    assert.equal(doc.end.iperf_ts.latency.loaded.tcp_info.source, "control");
    // iperf3 took our hellos, not a probe, for its two streams.
    assert.equal(theirs.start.connected.length, 2);
    assert.equal(theirs.end.sum.lost_packets, 0);
    assert.equal(doc.end.sum.lost_packets, 0);
    assert.ok(doc.end.sum.packets > 0);
  },
);
