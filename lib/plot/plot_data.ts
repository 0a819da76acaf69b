/**
 * What a plot shows, read from a `-J` document: the title, and one panel
 * per figure the document carries (throughput always; retransmits, cwnd and
 * RTT for TCP; jitter and loss for UDP; latency when the intervals carry
 * `iperf_ts.latency`, see `latency_key.ts`). Pure: no I/O, no Vega.
 *
 * @module
 */

import type {
  IperfJson,
  JsonInterval,
  JsonIntervalStream,
  JsonIntervalSum,
} from "../report/json_types.ts";
import { streamColour, SUM_COLOURS } from "./colours.ts";
import { LATENCY_SERIES, latencyOf } from "./latency_key.ts";

/** Which panel. */
export type PanelId =
  | "throughput"
  | "retransmits"
  | "cwnd"
  | "rtt"
  | "jitter"
  | "loss"
  | "latency";

/** One line of a panel. */
export interface PlotSeries {
  /** The legend label (`stream 5`, `SUM`, `stream 7 received`...). */
  readonly name: string;
  /** Its pinned colour (`#rrggbb`). */
  readonly colour: string;
  /** A sum over the streams: drawn wider, under the stream lines. */
  readonly sum: boolean;
}

/** One point of one series. */
export interface PlotPoint {
  /** Seconds: the interval's `end`. */
  readonly t: number;
  /** The figure, in the panel's unit. */
  readonly value: number;
  /** The series' name. */
  readonly series: string;
}

/** One panel: a y axis over the test's time. */
export interface PlotPanel {
  /** Which figure. */
  readonly id: PanelId;
  /** The panel's title. */
  readonly title: string;
  /** The y axis title, with its unit. */
  readonly yTitle: string;
  /** The legend's title. */
  readonly legendTitle: string;
  /** Whole numbers only (counts): integer ticks. */
  readonly integer: boolean;
  /** The lines, in legend order. */
  readonly series: readonly PlotSeries[];
  /** Every point, series by series. */
  readonly points: readonly PlotPoint[];
}

/** Everything a plot shows. */
export interface PlotData {
  /** The first title line: protocol, peer, date. */
  readonly title: string;
  /** Lines under the title: `-T`, the test, notes on missing panels. */
  readonly subtitle: readonly string[];
  /** How many intervals the document has. */
  readonly intervals: number;
  /** The panels, top to bottom. */
  readonly panels: readonly PlotPanel[];
}

/** The axis title of every panel's x axis. */
export const TIME_TITLE = "Time (s)";

/** A figure read per stream and per sum. */
interface Metric {
  readonly id: PanelId;
  readonly title: string;
  readonly yTitle: string;
  readonly integer?: boolean;
  readonly stream: (s: JsonIntervalStream) => number | undefined;
  readonly sum?: (s: JsonIntervalSum) => number | undefined;
}

const THROUGHPUT: Metric = {
  id: "throughput",
  title: "Throughput",
  yTitle: "Throughput (Mbit/s)",
  stream: (s) => s.bits_per_second / 1e6,
  sum: (s) => s.bits_per_second / 1e6,
};

const TCP_METRICS: readonly Metric[] = [
  {
    id: "retransmits",
    title: "Retransmits per interval",
    yTitle: "Retransmits",
    integer: true,
    stream: (s) => s.retransmits,
    sum: (s) => s.retransmits,
  },
  {
    id: "cwnd",
    title: "Congestion window",
    yTitle: "cwnd (KBytes)",
    stream: (s) => s.snd_cwnd === undefined ? undefined : s.snd_cwnd / 1024,
  },
  {
    id: "rtt",
    title: "Smoothed RTT (TCP_INFO)",
    yTitle: "RTT (ms)",
    stream: (s) => s.rtt === undefined ? undefined : s.rtt / 1000,
  },
];

const UDP_METRICS: readonly Metric[] = [
  {
    id: "jitter",
    title: "Jitter",
    yTitle: "Jitter (ms)",
    stream: (s) => s.jitter_ms,
    sum: (s) => s.jitter_ms,
  },
  {
    id: "loss",
    title: "Datagrams lost",
    yTitle: "Lost (%)",
    stream: (s) => s.lost_percent,
    sum: (s) => s.lost_percent,
  },
];

/** Where a panel's figures come from. */
interface Source {
  readonly intervals: readonly JsonInterval[];
  /** Appended to the panel title (empty for the document's own). */
  readonly label: string;
}

/**
 * The plot of a document.
 *
 * @param doc a `-J` document (or one rebuilt from `--json-stream` lines)
 *   with at least one interval
 * @returns title and panels
 */
export function plotData(doc: IperfJson): PlotData {
  const own: Source = { intervals: doc.intervals, label: "" };
  const serverIntervals = doc.server_output_json?.intervals ?? [];
  const sources: Source[] = serverIntervals.length > 0
    ? [own, { intervals: serverIntervals, label: " (the server's figures)" }]
    : [own];
  const udp = protocolOf(doc) === "UDP";
  const panels: PlotPanel[] = [panel(THROUGHPUT, own)];
  const notes: string[] = [];
  for (const metric of udp ? UDP_METRICS : TCP_METRICS) {
    const found = sources.map((source) => panel(metric, source)).find((p) =>
      p.points.length > 0
    );
    if (found) panels.push(found);
  }
  if (panels.length === 1) {
    notes.push(
      udp
        ? "No jitter or loss per interval: only the receiver measures them (plot a -R run, or one with --get-server-output from a -J server)."
        : "No retransmits, cwnd or RTT: the sender read no TCP_INFO (a -R run without --get-server-output, or no --allow-ffi, or not Linux).",
    );
  }
  const latency = latencyPanel(doc.intervals);
  if (latency) panels.push(latency);
  return {
    title: titleOf(doc, udp ? "UDP" : "TCP"),
    subtitle: [...subtitleOf(doc), ...notes],
    intervals: doc.intervals.length,
    panels,
  };
}

/** `TCP` or `UDP`: `start.test_start`, else guessed from the figures. */
function protocolOf(doc: IperfJson): "TCP" | "UDP" {
  const named = doc.start.test_start?.protocol?.toUpperCase();
  if (named === "UDP" || named === "TCP") return named;
  const udp = doc.intervals.some((i) =>
    i.streams.some((s) => s.packets !== undefined)
  );
  return udp ? "UDP" : "TCP";
}

function titleOf(doc: IperfJson, protocol: string): string {
  const start = doc.start;
  const parts = [protocol];
  if (start.connecting_to) {
    parts.push(
      `to ${start.connecting_to.host} port ${start.connecting_to.port}`,
    );
  } else if (start.accepted_connection) {
    parts.push(
      `from ${start.accepted_connection.host} port ${start.accepted_connection.port}`,
    );
  }
  const head = parts.join(" ");
  const date = start.timestamp?.time ??
    (start.timestamp
      ? new Date(start.timestamp.timesecs * 1000).toUTCString()
      : undefined);
  return date === undefined ? head : `${head} · ${date}`;
}

function subtitleOf(doc: IperfJson): string[] {
  const lines: string[] = [];
  if (doc.title !== undefined && doc.title !== "") lines.push(doc.title);
  const test = doc.start.test_start;
  const facts: string[] = [];
  if (test) {
    facts.push(
      test.num_streams === 1 ? "1 stream" : `${test.num_streams} streams`,
    );
    if (test.duration > 0) facts.push(`${test.duration} s`);
    else if (test.bytes > 0) facts.push(`${test.bytes} bytes`);
    else if (test.blocks > 0) facts.push(`${test.blocks} blocks`);
    facts.push(
      test.bidir
        ? "both send (--bidir)"
        : test.reverse
        ? "the server sends (-R)"
        : "the client sends",
    );
  }
  const n = doc.intervals.length;
  facts.push(n === 1 ? "1 interval" : `${n} intervals`);
  facts.push(doc.start.version);
  lines.push(facts.join(", "));
  if (doc.error !== undefined) lines.push(`error: ${doc.error}`);
  return lines;
}

/** One metric's panel from one source; no points when the source lacks it. */
function panel(metric: Metric, source: Source): PlotPanel {
  const names = seriesNames(source.intervals);
  const points: PlotPoint[] = [];
  const used = new Set<string>();
  const push = (t: number, value: number | undefined, series: string) => {
    if (value === undefined || !Number.isFinite(value)) return;
    points.push({ t, value, series });
    used.add(series);
  };
  for (const interval of source.intervals) {
    for (const s of interval.streams) {
      push(s.end, metric.stream(s), names.stream(s));
    }
    if (metric.sum) {
      push(interval.sum.end, metric.sum(interval.sum), names.sum(0));
      const reverse = interval.sum_bidir_reverse;
      if (reverse) push(reverse.end, metric.sum(reverse), names.sum(1));
    }
  }
  const series = names.all.filter((s) => used.has(s.name));
  // Series by series, in legend order: each line's points in time order.
  const order = new Map(series.map((s, i) => [s.name, i]));
  points.sort((a, b) =>
    (order.get(a.series) ?? 0) - (order.get(b.series) ?? 0) || a.t - b.t
  );
  return {
    id: metric.id,
    title: `${metric.title}${source.label}`,
    yTitle: metric.yTitle,
    legendTitle: "Series",
    integer: metric.integer === true,
    series,
    points,
  };
}

/** The series names of a run's streams and sums, with their colours. */
function seriesNames(intervals: readonly JsonInterval[]): {
  stream: (s: JsonIntervalStream) => string;
  sum: (which: 0 | 1) => string;
  all: PlotSeries[];
} {
  const streams: JsonIntervalStream[] = [];
  const seen = new Set<string>();
  const key = (s: JsonIntervalStream) => `${s.socket}/${s.sender}`;
  for (const interval of intervals) {
    for (const s of interval.streams) {
      if (!seen.has(key(s))) {
        seen.add(key(s));
        streams.push(s);
      }
    }
  }
  // Both directions (--bidir): say which each line is, from this side.
  const both = streams.some((s) => s.sender) &&
    streams.some((s) => !s.sender);
  const direction = (sender: boolean) =>
    both ? (sender ? " sent" : " received") : "";
  const streamName = (s: JsonIntervalStream) =>
    `stream ${s.socket}${direction(s.sender)}`;
  const first = intervals.find((i) => i.sum !== undefined);
  const sumNames: [string, string] = [
    `SUM${direction(first?.sum.sender ?? true)}`,
    `SUM${direction(first?.sum_bidir_reverse?.sender ?? false)}`,
  ];
  const all: PlotSeries[] = [
    ...streams.map((s, i) => ({
      name: streamName(s),
      colour: streamColour(i),
      sum: false,
    })),
    { name: sumNames[0], colour: SUM_COLOURS[0], sum: true },
  ];
  if (intervals.some((i) => i.sum_bidir_reverse !== undefined)) {
    all.push({ name: sumNames[1], colour: SUM_COLOURS[1], sum: true });
  }
  return {
    stream: streamName,
    sum: (which) => sumNames[which],
    all,
  };
}

function latencyPanel(
  intervals: readonly JsonInterval[],
): PlotPanel | undefined {
  const points: PlotPoint[] = [];
  const series: typeof LATENCY_SERIES[number][] = [];
  for (const which of LATENCY_SERIES) {
    let any = false;
    for (const interval of intervals) {
      const ms = latencyOf(interval, which);
      if (ms === undefined) continue;
      points.push({ t: interval.sum.end, value: ms, series: which.label });
      any = true;
    }
    if (any) series.push(which);
  }
  if (series.length === 0) return undefined;
  return {
    id: "latency",
    title: "Latency under load (iperf_ts.latency)",
    yTitle: "Latency (ms)",
    legendTitle: "Probe",
    integer: false,
    series: series.map((s) => ({
      name: s.label,
      colour: s.colour,
      sum: false,
    })),
    points,
  };
}
