import assert from "node:assert/strict";
import type { SessionEvent } from "../../lib/events.ts";
import { JsonReporter } from "../../lib/report/json.ts";
import { interval, summary as summaryOf } from "../_support/figures.ts";
import type { TestSummary } from "../../lib/stats/summary.ts";
import { tcpParams } from "../_support/server.ts";

const ep = (port: number) => ({ hostname: "127.0.0.1", port });

/** The summaries here: 1-second times and some CPU use. */
function summary(overrides: Partial<TestSummary>): TestSummary {
  return summaryOf({
    senderTime: 1,
    receiverTime: 1,
    endTime: 1,
    cpu: { total: 3, user: 1, system: 2 },
    ...overrides,
  });
}

function run(
  role: "client" | "server",
  events: SessionEvent[],
  stream = false,
): string {
  let out = "";
  const reporter = new JsonReporter({
    role,
    write: (text) => out += text,
    stream,
    version: "iperf 3.12 (iperf-ts test)",
    systemInfo: "Linux test x86_64",
    buffers: { sndbuf: 16384, rcvbuf: 131072 },
  });
  for (const e of events) reporter.handle(e);
  reporter.finish();
  return out;
}

const clientEvents = (): SessionEvent[] => [
  {
    kind: "connected",
    host: "127.0.0.1",
    port: 5201,
    cookie: "c".repeat(36),
    params: tcpParams({ time: 1, reverse: true }),
  },
  {
    kind: "stream",
    id: 1,
    socket: 5,
    sender: false,
    local: ep(40000),
    remote: ep(5201),
  },
  { kind: "start" },
  {
    kind: "interval",
    report: { streams: [interval(5, false, 0, 1.000007, 1_000_000)] },
  },
  {
    kind: "summary",
    summary: summary({
      streams: [{
        id: 1,
        socket: 5,
        sender: false,
        bytesSent: 1_100_000,
        bytesReceived: 1_000_000,
        retransmits: 7,
      }],
      senderTime: 1.000100,
      receiverTime: 1.000007,
      endTime: 1.000007,
      senderHasRetransmits: 1,
      remoteCongestion: "cubic",
    }),
  },
];

Deno.test("JsonReporter builds iperf3's client document in iperf3's key order", () => {
  const text = run("client", clientEvents());
  assert.ok(text.endsWith("}\n"));
  assert.match(text, /^\{\n\t"start":\t\{\n\t\t"connected":\t\[\{\n/);
  const doc = JSON.parse(text);
  assert.deepEqual(Object.keys(doc), ["start", "intervals", "end"]);
  assert.deepEqual(Object.keys(doc.start), [
    "connected",
    "version",
    "system_info",
    "timestamp",
    "connecting_to",
    "cookie",
    "tcp_mss_default",
    "target_bitrate",
    "fq_rate",
    "sock_bufsize",
    "sndbuf_actual",
    "rcvbuf_actual",
    "test_start",
  ]);
  assert.deepEqual(doc.start.connected, [{
    socket: 5,
    local_host: "127.0.0.1",
    local_port: 40000,
    remote_host: "127.0.0.1",
    remote_port: 5201,
  }]);
  assert.deepEqual(doc.start.test_start, {
    protocol: "TCP",
    num_streams: 1,
    blksize: 131072,
    omit: 0,
    duration: 1,
    bytes: 0,
    blocks: 0,
    reverse: 1,
    tos: 0,
    target_bitrate: 0,
    bidir: 0,
    fqrate: 0,
    interval: 1,
    gso: 0,
    gro: 0,
  });
  assert.deepEqual(doc.intervals[0].streams[0], {
    socket: 5,
    start: 0,
    end: 1.000007,
    seconds: Math.fround(1.000007),
    bytes: 1_000_000,
    bits_per_second: 1_000_000 / Math.fround(1.000007) * 8,
    omitted: false,
    sender: false,
  });
  assert.equal(doc.intervals[0].sum.sender, false);
  // -R: the server sent, with retransmit counts; cwnd/RTT are 0 as iperf3 prints peer-reported ones.
  assert.deepEqual(doc.end.streams[0].sender, {
    socket: 5,
    start: 0,
    end: 1.0001,
    seconds: 1.0001,
    bytes: 1_100_000,
    bits_per_second: 1_100_000 / 1.0001 * 8,
    retransmits: 7,
    reorder: 0,
    max_snd_cwnd: 0,
    max_snd_wnd: 0,
    max_rtt: 0,
    min_rtt: 0,
    mean_rtt: 0,
    sender: false,
  });
  assert.equal(doc.end.streams[0].receiver.seconds, 1.000007);
  assert.equal(doc.end.sum_sent.retransmits, 7);
  assert.equal(doc.end.sum_received.bytes, 1_000_000);
  assert.deepEqual(Object.keys(doc.end), [
    "streams",
    "sum_sent",
    "sum_received",
    "cpu_utilization_percent",
    "sender_tcp_congestion",
  ]);
  assert.equal(doc.end.sender_tcp_congestion, "cubic");
  assert.deepEqual(doc.end.cpu_utilization_percent, {
    host_total: 3,
    host_user: 1,
    host_system: 2,
    remote_total: 0,
    remote_user: 0,
    remote_system: 0,
  });
});

Deno.test('JsonReporter prints a parseable document with "error" when the test never started', () => {
  let out = "";
  const reporter = new JsonReporter({
    role: "client",
    write: (t) => out += t,
    version: "v",
    systemInfo: "s",
  });
  reporter.fail("unable to connect to server: Connection refused");
  reporter.finish();
  assert.deepEqual(JSON.parse(out), {
    start: { connected: [], version: "v", system_info: "s" },
    intervals: [],
    end: {},
    error: "unable to connect to server: Connection refused",
  });
  assert.match(out, /\n\t"end":\t\{\n\t\},\n/);
});

Deno.test("JsonReporter names the bidir sums as iperf3 does on each side", () => {
  const params = tcpParams({ time: 1, bidirectional: true });
  const ivl = {
    streams: [interval(5, true, 0, 1, 10), interval(7, false, 0, 1, 20)],
  };
  const sum = summary({
    streams: [
      {
        id: 1,
        socket: 5,
        sender: true,
        bytesSent: 10,
        bytesReceived: 9,
        retransmits: -1,
      },
      {
        id: 3,
        socket: 7,
        sender: false,
        bytesSent: 20,
        bytesReceived: 19,
        retransmits: -1,
      },
    ],
  });
  const client = JSON.parse(run("client", [
    { kind: "connected", host: "h", port: 1, cookie: "c".repeat(36), params },
    { kind: "interval", report: ivl },
    { kind: "summary", summary: sum },
  ]));
  assert.deepEqual(Object.keys(client.intervals[0]), [
    "streams",
    "sum",
    "sum_bidir_reverse",
  ]);
  assert.equal(client.intervals[0].sum.bytes, 10);
  assert.equal(client.intervals[0].sum_bidir_reverse.bytes, 20);
  assert.deepEqual(Object.keys(client.end), [
    "streams",
    "sum_sent",
    "sum_received",
    "sum_sent_bidir_reverse",
    "sum_received_bidir_reverse",
    "cpu_utilization_percent",
  ]);
  assert.equal(client.end.sum_sent.bytes, 10);
  assert.equal(client.end.sum_sent_bidir_reverse.bytes, 20);
  const server = JSON.parse(run("server", [
    { kind: "listening", port: 1, testNumber: 1 },
    { kind: "accepted", remote: ep(3), cookie: "c".repeat(36), params },
    {
      kind: "interval",
      report: {
        streams: [interval(5, false, 0, 1, 10), interval(8, true, 0, 1, 20)],
      },
    },
  ]));
  // The server's receiving direction is the client's sending one: "sum".
  assert.equal(server.intervals[0].sum.bytes, 10);
  assert.equal(server.intervals[0].sum_bidir_reverse.bytes, 20);
  assert.deepEqual(Object.keys(server.start).slice(0, 6), [
    "connected",
    "version",
    "system_info",
    "sock_bufsize",
    "sndbuf_actual",
    "rcvbuf_actual",
  ]);
});

Deno.test("JsonReporter --json-stream prints one compact line per event", () => {
  const lines = run("client", clientEvents(), true).trimEnd().split("\n");
  const events = lines.map((line) => JSON.parse(line));
  assert.deepEqual(events.map((e) => e.event), ["start", "interval", "end"]);
  assert.ok(
    lines.every((line) =>
      !line.includes("\t") && line.startsWith('{"event":"')
    ),
  );
  assert.equal(events[0].data.test_start.protocol, "TCP");
  assert.equal(events[2].data.sum_received.bytes, 1_000_000);
});

Deno.test("JsonReporter fills iperf3 3.21's TCP_INFO fields and congestion names in its order", () => {
  const params = tcpParams({ time: 1 });
  const tcp = {
    retransmits: 3,
    sndCwnd: 786432,
    sndWnd: 6291456,
    rtt: 120,
    rttvar: 30,
    pmtu: 65535,
    reorder: 2,
  };
  const doc = JSON.parse(run("client", [
    {
      kind: "connected",
      host: "127.0.0.1",
      port: 5201,
      cookie: "c".repeat(36),
      params,
      controlMss: 32768,
    },
    {
      kind: "stream",
      id: 1,
      socket: 5,
      sender: true,
      local: ep(40000),
      remote: ep(5201),
      buffers: { sndbuf: 131072, rcvbuf: 131072 },
    },
    { kind: "start" },
    {
      kind: "interval",
      report: {
        streams: [{ ...interval(5, true, 0, 1, 1 << 30), tcp }],
        retransmits: true,
      },
    },
    {
      kind: "summary",
      summary: summary({
        streams: [{
          id: 1,
          socket: 5,
          sender: true,
          bytesSent: 1 << 30,
          bytesReceived: 1 << 30,
          retransmits: 3,
          tcp: {
            retransmits: 3,
            maxSndCwnd: 786432,
            maxSndWnd: 6291456,
            maxRtt: 120,
            minRtt: 80,
            meanRtt: 100,
            reorder: 2,
          },
        }],
        senderHasRetransmits: 1,
        localCongestion: "cubic",
        remoteCongestion: "bbr",
      }),
    },
  ]));
  assert.equal(doc.start.tcp_mss_default, 32768);
  assert.deepEqual(
    [doc.start.sndbuf_actual, doc.start.rcvbuf_actual],
    [131072, 131072],
  );
  const s = doc.intervals[0].streams[0];
  assert.deepEqual(Object.keys(s), [
    "socket",
    "start",
    "end",
    "seconds",
    "bytes",
    "bits_per_second",
    "retransmits",
    "snd_cwnd",
    "snd_wnd",
    "rtt",
    "rttvar",
    "pmtu",
    "reorder",
    "omitted",
    "sender",
  ]);
  assert.deepEqual(
    [s.retransmits, s.snd_cwnd, s.snd_wnd, s.rtt, s.rttvar, s.pmtu, s.reorder],
    [3, 786432, 6291456, 120, 30, 65535, 2],
  );
  assert.equal(doc.intervals[0].sum.retransmits, 3);
  const sender = doc.end.streams[0].sender;
  assert.deepEqual(
    [
      sender.retransmits,
      sender.reorder,
      sender.max_snd_cwnd,
      sender.max_snd_wnd,
      sender.max_rtt,
      sender.min_rtt,
      sender.mean_rtt,
    ],
    [3, 2, 786432, 6291456, 120, 80, 100],
  );
  assert.equal(doc.end.sum_sent.retransmits, 3);
  assert.equal(doc.end.sender_tcp_congestion, "cubic");
  assert.equal(doc.end.receiver_tcp_congestion, "bbr");
  assert.deepEqual(
    Object.keys(doc.end).slice(-2),
    ["sender_tcp_congestion", "receiver_tcp_congestion"],
  );
});
