import assert from "node:assert/strict";
import type { SessionEvent } from "../../lib/events.ts";
import { TextReporter } from "../../lib/report/text.ts";
import type { StreamInterval } from "../../lib/stats/interval.ts";
import { interval, summary } from "../_support/figures.ts";
import type { TestSummary } from "../../lib/stats/summary.ts";
import { tcpParams } from "../_support/server.ts";

const GB = 2 ** 30;

function render(role: "client" | "server", events: SessionEvent[]): string {
  const lines: string[] = [];
  const reporter = new TextReporter({
    role,
    write: (line) => lines.push(line),
  });
  for (const event of events) reporter.handle(event);
  return lines.join("\n") + "\n";
}

Deno.test("TextReporter reproduces iperf3 3.12's reverse-mode client output", () => {
  // Appendix A of the reference: `iperf3 -c 127.0.0.1 -t 2 -R`, client side.
  const params = tcpParams({ time: 2, reverse: true });
  const local = { hostname: "127.0.0.1", port: 44806 };
  const remote = { hostname: "127.0.0.1", port: 5614 };
  const text = render("client", [
    {
      kind: "connected",
      host: "127.0.0.1",
      port: 5614,
      cookie: "x".repeat(36),
      params,
    },
    { kind: "stream", id: 1, socket: 5, sender: false, local, remote },
    { kind: "start" },
    {
      kind: "interval",
      report: { streams: [interval(5, false, 0, 1, Math.round(1.23 * GB))] },
    },
    {
      kind: "interval",
      report: { streams: [interval(5, false, 1, 2, Math.round(1.88 * GB))] },
    },
    {
      kind: "summary",
      summary: summary({
        streams: [{
          id: 1,
          socket: 5,
          sender: false,
          bytesSent: Math.round(3.11 * GB),
          bytesReceived: Math.round(3.11 * GB),
          retransmits: 12,
        }],
        senderTime: 2.0,
        receiverTime: 2.004,
        endTime: 2.004,
        senderHasRetransmits: 1,
      }),
    },
    { kind: "done" },
  ]);
  assert.equal(
    text,
    [
      "Connecting to host 127.0.0.1, port 5614",
      "Reverse mode, remote host 127.0.0.1 is sending",
      "[  5] local 127.0.0.1 port 44806 connected to 127.0.0.1 port 5614",
      "[ ID] Interval           Transfer     Bitrate",
      "[  5]   0.00-1.00   sec  1.23 GBytes  10.6 Gbits/sec                  ",
      "[  5]   1.00-2.00   sec  1.88 GBytes  16.1 Gbits/sec                  ",
      "- - - - - - - - - - - - - - - - - - - - - - - - -",
      "[ ID] Interval           Transfer     Bitrate         Retr",
      "[  5]   0.00-2.00   sec  3.11 GBytes  13.4 Gbits/sec   12             sender",
      "[  5]   0.00-2.00   sec  3.11 GBytes  13.3 Gbits/sec                  receiver",
      "",
      "iperf Done.",
      "",
    ].join("\n"),
  );
});

Deno.test("TextReporter reproduces iperf3 3.12's client output with Retr and Cwnd (TCP_INFO)", () => {
  // §6.5 of the reference: `iperf3 -c 127.0.0.1 -t 2`, client side on Linux.
  const params = tcpParams({ time: 2 });
  const local = { hostname: "127.0.0.1", port: 46974 };
  const remote = { hostname: "127.0.0.1", port: 5610 };
  const withTcp = (
    s: StreamInterval,
    retransmits: number,
    cwndKiB: number,
  ): StreamInterval => ({
    ...s,
    tcp: {
      retransmits,
      sndCwnd: cwndKiB * 1024,
      sndWnd: 0,
      rtt: 50,
      rttvar: 10,
      pmtu: 65535,
    },
  });
  const text = render("client", [
    {
      kind: "connected",
      host: "127.0.0.1",
      port: 5610,
      cookie: "x".repeat(36),
      params,
    },
    { kind: "stream", id: 1, socket: 5, sender: true, local, remote },
    { kind: "start" },
    {
      kind: "interval",
      report: {
        streams: [
          withTcp(interval(5, true, 0, 1, Math.round(1.42 * GB)), 5, 767),
        ],
        retransmits: true,
      },
    },
    {
      kind: "interval",
      report: {
        streams: [
          withTcp(interval(5, true, 1, 2, Math.round(1.4955 * GB)), 4, 1023),
        ],
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
          bytesSent: Math.round(2.92 * GB),
          bytesReceived: Math.round(2.92 * GB),
          retransmits: 9,
        }],
        senderTime: 2.0,
        receiverTime: 2.0,
        endTime: 2.0,
        senderHasRetransmits: 1,
      }),
    },
    { kind: "done" },
  ]);
  assert.equal(
    text,
    [
      "Connecting to host 127.0.0.1, port 5610",
      "[  5] local 127.0.0.1 port 46974 connected to 127.0.0.1 port 5610",
      "[ ID] Interval           Transfer     Bitrate         Retr  Cwnd",
      "[  5]   0.00-1.00   sec  1.42 GBytes  12.2 Gbits/sec    5    767 KBytes       ",
      "[  5]   1.00-2.00   sec  1.50 GBytes  12.8 Gbits/sec    4   1023 KBytes       ",
      "- - - - - - - - - - - - - - - - - - - - - - - - -",
      "[ ID] Interval           Transfer     Bitrate         Retr",
      "[  5]   0.00-2.00   sec  2.92 GBytes  12.5 Gbits/sec    9             sender",
      "[  5]   0.00-2.00   sec  2.92 GBytes  12.5 Gbits/sec                  receiver",
      "",
      "iperf Done.",
      "",
    ].join("\n"),
  );
});

Deno.test("TextReporter prints iperf3's [SUM] Retr line and the -V congestion lines", () => {
  const params = tcpParams({ time: 1, parallel: 2 });
  const local = { hostname: "127.0.0.1", port: 1 };
  const remote = { hostname: "127.0.0.1", port: 2 };
  const tcp = (retransmits: number) => ({
    retransmits,
    sndCwnd: 65536,
    sndWnd: 0,
    rtt: 1,
    rttvar: 1,
    pmtu: 1500,
  });
  const lines: string[] = [];
  const reporter = new TextReporter({
    role: "client",
    verbose: true,
    write: (line) => lines.push(line),
  });
  const events: SessionEvent[] = [
    {
      kind: "connected",
      host: "127.0.0.1",
      port: 2,
      cookie: "x".repeat(36),
      params,
      controlMss: 1448,
    },
    { kind: "stream", id: 1, socket: 5, sender: true, local, remote },
    { kind: "stream", id: 3, socket: 7, sender: true, local, remote },
    { kind: "start" },
    {
      kind: "interval",
      report: {
        streams: [
          { ...interval(5, true, 0, 1, 1 << 20), tcp: tcp(3) },
          { ...interval(7, true, 0, 1, 1 << 20), id: 3, tcp: tcp(4) },
        ],
        retransmits: true,
      },
    },
    {
      kind: "summary",
      summary: summary({
        streams: [],
        senderTime: 1,
        receiverTime: 1,
        endTime: 1,
        senderHasRetransmits: 1,
        localCongestion: "cubic",
        remoteCongestion: "bbr",
      }),
    },
  ];
  for (const event of events) reporter.handle(event);
  assert.ok(lines.includes("Control connection MSS 1448"));
  assert.ok(lines.includes("      TCP MSS: 1448 (default)"));
  assert.ok(
    lines.includes(
      "[SUM]   0.00-1.00   sec  2.00 MBytes  16.8 Mbits/sec    7             ",
    ),
    lines.join("\n"),
  );
  assert.deepEqual(lines.slice(-2), [
    "snd_tcp_congestion cubic",
    "rcv_tcp_congestion bbr",
  ]);
  assert.ok(!lines.some((l) => l.includes("TCP_INFO: not available")));
});

Deno.test("TextReporter reproduces iperf3 3.12's server output, short last interval included", () => {
  // Section 6.5 of the reference: `iperf3 -s -1`, for `iperf3 -c 127.0.0.1 -t 2`.
  const params = tcpParams({ time: 2 });
  const text = render("server", [
    { kind: "listening", port: 5610, testNumber: 1 },
    {
      kind: "accepted",
      remote: { hostname: "127.0.0.1", port: 46968 },
      cookie: "x".repeat(36),
      params,
    },
    {
      kind: "stream",
      id: 1,
      socket: 5,
      sender: false,
      local: { hostname: "127.0.0.1", port: 5610 },
      remote: { hostname: "127.0.0.1", port: 46974 },
    },
    { kind: "start" },
    {
      kind: "interval",
      report: { streams: [interval(5, false, 0, 1, Math.round(1.42 * GB))] },
    },
    {
      kind: "interval",
      report: { streams: [interval(5, false, 1, 2, Math.round(1.50 * GB))] },
    },
    {
      kind: "interval",
      report: { streams: [interval(5, false, 2, 2.000485, 640 * 1024)] },
    },
    {
      kind: "summary",
      summary: summary({
        streams: [{
          id: 1,
          socket: 5,
          sender: false,
          bytesSent: 0,
          bytesReceived: Math.round(2.92 * GB),
          retransmits: -1,
        }],
        senderTime: 2.000485,
        receiverTime: 2.000485,
        endTime: 2.000485,
      }),
    },
  ]);
  assert.equal(
    text,
    [
      "-----------------------------------------------------------",
      "Server listening on 5610 (test #1)",
      "-----------------------------------------------------------",
      "Accepted connection from 127.0.0.1, port 46968",
      "[  5] local 127.0.0.1 port 5610 connected to 127.0.0.1 port 46974",
      "[ ID] Interval           Transfer     Bitrate",
      "[  5]   0.00-1.00   sec  1.42 GBytes  12.2 Gbits/sec                  ",
      "[  5]   1.00-2.00   sec  1.50 GBytes  12.9 Gbits/sec                  ",
      "[  5]   2.00-2.00   sec   640 KBytes  10.8 Gbits/sec                  ",
      "- - - - - - - - - - - - - - - - - - - - - - - - -",
      "[ ID] Interval           Transfer     Bitrate",
      "[  5]   0.00-2.00   sec  2.92 GBytes  12.5 Gbits/sec                  receiver",
      "",
    ].join("\n"),
  );
});

Deno.test("TextReporter prints [SUM] lines, separators and bidir roles as iperf3 does", () => {
  const params = tcpParams({ time: 1, parallel: 2, bidirectional: true });
  const ep = { hostname: "127.0.0.1", port: 1 };
  const events: SessionEvent[] = [
    {
      kind: "connected",
      host: "h",
      port: 5201,
      cookie: "x".repeat(36),
      params,
    },
    {
      kind: "interval",
      report: {
        streams: [
          interval(5, true, 0, 1, GB),
          interval(7, true, 0, 1, GB),
          interval(9, false, 0, 1, GB),
          interval(11, false, 0, 1, GB),
        ],
      },
    },
    {
      kind: "interval",
      report: {
        streams: [
          interval(5, true, 1, 2, GB),
          interval(7, true, 1, 2, GB),
          interval(9, false, 1, 2, GB),
          interval(11, false, 1, 2, GB),
        ],
      },
    },
  ];
  const text = render("client", [{
    kind: "stream",
    id: 1,
    socket: 5,
    sender: true,
    local: ep,
    remote: ep,
  }, ...events]);
  const lines = text.split("\n");
  assert.deepEqual(lines.slice(2, -1), [
    "[ ID][Role] Interval           Transfer     Bitrate",
    "[  5][TX-C]   0.00-1.00   sec  1.00 GBytes  8.59 Gbits/sec                  ",
    "[  7][TX-C]   0.00-1.00   sec  1.00 GBytes  8.59 Gbits/sec                  ",
    "[SUM][TX-C]   0.00-1.00   sec  2.00 GBytes  17.2 Gbits/sec                  ",
    "[  9][RX-C]   0.00-1.00   sec  1.00 GBytes  8.59 Gbits/sec                  ",
    "[ 11][RX-C]   0.00-1.00   sec  1.00 GBytes  8.59 Gbits/sec                  ",
    "[SUM][RX-C]   0.00-1.00   sec  2.00 GBytes  17.2 Gbits/sec                  ",
    "- - - - - - - - - - - - - - - - - - - - - - - - -",
    "[  5][TX-C]   1.00-2.00   sec  1.00 GBytes  8.59 Gbits/sec                  ",
    "[  7][TX-C]   1.00-2.00   sec  1.00 GBytes  8.59 Gbits/sec                  ",
    "[SUM][TX-C]   1.00-2.00   sec  2.00 GBytes  17.2 Gbits/sec                  ",
    "[  9][RX-C]   1.00-2.00   sec  1.00 GBytes  8.59 Gbits/sec                  ",
    "[ 11][RX-C]   1.00-2.00   sec  1.00 GBytes  8.59 Gbits/sec                  ",
    "[SUM][RX-C]   1.00-2.00   sec  2.00 GBytes  17.2 Gbits/sec                  ",
  ]);
});

function udpInterval(
  socket: number,
  sender: boolean,
  start: number,
  end: number,
  bytes: number,
  udp: { packets: number; lost?: number; jitter?: number },
): StreamInterval {
  return {
    ...interval(socket, sender, start, end, bytes),
    udp: {
      packets: udp.packets,
      lost: udp.lost ?? 0,
      outOfOrder: 0,
      jitter: udp.jitter ?? 0,
    },
  };
}

Deno.test("TextReporter reproduces iperf3 3.12's UDP client and server output", () => {
  // Appendix A of the reference: `iperf3 -c 127.0.0.1 -u -b 10M -t 2` (32768-byte datagrams).
  const params = tcpParams({
    protocol: "udp",
    time: 2,
    bandwidth: 10_000_000,
    length: 32768,
  });
  const ep = (port: number) => ({ hostname: "127.0.0.1", port });
  const summaryFor = (role: "client" | "server"): TestSummary =>
    summary({
      streams: [{
        id: 1,
        socket: 5,
        sender: role === "client",
        bytesSent: 77 * 32768,
        bytesReceived: 77 * 32768,
        retransmits: -1,
        udp: {
          senderPackets: 77,
          receiverPackets: 77,
          lost: 0,
          outOfOrder: 0,
          jitter: 0.000018,
        },
      }],
      senderTime: 2.0,
      receiverTime: 2.0,
      endTime: 2.0,
    });
  const client = render("client", [
    {
      kind: "connected",
      host: "127.0.0.1",
      port: 5612,
      cookie: "x".repeat(36),
      params,
    },
    {
      kind: "stream",
      id: 1,
      socket: 5,
      sender: true,
      local: ep(53416),
      remote: ep(5612),
    },
    {
      kind: "interval",
      report: {
        streams: [udpInterval(5, true, 0, 1, 39 * 32768, { packets: 39 })],
      },
    },
    {
      kind: "interval",
      report: {
        streams: [udpInterval(5, true, 1, 2, 38 * 32768, { packets: 38 })],
      },
    },
    { kind: "summary", summary: summaryFor("client") },
    { kind: "done" },
  ]);
  assert.equal(
    client,
    [
      "Connecting to host 127.0.0.1, port 5612",
      "[  5] local 127.0.0.1 port 53416 connected to 127.0.0.1 port 5612",
      "[ ID] Interval           Transfer     Bitrate         Total Datagrams",
      "[  5]   0.00-1.00   sec  1.22 MBytes  10.2 Mbits/sec  39  ",
      "[  5]   1.00-2.00   sec  1.19 MBytes  9.96 Mbits/sec  38  ",
      "- - - - - - - - - - - - - - - - - - - - - - - - -",
      "[ ID] Interval           Transfer     Bitrate         Jitter    Lost/Total Datagrams",
      "[  5]   0.00-2.00   sec  2.41 MBytes  10.1 Mbits/sec  0.000 ms  0/77 (0%)  sender",
      "[  5]   0.00-2.00   sec  2.41 MBytes  10.1 Mbits/sec  0.018 ms  0/77 (0%)  receiver",
      "",
      "iperf Done.",
      "",
    ].join("\n"),
  );
  const server = render("server", [
    { kind: "accepted", remote: ep(55624), cookie: "x".repeat(36), params },
    {
      kind: "stream",
      id: 1,
      socket: 5,
      sender: false,
      local: ep(5612),
      remote: ep(53416),
    },
    {
      kind: "interval",
      report: {
        streams: [
          udpInterval(5, false, 0, 1, 39 * 32768, {
            packets: 39,
            jitter: 0.000017,
          }),
        ],
      },
    },
    {
      kind: "interval",
      report: {
        streams: [
          udpInterval(5, false, 1, 2, 38 * 32768, {
            packets: 38,
            jitter: 0.000018,
          }),
        ],
      },
    },
    { kind: "summary", summary: summaryFor("server") },
  ]);
  assert.equal(
    server,
    [
      "Accepted connection from 127.0.0.1, port 55624",
      "[  5] local 127.0.0.1 port 5612 connected to 127.0.0.1 port 53416",
      "[ ID] Interval           Transfer     Bitrate         Jitter    Lost/Total Datagrams",
      "[  5]   0.00-1.00   sec  1.22 MBytes  10.2 Mbits/sec  0.017 ms  0/39 (0%)  ",
      "[  5]   1.00-2.00   sec  1.19 MBytes  9.96 Mbits/sec  0.018 ms  0/38 (0%)  ",
      "- - - - - - - - - - - - - - - - - - - - - - - - -",
      "[ ID] Interval           Transfer     Bitrate         Jitter    Lost/Total Datagrams",
      "[  5]   0.00-2.00   sec  2.41 MBytes  10.1 Mbits/sec  0.018 ms  0/77 (0%)  receiver",
      "",
    ].join("\n"),
  );
});

Deno.test("TextReporter prints UDP loss as iperf3's %.2g and the out-of-order line", () => {
  const params = tcpParams({
    protocol: "udp",
    time: 1,
    bandwidth: 1_000_000,
    length: 1460,
    reverse: true,
  });
  const text = render("client", [
    { kind: "connected", host: "h", port: 1, cookie: "x".repeat(36), params },
    {
      kind: "summary",
      summary: summary({
        streams: [{
          id: 1,
          socket: 5,
          sender: false,
          bytesSent: 143140 * 1460,
          bytesReceived: 30445 * 1460,
          retransmits: -1,
          udp: {
            senderPackets: 143140,
            receiverPackets: 143033,
            lost: 112588,
            outOfOrder: 3,
            jitter: 0.000003,
          },
        }],
        senderTime: 1,
        receiverTime: 1,
        endTime: 1,
      }),
    },
  ]);
  const lines = text.split("\n").slice(2);
  assert.equal(lines[0], "- - - - - - - - - - - - - - - - - - - - - - - - -");
  assert.match(lines[2] ?? "", / {2}0\.000 ms {2}0\/143140 \(0%\) {2}sender$/);
  assert.equal(
    lines[3],
    "[SUM]  0.0- 1.0 sec  3 datagrams received out-of-order",
  );
  assert.match(
    lines[4] ?? "",
    / {2}0\.003 ms {2}112588\/143033 \(79%\) {2}receiver$/,
  );
});

Deno.test("TextReporter -V on a server says which side it cannot know, as iperf3", () => {
  const lines: string[] = [];
  const reporter = new TextReporter({
    role: "server",
    verbose: true,
    write: (line) => lines.push(line),
  });
  const params = tcpParams({ time: 1, parallel: 2 });
  reporter.handle({
    kind: "accepted",
    remote: { hostname: "127.0.0.1", port: 1 },
    cookie: "x".repeat(36),
    params,
  });
  reporter.handle({
    kind: "summary",
    summary: summary({
      streams: [
        {
          id: 1,
          socket: 5,
          sender: false,
          bytesSent: 0,
          bytesReceived: GB,
          retransmits: -1,
        },
        {
          id: 3,
          socket: 8,
          sender: false,
          bytesSent: 0,
          bytesReceived: GB,
          retransmits: -1,
        },
      ],
      senderTime: 1,
      receiverTime: 1,
      endTime: 1,
    }),
  });
  const tail = lines.slice(
    lines.indexOf("Test Complete. Summary Results:") + 2,
  );
  assert.deepEqual(
    tail.map((l) => l.replace(/ {3}0\.00-.*(receiver)$/, " ...$1")),
    [
      "[  5] (sender statistics not available)",
      "[  5] ...receiver",
      "[  8] (sender statistics not available)",
      "[  8] ...receiver",
      "[SUM] (sender statistics not available)",
      "[SUM] ...receiver",
    ],
  );
});
