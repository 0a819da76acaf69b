import assert from "node:assert/strict";
import { startServer } from "../../lib/api.ts";
import {
  type ExporterHandle,
  startExporter,
} from "../../lib/exporter/exporter.ts";
import type { ExporterLogRecord } from "../../lib/exporter/log_line.ts";
import { probeMetrics, runProbe } from "../../lib/exporter/probe.ts";
import { parseProbeRequest } from "../../lib/exporter/probe_params.ts";
import { nativeSockets } from "../../lib/net/native.ts";
import type { IperfJson } from "../../lib/report/json_types.ts";
import { VERSION } from "../../lib/version.ts";
import { type Family, parseExposition, values } from "./_exposition.ts";

const METRICS_TYPE =
  "text/plain; version=0.0.4; charset=utf-8; escaping=underscores";

/** An exporter on 127.0.0.1 and a free port, its log kept. */
async function exporter(
  log: ExporterLogRecord[] = [],
): Promise<ExporterHandle & { url: (path: string) => string }> {
  const handle = await startExporter({
    listenAddresses: ["127.0.0.1:0"],
    log: (record) => log.push(record),
  });
  return {
    ...handle,
    url: (path) => `http://127.0.0.1:${handle.port}${path}`,
  };
}

/** GET with a deadline; the whole body read. */
async function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; text: string }> {
  const response = await fetch(url, {
    headers,
    signal: AbortSignal.timeout(15_000),
  });
  return {
    status: response.status,
    headers: response.headers,
    text: await response.text(),
  };
}

/** A probe's gauges by name (each has the one series). */
async function probe(
  url: string,
  headers: Record<string, string> = {},
): Promise<
  { families: Map<string, Family>; text: string; values: Map<string, number> }
> {
  const response = await get(url, headers);
  assert.equal(response.status, 200, response.text);
  assert.equal(response.headers.get("content-type"), METRICS_TYPE);
  const families = parseExposition(response.text);
  return { families, text: response.text, values: values(families) };
}

/** How many probes `/metrics` says were collected. */
async function collections(
  ex: { url: (path: string) => string },
): Promise<number> {
  const families = parseExposition((await get(ex.url("/metrics"))).text);
  return families.get("iperf3_exporter_duration_seconds")?.samples.find((s) =>
    s.name.endsWith("_count")
  )?.value ?? NaN;
}

/** The server's document of the test matching `match`, once it has it (bounded wait). */
async function servedDoc(
  served: IperfJson[],
  match: (doc: IperfJson) => boolean,
): Promise<IperfJson> {
  for (let i = 0; i < 200; i++) {
    const found = served.find(match);
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("The server never finished the test");
}

function isTest(protocol: string, reverse: boolean) {
  return (doc: IperfJson) =>
    doc.start.test_start?.protocol === protocol &&
    doc.start.test_start?.reverse === (reverse ? 1 : 0);
}

/** `promtool check metrics` on `text`; undefined (and why, printed) when it cannot run. */
async function promtool(
  text: string,
): Promise<{ code: number; output: string } | undefined> {
  const permission = await Deno.permissions.query({
    name: "run",
    command: "promtool",
  });
  if (permission.state !== "granted") {
    // deno-lint-ignore no-console
    console.log(
      'skipping promtool: no run permission for it (add "promtool" to test.permissions.run in deno.json)',
    );
    return undefined;
  }
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(10_000),
    }).spawn();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    // deno-lint-ignore no-console
    console.log(
      "skipping promtool: not on PATH (apt-get install prometheus)",
    );
    return undefined;
  }
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const result = await child.output();
  const decoder = new TextDecoder();
  return {
    code: result.code,
    output: decoder.decode(result.stdout) + decoder.decode(result.stderr),
  };
}

Deno.test("startExporter() answers /health, /ready, / and unknown paths as edgard", async () => {
  await using ex = await exporter();
  const health = await get(ex.url("/health"));
  assert.deepEqual([health.status, health.text], [200, "OK\n"]);
  const ready = await get(ex.url("/ready"));
  assert.deepEqual([ready.status, ready.text], [200, "Ready\n"]);
  const landing = await get(ex.url("/"));
  assert.equal(landing.status, 200);
  assert.equal(landing.headers.get("content-type"), "text/html; charset=UTF-8");
  assert.match(landing.text, /<a href="\/metrics">Metrics<\/a>/);
  assert.match(landing.text, /\/probe\?target=example\.com/);
  for (const path of ["/nope", "/metrics/", "/probe/x", "/healthz"]) {
    const missing = await get(ex.url(path));
    assert.deepEqual([missing.status, missing.text], [
      404,
      "404 page not found\n",
    ]);
    assert.equal(
      missing.headers.get("content-type"),
      "text/plain; charset=utf-8",
    );
  }
  assert.equal(ex.addrs.length, 1);
  assert.equal(ex.addrs[0]?.port, ex.port);
});

Deno.test("startExporter() serves its own metrics on /metrics, which promtool accepts", async () => {
  await using ex = await exporter();
  const response = await get(ex.url("/metrics"));
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), METRICS_TYPE);
  const families = parseExposition(response.text);
  assert.deepEqual(families.get("iperf3_exporter_duration_seconds"), {
    help: "Duration of collections by the iperf3 exporter.",
    type: "summary",
    samples: [
      { name: "iperf3_exporter_duration_seconds_sum", labels: {}, value: 0 },
      { name: "iperf3_exporter_duration_seconds_count", labels: {}, value: 0 },
    ],
  });
  assert.deepEqual(families.get("iperf3_exporter_errors_total"), {
    help: "Errors raised by the iperf3 exporter.",
    type: "counter",
    samples: [{ name: "iperf3_exporter_errors_total", labels: {}, value: 0 }],
  });
  const build = families.get("iperf3_exporter_build_info");
  assert.equal(build?.type, "gauge");
  assert.deepEqual(build?.samples, [{
    name: "iperf3_exporter_build_info",
    labels: {
      branch: "",
      goarch: build?.samples[0]?.labels.goarch ?? "",
      goos: Deno.build.os,
      goversion: `deno${Deno.version.deno}`,
      revision: "",
      tags: "",
      version: VERSION,
    },
    value: 1,
  }]);
  const names = [...families.keys()];
  assert.deepEqual(names, [...names].sort());
  const checked = await promtool(response.text);
  if (checked) assert.deepEqual(checked, { code: 0, output: "" });
});

Deno.test("/probe refuses a bad request with edgard's status and text, and counts it", async () => {
  await using ex = await exporter();
  const bad = await get(ex.url("/probe?target=h&port=x"));
  assert.equal(bad.status, 400);
  assert.equal(
    bad.text,
    `'port' parameter must be an integer: strconv.Atoi: parsing "x": invalid syntax\n`,
  );
  assert.equal(bad.headers.get("content-type"), "text/plain; charset=utf-8");
  assert.equal(bad.headers.get("x-content-type-options"), "nosniff");
  const missing = await get(ex.url("/probe"));
  assert.deepEqual([missing.status, missing.text], [
    400,
    "'target' parameter must be specified\n",
  ]);
  const header = await get(ex.url("/probe?target=h"), {
    "X-Prometheus-Scrape-Timeout-Seconds": "soon",
  });
  assert.deepEqual([header.status, header.text], [
    500,
    `Failed to parse timeout from Prometheus header: strconv.ParseFloat: parsing "soon": invalid syntax\n`,
  ]);
  const own = values(parseExposition((await get(ex.url("/metrics"))).text));
  assert.equal(own.get("iperf3_exporter_errors_total"), 3);
  // Refused requests are not collections.
  assert.equal(await collections(ex), 0);
});

Deno.test("/probe runs TCP, UDP and reverse tests in this process, two at once, with the -J figures", async () => {
  const served: IperfJson[] = [];
  await using server = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    onTest: (doc) => served.push(doc),
  });
  await using ex = await exporter();
  const base = `/probe?target=127.0.0.1&port=${server.port}&period=1s`;
  const started = performance.now();
  // Two at once, each its own test: TCP and UDP, then both reversed.
  const [tcp, udp] = await Promise.all([
    probe(ex.url(base)),
    probe(ex.url(`${base}&udp_mode=true`)),
  ]);
  const [tcpReverse, udpReverse] = await Promise.all([
    probe(ex.url(`${base}&reverse_mode=1`)),
    probe(ex.url(`${base}&reverse_mode=1&udp_mode=1`)),
  ]);
  assert.ok(performance.now() - started < 6000, "the pairs ran side by side");
  for (const p of [tcp, udp, tcpReverse, udpReverse]) {
    assert.equal(p.values.get("iperf3_up"), 1, p.text);
    for (const family of p.families.values()) {
      assert.deepEqual(family.samples[0]?.labels, {
        port: String(server.port),
        target: "127.0.0.1",
      });
    }
  }

  // TCP: what the server received is what the probe reports as received.
  const tcpDoc = await servedDoc(served, isTest("TCP", false));
  assert.equal(
    tcp.values.get("iperf3_received_bytes"),
    tcpDoc.end.sum_received?.bytes,
  );
  assert.ok((tcp.values.get("iperf3_sent_bytes") ?? 0) > 0);
  assert.equal(typeof tcp.values.get("iperf3_retransmits"), "number");
  // -R: the server sent.
  const tcpReverseDoc = await servedDoc(served, isTest("TCP", true));
  assert.equal(
    tcpReverse.values.get("iperf3_sent_bytes"),
    tcpReverseDoc.end.sum_sent?.bytes,
  );
  assert.ok((tcpReverse.values.get("iperf3_received_bytes") ?? 0) > 0);
  // UDP at edgard's default 1M: the server's received bytes and packets.
  const udpDoc = await servedDoc(served, isTest("UDP", false));
  assert.equal(
    udp.values.get("iperf3_received_bytes"),
    udpDoc.end.sum_received?.bytes,
  );
  assert.equal(
    udp.values.get("iperf3_received_packets"),
    udpDoc.end.sum_received?.packets,
  );
  assert.equal(udpDoc.start.test_start?.target_bitrate, 1_000_000);
  const udpReverseDoc = await servedDoc(served, isTest("UDP", true));
  assert.equal(
    udpReverse.values.get("iperf3_sent_bytes"),
    udpReverseDoc.end.sum_sent?.bytes,
  );
  assert.equal(
    udpReverse.values.get("iperf3_sent_packets"),
    udpReverseDoc.end.sum_sent?.packets,
  );
  const udpNames = [...udp.families.keys()];
  assert.equal(udpNames.length, 13);
  assert.ok(!udpNames.includes("iperf3_retransmits"));
  // TCP_INFO extras where libc is there, and only where this side sent.
  const tcpNames = [...tcp.families.keys()];
  assert.equal(
    tcpNames.includes("iperf3_sent_rtt_mean_seconds"),
    nativeSockets() !== undefined,
  );
  assert.ok(
    ![...tcpReverse.families.keys()].some((n) => /rtt|cwnd/.test(n)),
  );

  // promtool: the TCP set is clean; UDP's only complaints are edgard's
  // jitter_ms names, kept for dashboards.
  const tcpCheck = await promtool(tcp.text);
  if (tcpCheck) assert.deepEqual(tcpCheck, { code: 0, output: "" });
  const udpCheck = await promtool(udp.text);
  if (udpCheck) {
    assert.equal(udpCheck.code, 3);
    assert.deepEqual(udpCheck.output.trim().split("\n").sort(), [
      "iperf3_received_jitter_ms metric names should not contain abbreviated units",
      "iperf3_sent_jitter_ms metric names should not contain abbreviated units",
    ]);
  }
  const own = values(parseExposition((await get(ex.url("/metrics"))).text));
  assert.equal(own.get("iperf3_exporter_errors_total"), 0);
  assert.equal(await collections(ex), 4);
});

Deno.test("runProbe() gives the -J document whose fields the gauges are", async () => {
  await using server = await startServer({ hostname: "127.0.0.1", port: 0 });
  const params = (query: string) => {
    const p = parseProbeRequest(
      new URLSearchParams(
        `target=127.0.0.1&port=${server.port}&period=1s${query}`,
      ),
      new Headers(),
    );
    if (p.kind !== "probe") throw new Error(p.message);
    return p;
  };
  const tcp = params("");
  const udp = params("&udp_mode=1&bitrate=2M");
  const [tcpOutcome, udpOutcome] = await Promise.all([
    runProbe(tcp),
    runProbe(udp),
  ]);
  if (tcpOutcome.kind !== "up" || udpOutcome.kind !== "up") {
    throw new Error(
      `A probe failed: ${JSON.stringify([tcpOutcome, udpOutcome])}`,
    );
  }
  const t = values(parseExposition(probeMetrics(tcp, tcpOutcome).text()));
  const end = tcpOutcome.doc.end;
  assert.equal(t.get("iperf3_sent_seconds"), end.sum_sent?.seconds);
  assert.equal(t.get("iperf3_sent_bytes"), end.sum_sent?.bytes);
  assert.equal(t.get("iperf3_received_seconds"), end.sum_received?.seconds);
  assert.equal(t.get("iperf3_received_bytes"), end.sum_received?.bytes);
  assert.equal(t.get("iperf3_retransmits"), end.sum_sent?.retransmits ?? 0);
  const sender = end.streams?.[0]?.sender;
  if (sender?.mean_rtt !== undefined) {
    assert.equal(t.get("iperf3_sent_rtt_mean_seconds"), sender.mean_rtt / 1e6);
    assert.equal(
      t.get("iperf3_sent_rtt_min_seconds"),
      (sender.min_rtt ?? 0) / 1e6,
    );
    assert.equal(
      t.get("iperf3_sent_rtt_max_seconds"),
      (sender.max_rtt ?? 0) / 1e6,
    );
    assert.equal(t.get("iperf3_sent_cwnd_max_bytes"), sender.max_snd_cwnd);
  }
  const u = values(parseExposition(probeMetrics(udp, udpOutcome).text()));
  const stream = udpOutcome.doc.end.streams?.[0]?.udp;
  const sum = udpOutcome.doc.end.sum;
  assert.equal(udpOutcome.doc.start.test_start?.target_bitrate, 2_000_000);
  assert.deepEqual(
    [
      u.get("iperf3_sent_seconds"),
      u.get("iperf3_sent_bytes"),
      u.get("iperf3_sent_packets"),
      u.get("iperf3_sent_jitter_ms"),
      u.get("iperf3_sent_lost_packets"),
      u.get("iperf3_sent_lost_percent"),
    ],
    [
      stream?.seconds,
      stream?.bytes,
      stream?.packets,
      stream?.jitter_ms,
      stream?.lost_packets,
      stream?.lost_percent,
    ],
  );
  assert.deepEqual(
    [
      u.get("iperf3_received_seconds"),
      u.get("iperf3_received_bytes"),
      u.get("iperf3_received_packets"),
      u.get("iperf3_received_jitter_ms"),
      u.get("iperf3_received_lost_packets"),
      u.get("iperf3_received_lost_percent"),
    ],
    [
      sum?.seconds,
      sum?.bytes,
      sum?.packets,
      sum?.jitter_ms,
      sum?.lost_packets,
      sum?.lost_percent,
    ],
  );
});

Deno.test("/probe to a port nobody listens on answers up 0, the zeroed gauges, one log line and an error", async () => {
  const log: ExporterLogRecord[] = [];
  await using ex = await exporter(log);
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = closed.addr.port;
  closed.close();
  const before = values(parseExposition((await get(ex.url("/metrics"))).text));
  for (const mode of ["", "&udp_mode=1"]) {
    const down = await probe(
      ex.url(`/probe?target=127.0.0.1&port=${port}${mode}`),
    );
    assert.deepEqual(Object.fromEntries(down.values), {
      iperf3_received_bytes: 0,
      iperf3_received_seconds: 0,
      iperf3_retransmits: 0,
      iperf3_sent_bytes: 0,
      iperf3_sent_seconds: 0,
      iperf3_up: 0,
    });
  }
  const after = values(parseExposition((await get(ex.url("/metrics"))).text));
  assert.equal(
    after.get("iperf3_exporter_errors_total"),
    (before.get("iperf3_exporter_errors_total") ?? 0) + 2,
  );
  assert.equal(await collections(ex), 2);
  const errors = log.filter((r) => r.level === "error");
  assert.equal(errors.length, 2);
  assert.deepEqual(errors[0]?.attrs.target, "127.0.0.1");
  assert.deepEqual(errors[0]?.attrs.port, String(port));
  assert.match(String(errors[0]?.attrs.err), /Connection refused/);
});

Deno.test("/probe past its timeout (a short scrape timeout) returns in time with up 0", async () => {
  await using server = await startServer({ hostname: "127.0.0.1", port: 0 });
  const log: ExporterLogRecord[] = [];
  await using ex = await exporter(log);
  const started = performance.now();
  // Scrape timeout 1.5 s: the probe has 1 s, and a 10 s period becomes
  // int(0.9) = 0 s, a test without end, which the timeout stops.
  const late = await probe(
    ex.url(`/probe?target=127.0.0.1&port=${server.port}&period=10s`),
    { "X-Prometheus-Scrape-Timeout-Seconds": "1.5" },
  );
  const took = performance.now() - started;
  assert.ok(took >= 900 && took < 2500, `${took} ms`);
  assert.equal(late.values.get("iperf3_up"), 0);
  assert.equal(late.values.get("iperf3_sent_bytes"), 0);
  const errors = log.filter((r) => r.level === "error");
  assert.equal(errors.length, 1);
  assert.match(String(errors[0]?.attrs.err), /timeout of 1s/);
  // The server is fine afterwards.
  const next = await probe(
    ex.url(`/probe?target=127.0.0.1&port=${server.port}&period=1s`),
  );
  assert.equal(next.values.get("iperf3_up"), 1);
});

Deno.test("ExporterHandle.close() ends running probes (answered up 0) and every listener", async () => {
  await using server = await startServer({ hostname: "127.0.0.1", port: 0 });
  const ex = await startExporter({
    listenAddresses: ["127.0.0.1:0", "[::1]:0"],
  });
  assert.equal(ex.addrs.length, 2);
  assert.equal(ex.addrs[1]?.hostname, "::1");
  const v6 = await get(`http://[::1]:${ex.addrs[1]?.port}/ready`);
  assert.equal(v6.text, "Ready\n");
  const running = probe(
    `http://127.0.0.1:${ex.port}/probe?target=127.0.0.1&port=${server.port}&period=20s`,
  );
  await new Promise((resolve) => setTimeout(resolve, 300));
  const started = performance.now();
  await ex.close();
  const stopped = await running;
  assert.ok(performance.now() - started < 3000);
  assert.equal(stopped.values.get("iperf3_up"), 0);
  await ex.finished;
  await assert.rejects(
    fetch(`http://127.0.0.1:${ex.port}/ready`, {
      signal: AbortSignal.timeout(2000),
    }),
  );
});

Deno.test("startExporter() refuses bad settings", async () => {
  await assert.rejects(
    startExporter({ listenAddresses: ["9579"] }),
    /address 9579: missing port in address/,
  );
  await assert.rejects(
    startExporter({ listenAddresses: ["127.0.0.1:0"], probePath: "/metrics" }),
    TypeError,
  );
  await assert.rejects(
    startExporter({ listenAddresses: ["127.0.0.1:0"], timeout: 0 }),
    TypeError,
  );
  await using first = await exporter();
  await assert.rejects(
    startExporter({ listenAddresses: [`127.0.0.1:${first.port}`] }),
    /Cannot listen on "127\.0\.0\.1:\d+"/,
  );
});

Deno.test("/probe with latency=true adds the latency gauges; without it, none", async () => {
  await using server = await startServer({ hostname: "127.0.0.1", port: 0 });
  await using ex = await exporter();
  const base = `/probe?target=127.0.0.1&port=${server.port}&period=1s`;
  const withLatency = await probe(ex.url(`${base}&latency=true`));
  assert.equal(withLatency.values.get("iperf3_up"), 1, withLatency.text);
  const idle = withLatency.values.get("iperf3_latency_idle_seconds") ?? 0;
  const loaded = withLatency.values.get("iperf3_latency_loaded_seconds") ?? 0;
  // Loopback, our server answering the probes: under 20 ms each.
  assert.ok(idle > 0 && idle < 0.02, withLatency.text);
  assert.ok(loaded > 0 && loaded < 0.02, withLatency.text);
  assert.ok(
    (withLatency.values.get("iperf3_responsiveness_rpm") ?? 0) > 0,
    withLatency.text,
  );
  const plain = await probe(ex.url(base));
  assert.equal(plain.text.includes("latency"), false);
  assert.equal(plain.text.includes("responsiveness"), false);
});
