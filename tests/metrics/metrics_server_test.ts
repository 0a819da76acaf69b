import assert from "node:assert/strict";
import {
  parseMetricsAddress,
  serveMetrics,
} from "../../lib/metrics/metrics_server.ts";
import { EXPOSITION_CONTENT_TYPE } from "../../lib/metrics/registry.ts";
import { ServerMetrics } from "../../lib/metrics/server_metrics.ts";
import { AccessDeniedError } from "../../lib/errors.ts";
import { runClientSession } from "../../lib/session/client.ts";
import { listen, serve } from "../../lib/session/server.ts";
import { sample } from "../_support/exposition.ts";
import { promtoolCheck } from "../_support/promtool.ts";
import { HOST } from "../_support/raw_peer.ts";
import { tcpParams } from "../_support/server.ts";

async function get(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; type: string | null; body: string }> {
  const response = await fetch(url, {
    ...init,
    signal: AbortSignal.timeout(5000),
  });
  return {
    status: response.status,
    type: response.headers.get("content-type"),
    body: await response.text(),
  };
}

Deno.test("parseMetricsAddress() reads HOST:PORT, :PORT and [IPv6]:PORT, and refuses the rest", () => {
  assert.deepEqual(parseMetricsAddress(":9580"), { port: 9580 });
  assert.deepEqual(parseMetricsAddress("127.0.0.1:0"), {
    hostname: "127.0.0.1",
    port: 0,
  });
  assert.deepEqual(parseMetricsAddress("localhost:9580"), {
    hostname: "localhost",
    port: 9580,
  });
  assert.deepEqual(parseMetricsAddress("[::1]:9580"), {
    hostname: "::1",
    port: 9580,
  });
  for (
    const bad of ["", "9580", "host", "host:", ":65536", "::1:9580", "a b:1"]
  ) {
    assert.throws(
      () => parseMetricsAddress(bad),
      (error: unknown) =>
        error instanceof TypeError &&
        error.message.startsWith(`Cannot serve metrics on "${bad}": expected`),
      bad,
    );
  }
});

Deno.test("serveMetrics() serves GET /metrics in the text format, 404 elsewhere, 405 for other methods", async () => {
  const metrics = new ServerMetrics();
  await using endpoint = serveMetrics(`${HOST}:0`, metrics);
  assert.ok(endpoint.addr.port > 0);
  const base = `http://${HOST}:${endpoint.addr.port}`;
  const ok = await get(`${base}/metrics`);
  assert.equal(ok.status, 200);
  assert.equal(ok.type, EXPOSITION_CONTENT_TYPE);
  assert.equal(ok.body, metrics.text());
  assert.equal(
    sample(ok.body, "iperf_ts_server_build_info", {
      version: "0.1.0",
      deno: Deno.version.deno,
    }),
    1,
  );
  const start = sample(ok.body, "iperf_ts_server_start_time_seconds") ?? 0;
  assert.ok(Math.abs(start - Date.now() / 1000) < 3600, String(start));
  assert.equal((await get(`${base}/`)).status, 404);
  assert.equal((await get(`${base}/metrics/x`)).status, 404);
  const post = await get(`${base}/metrics`, { method: "POST" });
  assert.equal(post.status, 405);
  assert.equal((await get(`${base}/metrics`, { method: "HEAD" })).status, 200);
});

Deno.test("serveMetrics() refuses a bad address and an address in use, and stops on its signal", async () => {
  assert.throws(
    () => serveMetrics("nonsense", new ServerMetrics()),
    TypeError,
  );
  const taken = Deno.listen({ hostname: HOST, port: 0 });
  try {
    assert.throws(
      () => serveMetrics(`${HOST}:${taken.addr.port}`, new ServerMetrics()),
      /^Error: Cannot serve metrics on "127\.0\.0\.1:\d+": Address already in use$/,
    );
  } finally {
    taken.close();
  }
  const controller = new AbortController();
  const endpoint = serveMetrics({ hostname: HOST, port: 0 }, {
    text: () => "",
  }, { signal: controller.signal });
  controller.abort();
  await endpoint.close();
  await assert.rejects(
    fetch(`http://${HOST}:${endpoint.addr.port}/metrics`),
    TypeError,
  );
});

Deno.test("The /metrics text after real tests, a refusal and an error passes promtool check metrics", async () => {
  const metrics = new ServerMetrics();
  const controller = new AbortController();
  const listener = listen({ hostname: HOST, port: 0 });
  const port = listener.addr.port;
  const done = serve(listener, {
    signal: controller.signal,
    observer: metrics,
    interval: 0.5,
    maxTests: 1,
    maxDuration: 5,
  });
  await using endpoint = serveMetrics(`${HOST}:0`, metrics);
  let text: string;
  try {
    const first = runClientSession({
      host: HOST,
      port,
      interval: 0,
      params: tcpParams({ time: 1 }),
    });
    // Busy while the first runs, then a test over --server-max-duration.
    const url = `http://${HOST}:${endpoint.addr.port}/metrics`;
    const deadline = performance.now() + 5000;
    while (
      sample((await get(url)).body, "iperf_ts_server_tests_running", {
        protocol: "tcp",
      }) !== 1
    ) {
      assert.ok(performance.now() < deadline, "the first test did not start");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await assert.rejects(
      runClientSession({
        host: HOST,
        port,
        interval: 0,
        params: tcpParams({ time: 1 }),
      }),
      AccessDeniedError,
    );
    await first;
    await assert.rejects(
      runClientSession({
        host: HOST,
        port,
        interval: 0,
        params: tcpParams({ time: 9 }),
      }),
    );
    text = (await get(url)).body;
  } finally {
    controller.abort();
    await done;
  }
  for (
    const family of [
      "iperf_ts_server_test_duration_seconds",
      "iperf_ts_server_errors_total",
      "iperf_ts_server_tests_refused_total",
      "iperf_ts_server_bytes_total",
    ]
  ) {
    assert.match(text, new RegExp(`^# TYPE ${family} `, "m"));
  }
  const check = await promtoolCheck(text);
  if (check.kind === "missing") {
    // deno-lint-ignore no-console
    console.log(`promtool check skipped: ${check.reason}`);
    return;
  }
  assert.equal(check.code, 0, check.output);
  assert.equal(check.output, "", "promtool has no complaint");
});
