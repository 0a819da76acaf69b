/**
 * The plot as a browser shows it: a real loopback run drawn to SVG,
 * screenshotted by headless Chromium, the PNG decoded and its pixels
 * checked. Skipped, saying why, where Chromium is not installed.
 *
 * @module
 */

import assert from "node:assert/strict";
import { STREAM_COLOURS, SUM_COLOURS } from "../../lib/plot/colours.ts";
import { plotSvg } from "../../lib/plot/render.ts";
import { PANEL_SIZE } from "../../lib/plot/spec.ts";
import {
  chromiumUnavailable,
  screenshotSvg,
  svgSize,
} from "../../scripts/_chromium.ts";
import { colourTest, decodePng, type Image } from "./_png.ts";
import { loopbackDocument } from "./_runs.ts";

const UNAVAILABLE = await chromiumUnavailable();
if (UNAVAILABLE !== undefined) {
  // deno-lint-ignore no-console
  console.log(`Chromium plot test skipped: ${UNAVAILABLE}`);
}

/**
 * Pixels in a rectangle that pass `test`, the columns holding one, and
 * the first and last such column.
 */
function scan(
  image: Image,
  area: { x0: number; y0: number; x1: number; y1: number },
  test: (x: number, y: number) => boolean,
): { pixels: number; columns: number; extent: number } {
  let pixels = 0;
  let columns = 0;
  let first = Infinity;
  let last = -Infinity;
  for (let x = Math.max(0, area.x0); x < Math.min(image.width, area.x1); x++) {
    let here = 0;
    for (
      let y = Math.max(0, area.y0);
      y < Math.min(image.height, area.y1);
      y++
    ) {
      if (test(x, y)) here++;
    }
    pixels += here;
    if (here > 0) {
      columns++;
      first = Math.min(first, x);
      last = Math.max(last, x);
    }
  }
  return { pixels, columns, extent: columns > 0 ? last - first + 1 : 0 };
}

Deno.test({
  name:
    "plotSvg() in headless Chromium: every series' colour spans the plot, the legend is drawn, the margin is blank",
  ignore: UNAVAILABLE !== undefined,
  fn: async () => {
    const doc = await loopbackDocument(["-P", "2"]);
    const svg = await plotSvg(doc);
    const dir = await Deno.makeTempDir({ prefix: "iperf-ts-plot-png-" });
    try {
      await Deno.writeTextFile(`${dir}/plot.svg`, svg);
      await screenshotSvg(`${dir}/plot.svg`, `${dir}/plot.png`, {
        timeoutMs: 30_000,
      });
      const image = decodePng(await Deno.readFile(`${dir}/plot.png`));
      const size = svgSize(svg);
      assert.deepEqual([image.width, image.height], [size.width, size.height]);
      // The first panel's plot area starts at the root group's offset.
      const origin = /<g [^>]*transform="translate\((\d+),(\d+)\)"/.exec(svg);
      const left = Number(origin?.[1]);
      const top = Number(origin?.[2]);
      assert.ok(left > 0 && top > 0, "no plot origin in the SVG");
      // Every panel's plot area lies in this column range (their y axes
      // take the same room); the legends are to its right.
      const plot = {
        x0: left,
        y0: top,
        x1: left + PANEL_SIZE.width,
        y1: image.height - 16,
      };
      // The lines run from the first interval's end to the last one's.
      const ends = doc.intervals.map((i) => i.sum.end);
      const first = ends[0] ?? 0;
      const last = ends[ends.length - 1] ?? 1;
      const span = (last - first) / last * PANEL_SIZE.width;
      const sockets = [
        ...new Set(
          doc.intervals.flatMap((i) => i.streams.map((s) => s.socket)),
        ),
      ];
      const colours = [
        ...sockets.map((_, i) => STREAM_COLOURS[i] ?? ""),
        SUM_COLOURS[0],
      ];
      const legend = {
        x0: plot.x1 + 10,
        y0: top,
        x1: image.width,
        y1: top + PANEL_SIZE.height,
      };
      for (const colour of colours) {
        const isSeries = colourTest(image, { hex: colour });
        const inPlot = scan(image, plot, isSeries);
        assert.ok(inPlot.pixels >= 300, `${colour}: ${inPlot.pixels} pixels`);
        // Lines cross and cover each other in places: the line's two ends
        // must show, and it must show in most columns between them.
        assert.ok(
          inPlot.extent >= 0.95 * span &&
            inPlot.extent >= 0.5 * PANEL_SIZE.width,
          `${colour} spans ${inPlot.extent} columns of ${Math.round(span)}`,
        );
        assert.ok(
          inPlot.columns >= 0.6 * span,
          `${colour} shows in ${inPlot.columns} columns of ${Math.round(span)}`,
        );
        const swatch = scan(image, legend, isSeries);
        assert.ok(swatch.pixels >= 10, `${colour}: no legend swatch`);
      }
      const isWhite = colourTest(image, { hex: "#ffffff", tolerance: 30 });
      const notWhite = (x: number, y: number) => !isWhite(x, y);
      const legendInk = scan(image, legend, notWhite);
      assert.ok(legendInk.pixels >= 200, `legend: ${legendInk.pixels} pixels`);
      // The bottom margin and the top right corner stay blank.
      const bottom = scan(image, {
        x0: 0,
        y0: image.height - 8,
        x1: image.width,
        y1: image.height,
      }, notWhite);
      assert.equal(bottom.pixels, 0, "ink in the bottom margin");
      const corner = scan(image, {
        x0: image.width - 150,
        y0: 0,
        x1: image.width,
        y1: top - 24,
      }, notWhite);
      assert.equal(corner.pixels, 0, "ink in the top right corner");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
