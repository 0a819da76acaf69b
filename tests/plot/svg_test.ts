import assert from "node:assert/strict";
import { STREAM_COLOURS, SUM_COLOURS } from "../../lib/plot/colours.ts";
import { plotSvg } from "../../lib/plot/render.ts";
import type { IperfJson } from "../../lib/report/json_types.ts";
import { loopbackDocument } from "./_runs.ts";
import { type SvgLine, svgLines, svgTexts } from "./_svg.ts";

/** TCP_INFO (retransmits, cwnd, RTT) is read through libc on Linux only. */
const TCP_INFO = Deno.build.os === "linux";

/** The sockets of a document's streams, in order of first appearance. */
function sockets(doc: IperfJson): number[] {
  return [
    ...new Set(doc.intervals.flatMap((i) => i.streams.map((s) => s.socket))),
  ];
}

function linesOf(lines: SvgLine[], yTitle: string): Map<string, SvgLine> {
  return new Map(
    lines.filter((l) => l.yTitle === yTitle).map((l) => [l.series, l]),
  );
}

/** Each stream and the SUM are one line with one point per interval, in their pinned colours. */
function assertSeries(
  lines: SvgLine[],
  yTitle: string,
  doc: IperfJson,
  withSum: boolean,
): void {
  const panel = linesOf(lines, yTitle);
  const expected = sockets(doc).map((socket, i) => ({
    series: `stream ${socket}`,
    stroke: STREAM_COLOURS[i],
  }));
  if (withSum) expected.push({ series: "SUM", stroke: SUM_COLOURS[0] });
  assert.deepEqual(
    [...panel.keys()].sort(),
    expected.map((e) => e.series).sort(),
    yTitle,
  );
  for (const { series, stroke } of expected) {
    const line = panel.get(series);
    assert.ok(line, `${yTitle}: no line for ${series}`);
    assert.equal(line.points, doc.intervals.length, `${yTitle}: ${series}`);
    assert.equal(line.stroke, stroke, `${yTitle}: ${series}'s colour`);
  }
}

Deno.test("plotSvg() of a real TCP -P 2 run: throughput, retransmits, cwnd and RTT, a point per interval", async () => {
  const doc = await loopbackDocument(["-P", "2"]);
  assert.ok(doc.intervals.length >= 4, `${doc.intervals.length} intervals`);
  const svg = await plotSvg(doc);
  const lines = svgLines(svg);
  const texts = svgTexts(svg);
  assertSeries(lines, "Throughput (Mbit/s)", doc, true);
  for (const want of ["Time (s)", "Throughput (Mbit/s)", "Series", "SUM"]) {
    assert.ok(texts.includes(want), `no text "${want}"`);
  }
  for (const socket of sockets(doc)) {
    assert.ok(texts.includes(`stream ${socket}`), `no legend for ${socket}`);
  }
  assert.ok(
    texts.some((t) =>
      /^TCP to 127\.0\.0\.1 port \d+ · \w{3}, \d\d \w{3} \d{4}/.test(t)
    ),
    "title with protocol, host and date",
  );
  if (TCP_INFO) {
    assertSeries(lines, "Retransmits", doc, true);
    assertSeries(lines, "cwnd (KBytes)", doc, false);
    assertSeries(lines, "RTT (ms)", doc, false);
    for (const want of ["Retransmits", "cwnd (KBytes)", "RTT (ms)"]) {
      assert.ok(texts.includes(want), `no axis title "${want}"`);
    }
  }
  assert.ok(!texts.includes("Jitter (ms)"));
  assert.ok(!texts.includes("Lost (%)"));
  // Deterministic: no canvas, estimated text widths.
  assert.equal(await plotSvg(doc), svg);
});

Deno.test("plotSvg() of a real UDP -R -P 2 run: throughput, jitter and loss, no TCP panels", async () => {
  const doc = await loopbackDocument(["-u", "-R", "-P", "2", "-b", "10M"]);
  assert.ok(doc.intervals.length >= 4, `${doc.intervals.length} intervals`);
  const svg = await plotSvg(doc);
  const lines = svgLines(svg);
  const texts = svgTexts(svg);
  assertSeries(lines, "Throughput (Mbit/s)", doc, true);
  assertSeries(lines, "Jitter (ms)", doc, true);
  assertSeries(lines, "Lost (%)", doc, true);
  for (const want of ["Time (s)", "Jitter (ms)", "Lost (%)", "Series"]) {
    assert.ok(texts.includes(want), `no text "${want}"`);
  }
  for (const absent of ["Retransmits", "cwnd (KBytes)", "RTT (ms)"]) {
    assert.ok(!texts.includes(absent), `unexpected "${absent}"`);
  }
  assert.ok(texts.some((t) => t.startsWith("UDP to 127.0.0.1 port ")));
});

Deno.test("plotSvg() of the committed fixture (a real TCP -P 2 -t 3 -i 0.5 run) has 6 points per series", async () => {
  const doc = JSON.parse(
    await Deno.readTextFile(new URL("./fixtures/tcp_p2.json", import.meta.url)),
  ) as IperfJson;
  assert.equal(doc.intervals.length, 6);
  const lines = svgLines(await plotSvg(doc));
  assertSeries(lines, "Throughput (Mbit/s)", doc, true);
  assertSeries(lines, "Retransmits", doc, true);
  assertSeries(lines, "cwnd (KBytes)", doc, false);
  assertSeries(lines, "RTT (ms)", doc, false);
});
