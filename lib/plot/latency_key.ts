/**
 * Where the latency panel reads its figures: iperf-ts's extension object
 * `intervals[i].iperf_ts.latency` (latency under load, added by another
 * module; iperf3 has no such key). This file is the only place that names
 * the path: change it here and the panel, its tests and docs/plots.md
 * follow.
 *
 * Read today (`--latency`, docs/latency.md):
 * `intervals[i].iperf_ts.latency.rtt_ms` (the median round trip of the probe
 * flow in the interval) and `intervals[i].iperf_ts.latency.tcp_rtt_ms` (the
 * loaded streams' TCP_INFO RTT), both numbers in milliseconds or null. The panel appears only when at least one
 * interval carries a finite number at one of them.
 *
 * @module
 */

/** One latency series: its legend label, colour and where it is read from. */
export interface LatencySeries {
  /** The legend label. */
  readonly label: string;
  /** The line's colour (`#rrggbb`). */
  readonly colour: string;
  /** The keys from an `intervals[]` element down to a number of milliseconds. */
  readonly path: readonly string[];
}

/** The extension key under each `intervals[]` element. */
export const EXTENSION_KEY = "iperf_ts";

/** The latency series, in legend order. */
export const LATENCY_SERIES: readonly LatencySeries[] = [
  {
    label: "probe RTT under load",
    colour: "#8c564b",
    path: [EXTENSION_KEY, "latency", "rtt_ms"],
  },
  {
    label: "TCP_INFO RTT",
    colour: "#17becf",
    path: [EXTENSION_KEY, "latency", "tcp_rtt_ms"],
  },
];

/**
 * The milliseconds one interval carries for one series.
 *
 * @param interval an `intervals[]` element (any object)
 * @param series which figure
 * @returns the number, or undefined when the interval has none (or not a
 *   finite number)
 */
export function latencyOf(
  interval: object,
  series: LatencySeries,
): number | undefined {
  let value: unknown = interval;
  for (const key of series.path) {
    if (typeof value !== "object" || value === null) return undefined;
    value = Reflect.get(value, key);
  }
  return typeof value === "number" && Number.isFinite(value)
    ? value
    : undefined;
}
