/**
 * iperf3's own `-J` documents draw as ours do: the real iperf3 client
 * against our server (skipped, saying how to get iperf3, where it is not
 * on PATH).
 *
 * @module
 */

import assert from "node:assert/strict";
import { parsePlotInput } from "../../lib/plot/read_input.ts";
import { plotSvg } from "../../lib/plot/render.ts";
import { interopTest, runIperf3Client } from "../interop/_iperf3.ts";
import { withServer } from "../_support/server.ts";
import { svgLines } from "./_svg.ts";

interopTest(
  "plotSvg() draws a real iperf3 -c -J -P 2 document, a point per interval",
  async () => {
    await withServer(async (server) => {
      const theirs = await runIperf3Client(server.port, [
        "-t",
        "1",
        "-i",
        "0.2",
        "-P",
        "2",
      ]);
      const doc = parsePlotInput(JSON.stringify(theirs), "iperf3.json");
      assert.ok(doc.intervals.length >= 4, `${doc.intervals.length} intervals`);
      const lines = svgLines(await plotSvg(doc)).filter((l) =>
        l.yTitle === "Throughput (Mbit/s)"
      );
      assert.equal(lines.length, 3);
      for (const line of lines) {
        assert.equal(line.points, doc.intervals.length, line.series);
      }
    });
  },
);
