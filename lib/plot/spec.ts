/**
 * {@linkcode PlotData} to a Vega-Lite spec: one panel per figure stacked
 * (`vconcat`), a shared time axis, pinned colours, a legend per panel, sums
 * drawn wider under the stream lines. Pure: the spec is plain JSON, which
 * `render.ts` hands to the Vega bundle.
 *
 * @module
 */

import { FRAME_COLOURS } from "./colours.ts";
import {
  type PlotData,
  type PlotPanel,
  type PlotSeries,
  TIME_TITLE,
} from "./plot_data.ts";

/** A JSON value, as a Vega-Lite spec is made of. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };

/** A Vega-Lite top-level spec, as plain JSON. */
export type VegaLiteSpec = { readonly [key: string]: JsonValue };

/** The plot area of one panel, in pixels. */
export const PANEL_SIZE = { width: 720, height: 170 } as const;

/** Line widths: stream lines, and the sums under them. */
const STREAM_WIDTH = 2;
const SUM_WIDTH = 4;

/**
 * The Vega-Lite spec of a plot.
 *
 * @param data what to show
 * @returns the spec (Vega-Lite 6)
 */
export function plotSpec(data: PlotData): VegaLiteSpec {
  // Fewer than 3 points make a line hard to see, or nothing at all.
  const points = data.intervals < 3;
  return {
    "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: data.title,
      subtitle: [...data.subtitle],
      anchor: "start",
      fontSize: 16,
      subtitleFontSize: 12,
      color: FRAME_COLOURS.text,
      subtitleColor: FRAME_COLOURS.text,
      offset: 12,
    },
    background: "white",
    padding: 16,
    config: {
      font: "sans-serif",
      view: { stroke: FRAME_COLOURS.axis },
      axis: {
        domainColor: FRAME_COLOURS.axis,
        tickColor: FRAME_COLOURS.axis,
        gridColor: FRAME_COLOURS.grid,
        labelColor: FRAME_COLOURS.text,
        titleColor: FRAME_COLOURS.text,
      },
      legend: {
        labelColor: FRAME_COLOURS.text,
        titleColor: FRAME_COLOURS.text,
        symbolType: "stroke",
        symbolStrokeWidth: 3,
      },
      // The same room for every panel's y labels, so the time axes line up.
      axisY: { minExtent: 56, maxExtent: 56 },
      title: { color: FRAME_COLOURS.text, anchor: "start", fontSize: 13 },
    },
    spacing: 28,
    vconcat: data.panels.map((p) => panelSpec(p, points)),
    resolve: {
      scale: { x: "shared", y: "independent", color: "independent" },
      legend: { color: "independent" },
    },
  };
}

function panelSpec(panel: PlotPanel, points: boolean): VegaLiteSpec {
  const series = panel.series;
  const allZero = panel.points.every((p) => p.value === 0);
  const encoding = {
    x: {
      field: "t",
      type: "quantitative",
      title: TIME_TITLE,
      scale: { zero: true, nice: false },
    },
    y: {
      field: "value",
      type: "quantitative",
      title: panel.yTitle,
      // All zeros (no loss, no retransmits) still get an axis up to 1.
      scale: allZero ? { domain: [0, 1] } : { zero: true },
      ...(panel.integer ? { axis: { tickMinStep: 1, format: "d" } } : {}),
    },
    color: {
      field: "series",
      type: "nominal",
      title: panel.legendTitle,
      sort: series.map((s) => s.name),
      scale: {
        domain: series.map((s) => s.name),
        range: series.map((s) => s.colour),
      },
      legend: { orient: "right" },
    },
  };
  const layers = [
    layer(series.filter((s) => s.sum), SUM_WIDTH, points),
    layer(series.filter((s) => !s.sum), STREAM_WIDTH, points),
  ].filter((l) => l !== undefined);
  return {
    title: panel.title,
    width: PANEL_SIZE.width,
    height: PANEL_SIZE.height,
    data: {
      values: panel.points.map((p) => ({
        t: p.t,
        value: p.value,
        series: p.series,
      })),
    },
    encoding,
    layer: layers,
  };
}

function layer(
  series: readonly PlotSeries[],
  width: number,
  points: boolean,
): VegaLiteSpec | undefined {
  if (series.length === 0) return undefined;
  return {
    transform: [{
      filter: { field: "series", oneOf: series.map((s) => s.name) },
    }],
    mark: {
      type: "line",
      strokeWidth: width,
      interpolate: "linear",
      ...(points ? { point: { filled: true, size: 40 } } : {}),
    },
  };
}
