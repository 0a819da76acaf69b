import assert from "node:assert/strict";
import {
  parseProbeRequest,
  type ProbeParams,
  type ProbeRefusal,
  probeTimeout,
  roundHalfEven,
} from "../../lib/exporter/probe_params.ts";

const BAD_BITRATE =
  "bitrate must provided as #[KMG][/#], target bitrate in bits/sec (0 for unlimited), (default 1 Mbit/sec for UDP, unlimited for TCP) (optional slash and packet count for burst mode)";

function parse(
  query: string,
  header?: string,
  timeoutSeconds?: number,
): ProbeParams | ProbeRefusal {
  const headers = new Headers(
    header === undefined
      ? {}
      : { "X-Prometheus-Scrape-Timeout-Seconds": header },
  );
  return parseProbeRequest(
    new URLSearchParams(query),
    headers,
    timeoutSeconds === undefined ? {} : { timeoutSeconds },
  );
}

function probe(query: string, header?: string, flag?: number): ProbeParams {
  const result = parse(query, header, flag);
  assert.equal(result.kind, "probe", query);
  return result as ProbeParams;
}

function refusal(query: string, header?: string): [number, string] {
  const result = parse(query, header);
  assert.equal(result.kind, "refused", query);
  const refused = result as ProbeRefusal;
  return [refused.status, refused.message];
}

Deno.test("parseProbeRequest() gives edgard's defaults", () => {
  assert.deepEqual(probe("target=h"), {
    kind: "probe",
    target: "h",
    port: 5201n,
    reverse: false,
    udp: false,
    bitrate: "",
    bind: "",
    time: 5,
    timeoutSeconds: 29.5,
  });
  const full = probe(
    "target=h&port=9&reverse_mode=T&udp_mode=1&bitrate=1.5M/10&period=2s&bind=127.0.0.1",
  );
  assert.deepEqual(
    [full.port, full.reverse, full.udp, full.bitrate, full.time, full.bind],
    [9n, true, true, "1.5M/10", 2, "127.0.0.1"],
  );
  // Absent, empty and 0 mean the default; the first of repeated values counts.
  assert.equal(probe("target=h&port=").port, 5201n);
  assert.equal(probe("target=h&port=0").port, 5201n);
  assert.equal(probe("target=h&port=-0").port, 5201n);
  assert.equal(probe("target=h&port=%2B80").port, 80n);
  // A bare "+" is a space in a query, as in Go's ParseQuery.
  assert.equal(refusal("target=h&port=+80")[0], 400);
  assert.equal(probe("target=h&port=-1").port, -1n);
  assert.equal(probe("target=h&port=70000").port, 70000n);
  assert.equal(probe("target=a&target=b&port=1&port=x").target, "a");
  assert.equal(probe("target=h&period=0s").time, 5);
  assert.equal(probe("target=h&period=-3s").time, -3);
  assert.equal(probe("target=h&reverse_mode=").reverse, false);
  assert.equal(probe("target=h&udp_mode=False").udp, false);
  for (const rate of ["0", "10", "1.5", "100K", "1G", "2M/5"]) {
    assert.equal(probe(`target=h&bitrate=${rate}`).bitrate, rate);
  }
});

Deno.test("parseProbeRequest() refuses each bad parameter with edgard's status and text", () => {
  const cases: [string, string | undefined, number, string][] = [
    ["", undefined, 400, "'target' parameter must be specified"],
    ["target=", undefined, 400, "'target' parameter must be specified"],
    [
      "target=h&port=x",
      undefined,
      400,
      `'port' parameter must be an integer: strconv.Atoi: parsing "x": invalid syntax`,
    ],
    [
      "target=h&port=5201.0",
      undefined,
      400,
      `'port' parameter must be an integer: strconv.Atoi: parsing "5201.0": invalid syntax`,
    ],
    [
      "target=h&port=99999999999999999999",
      undefined,
      400,
      `'port' parameter must be an integer: strconv.Atoi: parsing "99999999999999999999": value out of range`,
    ],
    [
      "target=h&reverse_mode=yes",
      undefined,
      400,
      `'reverse_mode' parameter must be true or false (boolean): strconv.ParseBool: parsing "yes": invalid syntax`,
    ],
    [
      "target=h&udp_mode=on",
      undefined,
      400,
      `'udp_mode' parameter must be true or false (boolean): strconv.ParseBool: parsing "on": invalid syntax`,
    ],
    ["target=h&bitrate=1m", undefined, 400, BAD_BITRATE],
    ["target=h&bitrate=1T", undefined, 400, BAD_BITRATE],
    ["target=h&bitrate=.5M", undefined, 400, BAD_BITRATE],
    ["target=h&bitrate=1M/", undefined, 400, BAD_BITRATE],
    [
      "target=h&period=5",
      undefined,
      400,
      `'period' parameter must be a duration: time: missing unit in duration "5"`,
    ],
    [
      "target=h&period=5x",
      undefined,
      400,
      `'period' parameter must be a duration: time: unknown unit "x" in duration "5x"`,
    ],
    [
      "target=h&period=x",
      undefined,
      400,
      `'period' parameter must be a duration: time: invalid duration "x"`,
    ],
    [
      "target=h",
      "x",
      500,
      `Failed to parse timeout from Prometheus header: strconv.ParseFloat: parsing "x": invalid syntax`,
    ],
    [
      "target=h",
      "4s",
      500,
      `Failed to parse timeout from Prometheus header: strconv.ParseFloat: parsing "4s": invalid syntax`,
    ],
    [
      "target=h",
      "1e999",
      500,
      `Failed to parse timeout from Prometheus header: strconv.ParseFloat: parsing "1e999": value out of range`,
    ],
  ];
  for (const [query, header, status, message] of cases) {
    assert.deepEqual(refusal(query, header), [status, message], query);
  }
});

Deno.test("parseProbeRequest() checks in edgard's order: target, port, reverse_mode, udp_mode, bitrate, period, header", () => {
  const all = "port=x&reverse_mode=x&udp_mode=x&bitrate=x&period=x";
  const order = [
    "'target' parameter",
    "'port' parameter",
    "'reverse_mode' parameter",
    "'udp_mode' parameter",
    "bitrate must",
    "'period' parameter",
    "Failed to parse timeout",
  ];
  let query = all;
  for (const [i, start] of order.entries()) {
    const [, message] = refusal(i === 0 ? query : `target=h&${query}`, "x");
    assert.ok(message.startsWith(start), `${start}: ${message}`);
    // Drop the parameter just reported.
    query = query.split("&").slice(i === 0 ? 0 : 1).join("&");
  }
});

Deno.test("probeTimeout() bounds the flag by the scrape timeout less 0.5 s, with edgard's edge cases", () => {
  const cases: [number, number, number][] = [
    // flag, header (0: absent), timeout
    [30, 0, 29.5],
    [10, 0, 10],
    [60, 0, 29.5],
    [30, 4, 3.5],
    [2, 4, 2],
    [30, 0.5, 30],
    [10, 0.5, 30],
    [30, 0.4, 30],
    [10, 0.4, 10],
    [10, -5, 10],
    [10, NaN, 30],
    [10, Infinity, 10],
    [30, 120, 30],
  ];
  for (const [flag, header, expected] of cases) {
    assert.equal(probeTimeout(flag, header), expected, `${flag} ${header}`);
  }
});

Deno.test("parseProbeRequest() clamps the period to 90% of the timeout, truncated, and rounds -t half to even", () => {
  const time = (query: string, header?: string, flag?: number) =>
    probe(`target=h&${query}`, header, flag).time;
  assert.equal(time("period=10s", "4"), 3); // timeout 3.5 -> 3.15 -> 3
  assert.equal(time("period=3.5s", "4"), 3); // equal to the timeout: clamped
  assert.equal(time("period=3s", "4"), 3);
  assert.equal(time("", "1.5"), 0); // timeout 1 s: int(0.9) = 0
  assert.equal(time("period=1m", "", 20), 18);
  assert.equal(time("period=2.5s"), 2);
  assert.equal(time("period=1.5s"), 2);
  assert.equal(time("period=1500ms"), 2);
  assert.equal(time("period=2600ms"), 3);
  assert.equal(time("period=400ms"), 0);
  assert.equal(probe("target=h", "4").timeoutSeconds, 3.5);
  assert.equal(probe("target=h", "0").timeoutSeconds, 29.5);
  assert.equal(probe("target=h", "", 7).timeoutSeconds, 7);
  assert.deepEqual(
    [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.4, 2.6].map(roundHalfEven),
    [-2, -2, 0, 0, 2, 2, 2, 3],
  );
});

Deno.test("parseProbeRequest() reads iperf-ts's latency parameter after edgard's", () => {
  assert.equal(probe("target=h").latency, undefined);
  assert.equal(probe("target=h&latency=false").latency, undefined);
  assert.equal(probe("target=h&latency=true").latency, true);
  assert.equal(probe("target=h&latency=1").latency, true);
  assert.deepEqual(refusal("target=h&latency=yes"), [
    400,
    `'latency' parameter must be true or false (boolean): strconv.ParseBool: parsing "yes": invalid syntax`,
  ]);
  // edgard's own errors come first.
  assert.deepEqual(refusal("target=h&latency=yes&bitrate=x"), [
    400,
    BAD_BITRATE,
  ]);
});
