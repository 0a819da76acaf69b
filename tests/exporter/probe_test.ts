import assert from "node:assert/strict";
import { PROBE_HELP, probeMetrics } from "../../lib/exporter/probe.ts";
import type { ProbeParams } from "../../lib/exporter/probe_params.ts";
import type { IperfJson, JsonEnd } from "../../lib/report/json_types.ts";
import { parseExposition, values } from "./_exposition.ts";

const TCP: ProbeParams = {
  kind: "probe",
  target: "example.com",
  port: 5201n,
  reverse: false,
  udp: false,
  bitrate: "",
  bind: "",
  time: 5,
  timeoutSeconds: 29.5,
};
const UDP: ProbeParams = { ...TCP, udp: true };

function doc(end: JsonEnd): IperfJson {
  return {
    start: { connected: [], version: "iperf 3.21", system_info: "" },
    intervals: [],
    end,
  };
}

function figures(
  n: number,
  extra: Record<string, number | boolean> = {},
) {
  return {
    start: 0,
    end: n,
    seconds: n + 0.1,
    bytes: n * 1000,
    bits_per_second: n * 8000,
    sender: true,
    ...extra,
  };
}

Deno.test("probeMetrics() takes TCP's figures from end.sum_sent and end.sum_received, with edgard's names, HELP and labels", () => {
  const text = probeMetrics(TCP, {
    kind: "up",
    doc: doc({
      sum_sent: figures(1, { retransmits: 7 }),
      sum_received: figures(2),
    }),
  }).text();
  const families = parseExposition(text);
  assert.deepEqual([...families.keys()], [
    "iperf3_received_bytes",
    "iperf3_received_seconds",
    "iperf3_retransmits",
    "iperf3_sent_bytes",
    "iperf3_sent_seconds",
    "iperf3_up",
  ]);
  assert.deepEqual(
    Object.fromEntries(values(families)),
    {
      iperf3_received_bytes: 2000,
      iperf3_received_seconds: 2.1,
      iperf3_retransmits: 7,
      iperf3_sent_bytes: 1000,
      iperf3_sent_seconds: 1.1,
      iperf3_up: 1,
    },
  );
  for (const [name, family] of families) {
    assert.equal(family.type, "gauge");
    assert.equal(family.help, PROBE_HELP[name as keyof typeof PROBE_HELP]);
    assert.deepEqual(family.samples[0]?.labels, {
      port: "5201",
      target: "example.com",
    });
  }
  assert.match(
    text,
    /^iperf3_up\{port="5201",target="example.com"\} 1$/m,
  );
  assert.equal(
    PROBE_HELP.iperf3_up,
    "Was the last iperf3 probe successful (1 for success, 0 for failure).",
  );
});

Deno.test("probeMetrics() takes UDP's from end.streams[0].udp (sent) and end.sum (received)", () => {
  const stream = figures(3, {
    packets: 30,
    jitter_ms: 0.3,
    lost_packets: 3,
    lost_percent: 10,
  });
  const sum = figures(4, {
    packets: 40,
    jitter_ms: 0.4,
    lost_packets: 4,
    lost_percent: 10.5,
  });
  const text = probeMetrics(UDP, {
    kind: "up",
    doc: doc({
      streams: [{ udp: stream }, { udp: figures(9) }],
      sum,
      sum_sent: figures(8),
      sum_received: figures(9),
    }),
  }).text();
  assert.deepEqual(Object.fromEntries(values(parseExposition(text))), {
    iperf3_received_bytes: 4000,
    iperf3_received_jitter_ms: 0.4,
    iperf3_received_lost_packets: 4,
    iperf3_received_lost_percent: 10.5,
    iperf3_received_packets: 40,
    iperf3_received_seconds: 4.1,
    iperf3_sent_bytes: 3000,
    iperf3_sent_jitter_ms: 0.3,
    iperf3_sent_lost_packets: 3,
    iperf3_sent_lost_percent: 10,
    iperf3_sent_packets: 30,
    iperf3_sent_seconds: 3.1,
    iperf3_up: 1,
  });
  // Missing fields are 0.
  const empty = values(parseExposition(
    probeMetrics(UDP, { kind: "up", doc: doc({}) }).text(),
  ));
  assert.equal(empty.size, 13);
  assert.equal(empty.get("iperf3_up"), 1);
  assert.ok([...empty].every(([name, v]) => name === "iperf3_up" || v === 0));
});

Deno.test("probeMetrics() adds the sender's TCP_INFO figures in seconds and bytes, only where this side sent", () => {
  const sender = (mean: number, min: number, max: number, cwnd: number) => ({
    sender: figures(1, {
      mean_rtt: mean,
      min_rtt: min,
      max_rtt: max,
      max_snd_cwnd: cwnd,
    }),
    receiver: figures(1),
  });
  const up = doc({
    streams: [sender(100, 50, 300, 1000), sender(200, 80, 250, 4000)],
    sum_sent: figures(1),
    sum_received: figures(1),
  });
  const extras = values(
    parseExposition(probeMetrics(TCP, { kind: "up", doc: up }).text()),
  );
  assert.equal(extras.get("iperf3_sent_rtt_mean_seconds"), 0.00015);
  assert.equal(extras.get("iperf3_sent_rtt_min_seconds"), 0.00005);
  assert.equal(extras.get("iperf3_sent_rtt_max_seconds"), 0.0003);
  assert.equal(extras.get("iperf3_sent_cwnd_max_bytes"), 4000);
  // -R: the figures are the peer's, which iperf3 does not send (0s, sender false).
  const reverse = doc({
    streams: [{
      sender: figures(1, { sender: false, mean_rtt: 0, max_snd_cwnd: 0 }),
    }],
  });
  // Without TCP_INFO (no libc) the fields are absent.
  const bare = doc({ streams: [{ sender: figures(1) }] });
  for (const d of [reverse, bare]) {
    const names = [
      ...parseExposition(probeMetrics(TCP, { kind: "up", doc: d }).text())
        .keys(),
    ];
    assert.deepEqual(names.filter((n) => /rtt|cwnd/.test(n)), []);
  }
  // UDP never has them.
  assert.doesNotMatch(
    probeMetrics(UDP, { kind: "up", doc: up }).text(),
    /rtt|cwnd/,
  );
});

Deno.test("probeMetrics() of a failed probe is up 0 and edgard's failure set at 0, TCP's even for UDP", () => {
  for (const params of [TCP, UDP]) {
    const got = values(parseExposition(
      probeMetrics(params, { kind: "down", reason: "refused" }).text(),
    ));
    assert.deepEqual(Object.fromEntries(got), {
      iperf3_received_bytes: 0,
      iperf3_received_seconds: 0,
      iperf3_retransmits: 0,
      iperf3_sent_bytes: 0,
      iperf3_sent_seconds: 0,
      iperf3_up: 0,
    });
  }
});

function latencyEnd(
  probeMedian: number | null,
  tcpMedian: number | null,
  rpm: number | null,
): NonNullable<JsonEnd["iperf_ts"]> {
  const rtt = (median: number | null) => ({
    count: median === null ? 0 : 10,
    min_ms: median,
    median_ms: median,
    p90_ms: median,
    p99_ms: median,
    max_ms: median,
  });
  return {
    latency: {
      idle: { ...rtt(0.5), lost: 0, source: "probe" },
      loaded: {
        probe: probeMedian === null ? null : { ...rtt(probeMedian), lost: 0 },
        tcp_info: { ...rtt(tcpMedian), source: "sending_streams" },
      },
      rpm: { value: rpm, foreign: null, self: null },
      server_echo: probeMedian !== null,
    },
  };
}

Deno.test("probeMetrics() adds the latency gauges when the document has end.iperf_ts.latency", () => {
  const latencyProbe: ProbeParams = { ...TCP, latency: true };
  const up = (end: JsonEnd) =>
    Object.fromEntries(
      values(parseExposition(
        probeMetrics(latencyProbe, { kind: "up", doc: doc(end) }).text(),
      )),
    );
  const base = { "sum_sent": figures(1), "sum_received": figures(2) };
  const tcp = up({ ...base, iperf_ts: latencyEnd(34, 33, 1830) });
  assert.equal(tcp["iperf3_latency_idle_seconds"], 0.0005);
  assert.equal(tcp["iperf3_latency_loaded_seconds"], 0.034);
  assert.equal(tcp["iperf3_responsiveness_rpm"], 1830);
  // No echo: the loaded median is TCP_INFO's.
  const fallback = up({ ...base, iperf_ts: latencyEnd(null, 33, 1818) });
  assert.equal(fallback["iperf3_latency_loaded_seconds"], 0.033);
  // Nothing measured: no gauge rather than a 0.
  const none = up({ ...base, iperf_ts: latencyEnd(null, null, null) });
  assert.equal(none["iperf3_latency_loaded_seconds"], undefined);
  assert.equal(none["iperf3_responsiveness_rpm"], undefined);
  // UDP probes carry them too.
  const udp = Object.fromEntries(values(parseExposition(
    probeMetrics({ ...UDP, latency: true }, {
      kind: "up",
      doc: doc({ iperf_ts: latencyEnd(20, null, 3000) }),
    }).text(),
  )));
  assert.equal(udp["iperf3_latency_loaded_seconds"], 0.02);
  // Without the key, edgard's set only.
  const plain = up(base);
  assert.equal(plain["iperf3_latency_idle_seconds"], undefined);
  assert.equal(
    PROBE_HELP.iperf3_responsiveness_rpm.includes("iperf-ts extra"),
    true,
  );
});
