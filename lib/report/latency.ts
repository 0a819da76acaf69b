/**
 * `--latency` in the reports: the text block after iperf3's summary lines,
 * and the `iperf_ts.latency` objects of the `-J` document (per interval and
 * in `end`), which iperf3's readers ignore. Milliseconds are rounded to the
 * microsecond.
 *
 * @module
 */

import { formatFixed } from "../printf.ts";
import type {
  IntervalLatency,
  LatencyReport,
  RttSummary,
} from "../stats/latency.ts";

/** The line that says, once, that the server has no echo. */
export const NO_ECHO_LINE =
  "Latency: the server does not answer latency probes (not iperf-ts?); RTT from TCP_INFO only";

/** The same, as `end.iperf_ts.latency.note` says it. */
export const NO_ECHO_NOTE =
  "the server does not answer latency probes (not iperf-ts?); RTT from TCP_INFO only";

const LABEL_WIDTH = 18;
const COLUMN_WIDTH = 9;

/**
 * The text block: a header, one row per figure (idle, loaded by the probe
 * flow, loaded by TCP_INFO), the responsiveness line; first the no-echo
 * line when the server did not answer.
 *
 * @param report the figures
 * @returns the lines
 */
export function latencyLines(report: LatencyReport): string[] {
  const lines: string[] = [];
  if (!report.serverEcho) lines.push(NO_ECHO_LINE);
  lines.push(
    "Latency (ms)".padEnd(LABEL_WIDTH) +
      ["min", "median", "p90", "p99", "max", "samples"].map((h) =>
        h.padStart(COLUMN_WIDTH)
      ).join("") + "lost".padStart(6),
  );
  const idle = report.idle;
  lines.push(
    row(
      idle.source === "probe" ? "idle (probe)" : "idle (TCP_INFO)",
      idle,
      idle.lost,
    ),
  );
  if (report.loadedProbe) {
    lines.push(
      row("loaded (probe)", report.loadedProbe, report.loadedProbe.lost),
    );
  }
  if (report.loadedTcpInfo) {
    lines.push(row("loaded (TCP_INFO)", report.loadedTcpInfo));
  }
  const rpm = report.rpm;
  lines.push(
    rpm.value === undefined
      ? "Responsiveness: no samples"
      : `Responsiveness: ${rpm.value} RPM (probe flow ${
        rpm.foreign ?? "-"
      }, TCP_INFO ${rpm.self ?? "-"})`,
  );
  return lines;
}

function row(label: string, s: RttSummary, lost?: number): string {
  const figure = (ms: number | undefined) =>
    ms === undefined ? "-".padStart(COLUMN_WIDTH) : formatFixed(ms, 3, 9);
  return label.padEnd(LABEL_WIDTH) +
    [s.minMs, s.medianMs, s.p90Ms, s.p99Ms, s.maxMs].map(figure).join("") +
    String(s.count).padStart(COLUMN_WIDTH) +
    (lost === undefined ? "-" : String(lost)).padStart(6);
}

/**
 * `end.iperf_ts.latency`.
 *
 * @param report the figures
 * @returns the object, in its key order
 */
export function latencyJson(report: LatencyReport): Record<string, unknown> {
  const idle = summaryJson(report.idle);
  if (report.idle.lost !== undefined) idle["lost"] = report.idle.lost;
  idle["source"] = report.idle.source;
  const probe = report.loadedProbe;
  const tcp = report.loadedTcpInfo;
  const out: Record<string, unknown> = {
    idle,
    loaded: {
      probe: probe ? { ...summaryJson(probe), lost: probe.lost } : null,
      "tcp_info": tcp ? { ...summaryJson(tcp), source: tcp.source } : null,
    },
    rpm: {
      value: report.rpm.value ?? null,
      foreign: report.rpm.foreign ?? null,
      self: report.rpm.self ?? null,
    },
    "server_echo": report.serverEcho,
  };
  if (!report.serverEcho) out["note"] = NO_ECHO_NOTE;
  return out;
}

/**
 * `intervals[].iperf_ts.latency`: the interval's median probe RTT as
 * `rtt_ms`, its probe figures, and the mean TCP_INFO RTT.
 *
 * @param latency the interval's figures
 * @returns the object
 */
export function intervalLatencyJson(
  latency: IntervalLatency,
): Record<string, unknown> {
  const p = latency.probe;
  return {
    "rtt_ms": ms(p.medianMs),
    probe: {
      count: p.count,
      lost: p.lost,
      "min_ms": ms(p.minMs),
      "median_ms": ms(p.medianMs),
      "max_ms": ms(p.maxMs),
    },
    "tcp_rtt_ms": ms(latency.tcpRttMs),
  };
}

function summaryJson(s: RttSummary): Record<string, unknown> {
  return {
    count: s.count,
    "min_ms": ms(s.minMs),
    "median_ms": ms(s.medianMs),
    "p90_ms": ms(s.p90Ms),
    "p99_ms": ms(s.p99Ms),
    "max_ms": ms(s.maxMs),
  };
}

/** Milliseconds rounded to the microsecond; null when absent. */
function ms(value: number | undefined): number | null {
  return value === undefined ? null : Math.round(value * 1000) / 1000;
}
