import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { credentialHash, makeAuthToken } from "../../lib/auth.ts";
import { AccessDeniedError, ServerError } from "../../lib/errors.ts";
import type { SessionEvent } from "../../lib/events.ts";
import { ServerMetrics } from "../../lib/metrics/server_metrics.ts";
import { readState } from "../../lib/protocol/codec.ts";
import {
  DEFAULT_UDP_BLKSIZE,
  type TestParams,
} from "../../lib/protocol/params.ts";
import { STATES } from "../../lib/protocol/states.ts";
import { runClientSession } from "../../lib/session/client.ts";
import { listen, serve, type ServeOptions } from "../../lib/session/server.ts";
import type { TestSummary } from "../../lib/stats/summary.ts";
import { sample, sumOf } from "../_support/exposition.ts";
import {
  afterParams,
  closeAll,
  closedWithin,
  HOST,
  withCookie,
} from "../_support/raw_peer.ts";
import { tcpParams } from "../_support/server.ts";

/** A server with metrics, and what it told its other listeners. */
interface MetricsServerUnderTest {
  port: number;
  metrics: ServerMetrics;
  /** Each test's server summary, by test number. */
  summaries: Map<number, TestSummary>;
  /** Tests that emitted "ended". */
  ended: number;
  /** Every event, in order. */
  events: SessionEvent[];
  errors: unknown[];
}

/** serve() with a ServerMetrics observer on 127.0.0.1, always stopped and awaited. */
async function withMetrics(
  body: (server: MetricsServerUnderTest) => Promise<void>,
  options: Omit<ServeOptions, "signal" | "emit" | "onTestError" | "observer"> =
    {},
): Promise<void> {
  const controller = new AbortController();
  const listener = listen({ hostname: HOST, port: 0 });
  const server: MetricsServerUnderTest = {
    port: listener.addr.port,
    metrics: new ServerMetrics(),
    summaries: new Map(),
    ended: 0,
    events: [],
    errors: [],
  };
  const done = serve(listener, {
    interval: 0.25,
    ...options,
    signal: controller.signal,
    observer: server.metrics,
    emit: (event, test) => {
      server.events.push(event);
      if (test === undefined) return;
      if (event.kind === "summary") server.summaries.set(test, event.summary);
      if (event.kind === "ended") server.ended++;
    },
    onTestError: (error) => server.errors.push(error),
  });
  try {
    await body(server);
  } finally {
    controller.abort();
    await done;
  }
}

/** Waits (at most 5 s) until `ready()` holds. */
async function until(what: string, ready: () => boolean): Promise<void> {
  const deadline = performance.now() + 5000;
  while (!ready()) {
    if (performance.now() > deadline) {
      throw new Error(`Timed out waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function client(port: number, params: TestParams) {
  return runClientSession({ host: HOST, port, interval: 0, params });
}

/** The server summaries' bytes, by direction, over the tests of one protocol. */
function summaryBytes(
  server: MetricsServerUnderTest,
  tests: number[],
): { sent: number; received: number } {
  let sent = 0;
  let received = 0;
  for (const test of tests) {
    const summary = server.summaries.get(test);
    assert.ok(summary, `test ${test} has a server summary`);
    for (const s of summary.streams) {
      sent += s.bytesSent;
      received += s.bytesReceived;
    }
  }
  return { sent, received };
}

function bytes(text: string, direction: string, protocol: string): number {
  return sample(text, "iperf_ts_server_bytes_total", {
    direction,
    protocol,
  }) ?? NaN;
}

Deno.test("ServerMetrics counts each test's bytes as the server's summary does: TCP, -R, --bidir, UDP", async () => {
  await withMetrics(async (server) => {
    // Test 1: the client sends; test 2: -R, the server sends; test 3: both.
    await client(server.port, tcpParams({ time: 1 }));
    await client(server.port, tcpParams({ time: 1, reverse: true }));
    await client(
      server.port,
      tcpParams({ time: 1, bidirectional: true, parallel: 2 }),
    );
    await until("3 ended tests", () => server.ended === 3);
    let text = server.metrics.text();
    const tcp = summaryBytes(server, [1, 2, 3]);
    assert.ok(tcp.sent > 0 && tcp.received > 0);
    assert.equal(bytes(text, "sent", "tcp"), tcp.sent);
    assert.equal(bytes(text, "received", "tcp"), tcp.received);
    assert.equal(bytes(text, "sent", "udp"), 0);
    assert.equal(bytes(text, "received", "udp"), 0);

    // Test 4: UDP, the client sends at 20 Mbit/s.
    await client(
      server.port,
      tcpParams({
        protocol: "udp",
        time: 1,
        bandwidth: 20_000_000,
        length: DEFAULT_UDP_BLKSIZE,
      }),
    );
    await until("4 ended tests", () => server.ended === 4);
    text = server.metrics.text();
    const udp = summaryBytes(server, [4]);
    assert.ok(udp.received > 0);
    assert.equal(bytes(text, "received", "udp"), udp.received);
    assert.equal(bytes(text, "sent", "udp"), udp.sent);
    assert.equal(bytes(text, "sent", "tcp"), tcp.sent);

    const served = (protocol: string, outcome: string) =>
      sample(text, "iperf_ts_server_tests_served_total", {
        protocol,
        outcome,
      });
    assert.equal(served("tcp", "ok"), 3);
    assert.equal(served("udp", "ok"), 1);
    assert.equal(served("tcp", "error"), 0);
    assert.equal(served("udp", "error"), 0);
    // Streams: 1 + 1 + 4 (bidir -P 2) TCP, 1 UDP; none left open.
    assert.equal(
      sample(text, "iperf_ts_server_streams_opened_total", {
        protocol: "tcp",
      }),
      6,
    );
    assert.equal(
      sample(text, "iperf_ts_server_streams_opened_total", {
        protocol: "udp",
      }),
      1,
    );
    assert.equal(sumOf(text, "iperf_ts_server_streams_open"), 0);
    assert.equal(sumOf(text, "iperf_ts_server_tests_running"), 0);
    // One duration per test, each about its 1 s.
    const name = "iperf_ts_server_test_duration_seconds";
    assert.equal(sample(text, `${name}_count`, { protocol: "tcp" }), 3);
    assert.equal(sample(text, `${name}_count`, { protocol: "udp" }), 1);
    assert.equal(
      sample(text, `${name}_bucket`, { protocol: "tcp", le: "+Inf" }),
      3,
    );
    assert.equal(
      sample(text, `${name}_bucket`, { protocol: "tcp", le: "0.5" }),
      0,
    );
    const sum = sample(text, `${name}_sum`, { protocol: "tcp" }) ?? 0;
    assert.ok(sum >= 3 && sum < 3 * 5, `durations sum to ${sum} s`);
    assert.equal(sumOf(text, "iperf_ts_server_tests_refused_total"), 0);
    assert.equal(server.errors.length, 0, String(server.errors[0]));
  });
});

Deno.test("ServerMetrics counts bytes live from interval reports, and running tests and open streams", async () => {
  await withMetrics(async (server) => {
    const running = client(
      server.port,
      tcpParams({ time: 2, reverse: true, parallel: 2 }),
    );
    try {
      // Two interval reports in: the test is half way, no summary yet.
      await until(
        "2 interval reports",
        () => server.events.filter((e) => e.kind === "interval").length >= 2,
      );
      const text = server.metrics.text();
      assert.equal(server.summaries.size, 0);
      assert.ok(bytes(text, "sent", "tcp") > 0);
      assert.equal(
        sample(text, "iperf_ts_server_tests_running", { protocol: "tcp" }),
        1,
      );
      assert.equal(
        sample(text, "iperf_ts_server_streams_open", { protocol: "tcp" }),
        2,
      );
    } finally {
      await running;
    }
    await until("the test's end", () => server.ended === 1);
    const text = server.metrics.text();
    assert.equal(bytes(text, "sent", "tcp"), summaryBytes(server, [1]).sent);
    assert.equal(
      sample(text, "iperf_ts_server_tests_running", { protocol: "tcp" }),
      0,
    );
    assert.equal(
      sample(text, "iperf_ts_server_streams_open", { protocol: "tcp" }),
      0,
    );
  });
});

Deno.test("ServerMetrics counts a busy refusal with --max-tests 1 and two clients at once", async () => {
  await withMetrics(async (server) => {
    const first = client(server.port, tcpParams({ time: 1 }));
    try {
      await until(
        "the first test's start",
        () => server.events.some((e) => e.kind === "start"),
      );
      await assert.rejects(
        client(server.port, tcpParams({ time: 1 })),
        AccessDeniedError,
      );
      const text = server.metrics.text();
      assert.equal(
        sample(text, "iperf_ts_server_tests_refused_total", {
          reason: "busy",
        }),
        1,
      );
      assert.equal(sumOf(text, "iperf_ts_server_tests_refused_total"), 1);
    } finally {
      await first;
    }
    await until("the first test's end", () => server.ended === 1);
    const text = server.metrics.text();
    assert.equal(
      sample(text, "iperf_ts_server_tests_served_total", {
        protocol: "tcp",
        outcome: "ok",
      }),
      1,
    );
  }, { maxTests: 1 });
});

Deno.test("ServerMetrics counts refused credentials as auth and over-limit parameters as parameters, with their errors", async () => {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  await withMetrics(async (server) => {
    const token = (password: string) =>
      makeAuthToken("mario", password, publicKey);
    // A wrong password, then a test longer than --server-max-duration 5.
    await assert.rejects(
      client(server.port, tcpParams({ time: 1, authToken: token("wrong") })),
      ServerError,
    );
    await assert.rejects(
      client(server.port, tcpParams({ time: 10, authToken: token("rossi") })),
      ServerError,
    );
    // A good one runs.
    await client(
      server.port,
      tcpParams({ time: 1, authToken: token("rossi") }),
    );
    await until("3 ended tests", () => server.ended === 3);
    const text = server.metrics.text();
    const refused = (reason: string) =>
      sample(text, "iperf_ts_server_tests_refused_total", { reason });
    assert.equal(refused("auth"), 1);
    assert.equal(refused("parameters"), 1);
    assert.equal(sumOf(text, "iperf_ts_server_tests_refused_total"), 2);
    const errors = (kind: string) =>
      sample(text, "iperf_ts_server_errors_total", { kind });
    assert.equal(errors("IEAUTHTEST"), 1);
    assert.equal(errors("IEMAXSERVERTESTDURATION"), 1);
    // Refused tests never started: only the good one was served.
    assert.equal(sumOf(text, "iperf_ts_server_tests_served_total"), 1);
    assert.equal(
      sample(text, "iperf_ts_server_test_duration_seconds_count", {
        protocol: "tcp",
      }),
      1,
    );
  }, {
    maxDuration: 5,
    auth: {
      privateKeyPem: privateKey,
      users: new Map([["mario", credentialHash("mario", "rossi")]]),
    },
  });
});

Deno.test("ServerMetrics counts handshake timeouts by step, the same number as handshake_timeout refusals", async () => {
  await withMetrics(async (server) => {
    const conns: Deno.TcpConn[] = [];
    try {
      // Sends nothing at all.
      conns.push(await Deno.connect({ hostname: HOST, port: server.port }));
      // A cookie, then nothing.
      const cookie = await withCookie(server.port);
      conns.push(cookie.conn);
      assert.equal(await readState(cookie.conn), STATES.PARAM_EXCHANGE);
      // Parameters, then no stream.
      const params = await afterParams(server.port, {
        tcp: true,
        time: 1,
        parallel: 1,
        len: 131072,
      });
      conns.push(params.conn);
      assert.equal(await readState(params.conn), STATES.CREATE_STREAMS);
      const waiting = sample(
        server.metrics.text(),
        "iperf_ts_server_handshakes_waiting",
      );
      assert.equal(waiting, 3);
      for (const conn of conns) {
        assert.equal(await closedWithin(conn, 3000), true);
      }
      const text = await (async () => {
        await until(
          "3 timeouts",
          () =>
            sumOf(
              server.metrics.text(),
              "iperf_ts_server_handshake_timeouts_total",
            ) === 3,
        );
        return server.metrics.text();
      })();
      for (const step of ["cookie", "parameters", "streams"]) {
        assert.equal(
          sample(text, "iperf_ts_server_handshake_timeouts_total", { step }),
          1,
          step,
        );
      }
      assert.equal(
        sample(text, "iperf_ts_server_tests_refused_total", {
          reason: "handshake_timeout",
        }),
        3,
      );
      assert.equal(sample(text, "iperf_ts_server_handshakes_waiting"), 0);
      // The two tests' timeouts are logged errors; the silent connection had no test.
      assert.equal(
        sample(text, "iperf_ts_server_errors_total", { kind: "IENOMSG" }),
        1,
      );
      assert.equal(
        sample(text, "iperf_ts_server_errors_total", {
          kind: "IESTREAMACCEPT",
        }),
        1,
      );
    } finally {
      closeAll(conns);
    }
  }, { handshakeTimeoutMs: 1000 });
});

Deno.test("ServerMetrics counts handshakes closed to make room as shed", async () => {
  await withMetrics(async (server) => {
    const conns: Deno.TcpConn[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        conns.push(await Deno.connect({ hostname: HOST, port: server.port }));
      }
      // The third over a limit of two closes the first.
      assert.equal(await closedWithin(conns[0] as Deno.TcpConn, 3000), true);
      await until(
        "a shed refusal",
        () =>
          sample(
            server.metrics.text(),
            "iperf_ts_server_tests_refused_total",
            { reason: "shed" },
          ) === 1,
      );
      assert.equal(
        sample(server.metrics.text(), "iperf_ts_server_handshakes_waiting"),
        2,
      );
    } finally {
      closeAll(conns);
    }
  }, { maxHandshakesPerAddress: 2 });
});

Deno.test("ServerMetrics counts a test the client interrupts as served with an error, and the error's kind", async () => {
  await withMetrics(async (server) => {
    const controller = new AbortController();
    const running = runClientSession({
      host: HOST,
      port: server.port,
      interval: 0,
      params: tcpParams({ time: 5 }),
    }, { signal: controller.signal });
    await until(
      "an interval report",
      () => server.events.some((e) => e.kind === "interval"),
    );
    controller.abort();
    await running.catch(() => {});
    await until("the test's end", () => server.ended === 1);
    const text = server.metrics.text();
    assert.equal(
      sample(text, "iperf_ts_server_tests_served_total", {
        protocol: "tcp",
        outcome: "error",
      }),
      1,
    );
    assert.equal(
      sample(text, "iperf_ts_server_errors_total", { kind: "IECLIENTTERM" }),
      1,
    );
    // The partial test's bytes are its summary's.
    assert.equal(
      bytes(text, "received", "tcp"),
      summaryBytes(server, [1]).received,
    );
  });
});
