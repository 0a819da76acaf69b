import assert from "node:assert/strict";
import { STREAM_COLOURS, SUM_COLOURS } from "../../lib/plot/colours.ts";
import {
  EXTENSION_KEY,
  LATENCY_SERIES,
  latencyOf,
} from "../../lib/plot/latency_key.ts";
import {
  type PanelId,
  type PlotData,
  plotData,
  type PlotPanel,
} from "../../lib/plot/plot_data.ts";
import { plotSpec } from "../../lib/plot/spec.ts";
import { makeDoc } from "./_docs.ts";

function panelIds(data: PlotData): PanelId[] {
  return data.panels.map((p) => p.id);
}

function panelOf(data: PlotData, id: PanelId): PlotPanel {
  const found = data.panels.find((p) => p.id === id);
  assert.ok(found, `no ${id} panel`);
  return found;
}

function pointsBySeries(panel: PlotPanel): Map<string, number> {
  const counts = new Map<string, number>();
  for (const p of panel.points) {
    counts.set(p.series, (counts.get(p.series) ?? 0) + 1);
  }
  return counts;
}

/** Sets a number at the latency adapter's path of every interval. */
function withLatency(
  doc: ReturnType<typeof makeDoc>,
  path: readonly string[],
  value: (i: number) => unknown,
): void {
  doc.intervals.forEach((interval, i) => {
    let at: Record<string, unknown> = interval as unknown as Record<
      string,
      unknown
    >;
    for (const key of path.slice(0, -1)) {
      at[key] ??= {};
      at = at[key] as Record<string, unknown>;
    }
    at[path[path.length - 1] ?? ""] = value(i);
  });
}

Deno.test("plotData() of a TCP sender has throughput, retransmits, cwnd and RTT panels", () => {
  const data = plotData(makeDoc({ intervals: 6 }));
  assert.deepEqual(panelIds(data), [
    "throughput",
    "retransmits",
    "cwnd",
    "rtt",
  ]);
  const throughput = panelOf(data, "throughput");
  assert.deepEqual(
    [...pointsBySeries(throughput)],
    [["stream 5", 6], ["stream 7", 6], ["SUM", 6]],
  );
  assert.equal(throughput.yTitle, "Throughput (Mbit/s)");
  // Mbit/s at each interval's end.
  assert.deepEqual(
    throughput.points.filter((p) => p.series === "stream 5").map((p) => [
      p.t,
      p.value,
    ]),
    [[1, 5], [2, 6], [3, 7], [4, 8], [5, 9], [6, 10]],
  );
  assert.deepEqual(
    [...pointsBySeries(panelOf(data, "retransmits"))],
    [["stream 5", 6], ["stream 7", 6], ["SUM", 6]],
  );
  const cwnd = panelOf(data, "cwnd");
  assert.equal(cwnd.yTitle, "cwnd (KBytes)");
  assert.deepEqual(cwnd.points.slice(0, 2).map((p) => p.value), [64, 128]);
  const rtt = panelOf(data, "rtt");
  assert.equal(rtt.yTitle, "RTT (ms)");
  assert.deepEqual(rtt.points.slice(0, 2).map((p) => p.value), [1, 2]);
  assert.ok(panelOf(data, "retransmits").integer);
});

Deno.test("plotData() pins colours: streams in order of appearance, the sum red", () => {
  const data = plotData(makeDoc({ sockets: [9, 4, 6] }));
  assert.deepEqual(
    panelOf(data, "throughput").series.map((s) => [s.name, s.colour, s.sum]),
    [
      ["stream 9", STREAM_COLOURS[0], false],
      ["stream 4", STREAM_COLOURS[1], false],
      ["stream 6", STREAM_COLOURS[2], false],
      ["SUM", SUM_COLOURS[0], true],
    ],
  );
});

Deno.test("plotData() titles the plot with protocol, host, port and date", () => {
  const data = plotData(makeDoc());
  assert.equal(
    data.title,
    "TCP to 192.0.2.10 port 5201 · Wed, 02 Dec 2026 01:00:00 GMT",
  );
  assert.match(data.subtitle.join("\n"), /2 streams, 4 s, the client sends/);
  const udp = plotData({ ...makeDoc({ protocol: "UDP" }), title: "lab A" });
  assert.match(udp.title, /^UDP to 192\.0\.2\.10 port 5201/);
  assert.equal(udp.subtitle[0], "lab A");
});

Deno.test("plotData() without TCP_INFO draws throughput only and says why", () => {
  const data = plotData(makeDoc({ tcpInfo: false }));
  assert.deepEqual(panelIds(data), ["throughput"]);
  assert.match(data.subtitle.join("\n"), /No retransmits, cwnd or RTT/);
});

Deno.test("plotData() of a UDP receiver has jitter and loss panels, no TCP ones", () => {
  const data = plotData(makeDoc({ protocol: "UDP", sender: false }));
  assert.deepEqual(panelIds(data), ["throughput", "jitter", "loss"]);
  assert.deepEqual(
    [...pointsBySeries(panelOf(data, "jitter"))],
    [["stream 5", 4], ["stream 7", 4], ["SUM", 4]],
  );
  assert.equal(panelOf(data, "jitter").yTitle, "Jitter (ms)");
  assert.equal(panelOf(data, "loss").yTitle, "Lost (%)");
});

Deno.test("plotData() of a UDP sender takes jitter and loss from the server's output", () => {
  const alone = plotData(makeDoc({ protocol: "UDP" }));
  assert.deepEqual(panelIds(alone), ["throughput"]);
  assert.match(alone.subtitle.join("\n"), /only the receiver measures them/);
  const doc = {
    ...makeDoc({ protocol: "UDP" }),
    "server_output_json": makeDoc({ protocol: "UDP", sender: false }),
  };
  const data = plotData(doc);
  assert.deepEqual(panelIds(data), ["throughput", "jitter", "loss"]);
  assert.equal(panelOf(data, "jitter").title, "Jitter (the server's figures)");
});

Deno.test("plotData() names both directions of --bidir and both sums", () => {
  const data = plotData(makeDoc({ sockets: [5, 7], bidir: true }));
  assert.deepEqual(
    panelOf(data, "throughput").series.map((s) => [s.name, s.colour]),
    [
      ["stream 5 sent", STREAM_COLOURS[0]],
      ["stream 7 received", STREAM_COLOURS[1]],
      ["SUM sent", SUM_COLOURS[0]],
      ["SUM received", SUM_COLOURS[1]],
    ],
  );
});

Deno.test("plotData() adds the latency panel only when intervals carry iperf_ts.latency numbers", () => {
  assert.ok(!panelIds(plotData(makeDoc())).includes("latency"));
  const [loaded, idle] = LATENCY_SERIES;
  assert.ok(loaded && idle);
  // The adapter's path, whatever it is today.
  assert.equal(loaded.path[0], EXTENSION_KEY);
  const doc = makeDoc({ intervals: 5 });
  withLatency(doc, loaded.path, (i) => 10 + i);
  const data = plotData(doc);
  const latency = panelOf(data, "latency");
  assert.deepEqual(data.panels.at(-1)?.id, "latency");
  assert.equal(latency.yTitle, "Latency (ms)");
  assert.deepEqual(latency.series.map((s) => [s.name, s.colour]), [
    [loaded.label, loaded.colour],
  ]);
  assert.deepEqual(latency.points.map((p) => [p.t, p.value]), [
    [1, 10],
    [2, 11],
    [3, 12],
    [4, 13],
    [5, 14],
  ]);
  // Both series when both are there; an interval without one is skipped.
  withLatency(doc, idle.path, (i) => i === 2 ? "n/a" : 0.5);
  const both = panelOf(plotData(doc), "latency");
  assert.deepEqual([...pointsBySeries(both)], [
    [loaded.label, 5],
    [idle.label, 4],
  ]);
});

Deno.test("plotData() leaves the latency panel out when the key holds no numbers", () => {
  const [loaded] = LATENCY_SERIES;
  assert.ok(loaded);
  const doc = makeDoc();
  withLatency(doc, loaded.path, () => null);
  assert.ok(!panelIds(plotData(doc)).includes("latency"));
  const other = makeDoc();
  withLatency(other, [EXTENSION_KEY, "latency"], () => "fast");
  assert.ok(!panelIds(plotData(other)).includes("latency"));
});

Deno.test("latencyOf() reads a finite number at the series' path, nothing else", () => {
  const [loaded] = LATENCY_SERIES;
  assert.ok(loaded);
  const at = (value: unknown) => ({
    iperf_ts: { latency: { "rtt_ms": value } },
  });
  assert.equal(latencyOf(at(3.5), loaded), 3.5);
  assert.equal(latencyOf(at(Infinity), loaded), undefined);
  assert.equal(latencyOf(at("3"), loaded), undefined);
  assert.equal(latencyOf({}, loaded), undefined);
  assert.equal(latencyOf({ iperf_ts: 1 }, loaded), undefined);
});

Deno.test("plotSpec() stacks one panel per figure with pinned colour scales and axis titles", () => {
  const data = plotData(makeDoc());
  const spec = plotSpec(data) as Record<string, unknown>;
  const panels = spec["vconcat"] as Record<string, unknown>[];
  assert.equal(panels.length, data.panels.length);
  panels.forEach((panel, i) => {
    const encoding = panel["encoding"] as Record<
      string,
      Record<string, unknown>
    >;
    assert.equal(encoding["x"]?.["title"], "Time (s)");
    assert.equal(encoding["y"]?.["title"], data.panels[i]?.yTitle);
    const scale = encoding["color"]?.["scale"] as Record<string, unknown>;
    assert.deepEqual(
      scale["range"],
      data.panels[i]?.series.map((s) => s.colour),
    );
  });
  // JSON through and through: what the bundle gets is plain data.
  assert.deepEqual(JSON.parse(JSON.stringify(spec)), spec);
});
