/**
 * `--latency` end to end on the loopback interface: our client against our
 * server (which answers the probes): the idle and loaded figures, the JSON
 * keys per interval and in `end`, the text block, `-R`, UDP, `--json-stream`,
 * the library API; and nothing of it without `--latency`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { runClient } from "../../lib/api.ts";
import { isIperfJson } from "../../lib/report/json_guard.ts";
import { cli } from "../_support/cli.ts";
import { withServer } from "../_support/server.ts";

const HOST = "127.0.0.1";

// deno-lint-ignore no-explicit-any
type Doc = any;

/** Our client for one second against `port` with `flags`, as the command line runs it. */
function oneSecond(port: number, flags: string[]): ReturnType<typeof cli> {
  return cli(["-c", HOST, "-p", String(port), "-t", "1", ...flags]);
}

async function ourJson(port: number, flags: string[]): Promise<Doc> {
  const run = await cli(["-c", HOST, "-p", String(port), "-J", ...flags]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.equal(run.stderr, "");
  return JSON.parse(run.stdout);
}

function assertFigures(figures: Doc, what: string): void {
  const keys = ["min_ms", "median_ms", "p90_ms", "p99_ms", "max_ms"];
  const values = keys.map((k) => figures[k]);
  for (const v of values) assert.equal(typeof v, "number", `${what}: ${v}`);
  for (let i = 1; i < values.length; i++) {
    assert.ok(values[i - 1] <= values[i], `${what}: ${values}`);
  }
  assert.ok(figures.min_ms > 0, `${what}: ${values}`);
}

Deno.test("--latency against our server: idle and loaded figures, per interval and in end", async (t) => {
  await withServer(async (server) => {
    const doc = await ourJson(server.port, ["-t", "2", "--latency"]);
    const latency = doc.end.iperf_ts.latency;
    // deno-lint-ignore no-console
    console.log(
      `loopback --latency: idle median ${latency.idle.median_ms} ms, loaded probe median ${latency.loaded.probe.median_ms} ms, TCP_INFO median ${latency.loaded.tcp_info.median_ms} ms, ${latency.rpm.value} RPM`,
    );

    await t.step("the document is still an iperf3 document", () => {
      assert.ok(isIperfJson(doc));
      assert.deepEqual(Object.keys(doc.end).slice(-1), ["iperf_ts"]);
    });

    await t.step("the server answered: idle figures from the probes", () => {
      assert.equal(latency.server_echo, true);
      assert.equal(latency.note, undefined);
      assert.equal(latency.idle.source, "probe");
      assert.equal(latency.idle.count, 10);
      assert.equal(latency.idle.lost, 0);
      assertFigures(latency.idle, "idle");
      // Loopback: well under 20 ms, even on a busy machine.
      assert.ok(latency.idle.median_ms < 20, latency.idle);
    });

    await t.step("loaded: a probe every 100 ms and TCP_INFO samples", () => {
      const probe = latency.loaded.probe;
      assert.ok(probe.count >= 15 && probe.count <= 21, probe);
      assert.equal(probe.lost, 0);
      assertFigures(probe, "loaded probe");
      assert.ok(probe.median_ms < 50, probe);
      const tcp = latency.loaded.tcp_info;
      assert.equal(tcp.source, "sending_streams");
      assert.ok(tcp.count >= 15 && tcp.count <= 21, tcp);
      assertFigures(tcp, "loaded TCP_INFO");
    });

    await t.step("RPM: the mean of the probe flow's and TCP_INFO's", () => {
      const { value, foreign, self } = latency.rpm;
      for (const v of [value, foreign, self]) {
        assert.ok(Number.isInteger(v) && v > 0, latency.rpm);
      }
      assert.ok(Math.abs(value - (foreign + self) / 2) <= 1, latency.rpm);
      // 60000 over a trimmed mean that lies between the min and the max.
      assert.ok(foreign <= 60000 / latency.loaded.probe.min_ms + 1);
      assert.ok(foreign >= 60000 / latency.loaded.probe.max_ms - 1);
    });

    await t.step("every interval carries its own figures", () => {
      assert.equal(doc.intervals.length, 2);
      let answers = 0;
      for (const interval of doc.intervals) {
        assert.deepEqual(Object.keys(interval), ["streams", "sum", "iperf_ts"]);
        const l = interval.iperf_ts.latency;
        assert.deepEqual(Object.keys(l), ["rtt_ms", "probe", "tcp_rtt_ms"]);
        assert.deepEqual(Object.keys(l.probe), [
          "count",
          "lost",
          "min_ms",
          "median_ms",
          "max_ms",
        ]);
        assert.equal(l.rtt_ms, l.probe.median_ms);
        assert.ok(l.probe.count >= 7, l);
        assert.ok(l.probe.min_ms <= l.rtt_ms && l.rtt_ms <= l.probe.max_ms);
        assert.ok(l.tcp_rtt_ms > 0, l);
        answers += l.probe.count;
      }
      assert.ok(answers <= latency.loaded.probe.count);
    });
  });
});

Deno.test("--latency prints a block after iperf3's summary lines, and leaves the intervals alone", async () => {
  await withServer(async (server) => {
    const run = await oneSecond(server.port, ["--latency"]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const lines = run.stdout.trimEnd().split("\n");
    const receiver = lines.findIndex((l) => l.endsWith("receiver"));
    const block = lines.slice(receiver + 1);
    assert.match(
      block[0] ?? "",
      /^Latency \(ms\) +min +median +p90 +p99 +max +samples +lost$/,
    );
    const figure = String.raw` +\d+\.\d{3}`;
    assert.match(
      block[1] ?? "",
      new RegExp(`^idle \\(probe\\)(${figure}){5} +10 +0$`),
    );
    assert.match(
      block[2] ?? "",
      new RegExp(`^loaded \\(probe\\)(${figure}){5} +\\d+ +0$`),
    );
    assert.match(
      block[3] ?? "",
      new RegExp(`^loaded \\(TCP_INFO\\)(${figure}){5} +\\d+ +-$`),
    );
    assert.match(
      block[4] ?? "",
      /^Responsiveness: \d+ RPM \(probe flow \d+, TCP_INFO \d+\)$/,
    );
    assert.deepEqual(block.slice(5), ["", "iperf Done."]);
    // The lines before the summary are iperf3's.
    assert.ok(
      !run.stdout.slice(0, run.stdout.indexOf("receiver")).includes(
        "Latency",
      ),
    );
  });
});

Deno.test("--latency -R: loaded TCP_INFO from the receiving streams' estimate", async () => {
  await withServer(async (server) => {
    const doc = await ourJson(server.port, ["-t", "1", "-R", "--latency"]);
    const latency = doc.end.iperf_ts.latency;
    assert.equal(latency.server_echo, true);
    assert.ok(latency.loaded.probe.count >= 5, latency.loaded.probe);
    assert.equal(latency.loaded.tcp_info.source, "receiving_streams");
  });
});

Deno.test("--latency -u: the probes beside a UDP test, TCP_INFO from the control connection", async () => {
  await withServer(async (server) => {
    const doc = await ourJson(server.port, [
      "-u",
      "-b",
      "10M",
      "-t",
      "1",
      "--latency",
    ]);
    const latency = doc.end.iperf_ts.latency;
    assert.equal(latency.server_echo, true);
    assert.equal(latency.idle.count, 10);
    assert.ok(latency.loaded.probe.count >= 5, latency.loaded.probe);
    assert.equal(latency.loaded.tcp_info.source, "control");
    // The UDP test itself is whole: no datagram lost on loopback.
    assert.equal(doc.end.sum.lost_packets, 0);
    assert.ok(doc.end.sum.packets > 0);
  });
});

Deno.test("--latency --json-stream: the interval events and the end event carry the keys", async () => {
  await withServer(async (server) => {
    const run = await oneSecond(server.port, ["--json-stream", "--latency"]);
    assert.equal(run.code, 0, run.stderr);
    const events = run.stdout.trim().split("\n").map((l) => JSON.parse(l));
    const intervals = events.filter((e) => e.event === "interval");
    assert.ok(intervals.length >= 1);
    for (const e of intervals) {
      assert.equal(typeof e.data.iperf_ts.latency.probe.count, "number");
    }
    const end = events.find((e) => e.event === "end");
    assert.equal(end.data.iperf_ts.latency.server_echo, true);
  });
});

Deno.test("runClient({ latency: true }) gives the typed figures", async () => {
  await withServer(async (server) => {
    const run = runClient({
      host: HOST,
      port: server.port,
      time: 1,
      latency: true,
    });
    let intervals = 0;
    for await (const interval of run) {
      assert.equal(typeof interval.iperf_ts?.latency.probe.count, "number");
      intervals++;
    }
    assert.ok(intervals >= 1);
    const doc = await run.result;
    const latency = doc.end.iperf_ts?.latency;
    assert.ok(latency);
    assert.equal(latency.server_echo, true);
    assert.equal(latency.idle.source, "probe");
    assert.ok((latency.rpm.value ?? 0) > 0);
  });
});

Deno.test("without --latency nothing changes: no key, no line, no parameter", async () => {
  await withServer(async (server) => {
    const doc = await ourJson(server.port, ["-t", "1"]);
    assert.equal(JSON.stringify(doc).includes("iperf_ts"), false);
    const run = await oneSecond(server.port, ["-d"]);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(run.stdout.includes("send parameters "));
    assert.equal(run.stdout.includes("iperf_ts"), false);
    assert.equal(run.stdout.includes("Latency"), false);
    const latency = await oneSecond(server.port, ["-d", "--latency"]);
    assert.match(latency.stdout, /send parameters .*"iperf_ts_latency":true/);
  });
});
