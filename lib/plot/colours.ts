/**
 * The plot's pinned colours: a series keeps its colour whatever else the
 * document holds, so plots compare at a glance and tests can look for a
 * colour's pixels.
 *
 * @module
 */

/**
 * Per-stream lines, in the order streams first appear in the intervals
 * (Vega's "tableau10" without its red, which the sums use); more streams
 * than colours reuse them from the start.
 */
export const STREAM_COLOURS: readonly string[] = [
  "#4c78a8",
  "#f58518",
  "#54a24b",
  "#72b7b2",
  "#eeca3b",
  "#b279a2",
  "#ff9da6",
  "#9d755d",
  "#bab0ac",
  "#1f77b4",
];

/** The sums: `intervals[].sum`, then `--bidir`'s `sum_bidir_reverse`. */
export const SUM_COLOURS: readonly [string, string] = ["#e45756", "#6f4e7c"];

/** Axes, grid and frame (greys that no series uses). */
export const FRAME_COLOURS = {
  axis: "#888888",
  grid: "#e6e6e6",
  text: "#333333",
} as const;

/**
 * The colour of the `index`-th stream.
 *
 * @param index 0 for the first stream
 * @returns its colour
 */
export function streamColour(index: number): string {
  return STREAM_COLOURS[index % STREAM_COLOURS.length] ?? "#4c78a8";
}
