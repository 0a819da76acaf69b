/**
 * One probe: an iperf3 client test run in this process through the library
 * API (`runClient`), bounded by the probe's timeout, and its `-J` document
 * turned into edgard/iperf3_exporter 1.3.1's gauges (same names, HELP,
 * labels and -J fields), plus iperf-ts's TCP_INFO extras.
 *
 * @module
 */

import { type ClientOptions, runClient } from "../api.ts";
import { IperfError } from "../errors.ts";
import { Registry } from "../metrics/registry.ts";
import type { IperfJson, JsonEndFigures } from "../report/json_types.ts";
import { parseRate } from "../units.ts";
import type { ProbeParams } from "./probe_params.ts";

/** Options of {@linkcode runProbe}. */
export interface ProbeOptions {
  /** Stops the test (the exporter is closing, the scraper went away). */
  signal?: AbortSignal;
}

/** How a probe ended: its document, or why there is none. */
export type ProbeOutcome =
  | { readonly kind: "up"; readonly doc: IperfJson }
  | { readonly kind: "down"; readonly reason: string };

/** UDP's rate when the probe names none: edgard passes `-b 1M`. */
const UDP_BITRATE = "1M";
/** The longest timer `setTimeout` keeps (a longer delay fires at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Runs the probe's test; never throws. The test is stopped when the
 * probe's timeout passes or `signal` aborts, and the outcome is then
 * `down` with the reason.
 *
 * @param params the probe
 * @param options the signal
 * @returns the `-J` document, or why the probe failed
 */
export async function runProbe(
  params: ProbeParams,
  options: ProbeOptions = {},
): Promise<ProbeOutcome> {
  const expired = new AbortController();
  const timer = setTimeout(
    () => expired.abort(),
    Math.min(
      MAX_TIMER_MS,
      Math.max(1, Math.round(params.timeoutSeconds * 1000)),
    ),
  );
  const signal = options.signal
    ? AbortSignal.any([options.signal, expired.signal])
    : expired.signal;
  try {
    signal.throwIfAborted();
    const run = runClient({ ...clientOptions(params), signal });
    return { kind: "up", doc: await run.result };
  } catch (error) {
    if (expired.signal.aborted) {
      return {
        kind: "down",
        reason: `the test did not end within the probe's timeout of ${
          seconds(params.timeoutSeconds)
        }`,
      };
    }
    if (options.signal?.aborted) {
      return { kind: "down", reason: "the probe was stopped" };
    }
    return { kind: "down", reason: describe(error) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The probe's metrics, as edgard's collector writes them: every gauge
 * labelled `target` and `port`. Up: the five common gauges, then
 * `retransmits` (TCP) or the eight packet, jitter and loss gauges (UDP),
 * taken from the `-J` fields edgard reads (a missing field is 0), and for
 * TCP the sender's TCP_INFO figures where the document has them. Down:
 * `up` 0 and the TCP set at 0 whatever the mode, as edgard 1.3.1 does (its
 * failed result never records the mode).
 *
 * @param params the probe
 * @param outcome how it ended
 * @returns a registry holding them
 */
export function probeMetrics(
  params: ProbeParams,
  outcome: ProbeOutcome,
): Registry {
  const registry = new Registry();
  const labels = { target: params.target, port: String(params.port) };
  const set = (name: ProbeMetric, value: number) => {
    registry.gauge(name, PROBE_HELP[name], ["target", "port"]).set(
      labels,
      value,
    );
  };
  if (outcome.kind === "down") {
    set("iperf3_up", 0);
    for (const name of COMMON) set(name, 0);
    set("iperf3_retransmits", 0);
    return registry;
  }
  const end = outcome.doc.end;
  set("iperf3_up", 1);
  if (!params.udp) {
    const sent = end.sum_sent;
    const received = end.sum_received;
    set("iperf3_sent_seconds", sent?.seconds ?? 0);
    set("iperf3_sent_bytes", sent?.bytes ?? 0);
    set("iperf3_received_seconds", received?.seconds ?? 0);
    set("iperf3_received_bytes", received?.bytes ?? 0);
    set("iperf3_retransmits", sent?.retransmits ?? 0);
    for (const [name, value] of tcpInfoExtras(outcome.doc)) set(name, value);
    for (const [name, value] of latencyExtras(outcome.doc)) set(name, value);
    return registry;
  }
  // UDP: the first stream's merged object, and the legacy `end.sum`.
  const stream = end.streams?.[0]?.udp;
  const sum = end.sum;
  set("iperf3_sent_seconds", stream?.seconds ?? 0);
  set("iperf3_sent_bytes", stream?.bytes ?? 0);
  set("iperf3_sent_packets", stream?.packets ?? 0);
  set("iperf3_sent_jitter_ms", stream?.jitter_ms ?? 0);
  set("iperf3_sent_lost_packets", stream?.lost_packets ?? 0);
  set("iperf3_sent_lost_percent", stream?.lost_percent ?? 0);
  set("iperf3_received_seconds", sum?.seconds ?? 0);
  set("iperf3_received_bytes", sum?.bytes ?? 0);
  set("iperf3_received_packets", sum?.packets ?? 0);
  set("iperf3_received_jitter_ms", sum?.jitter_ms ?? 0);
  set("iperf3_received_lost_packets", sum?.lost_packets ?? 0);
  set("iperf3_received_lost_percent", sum?.lost_percent ?? 0);
  for (const [name, value] of latencyExtras(outcome.doc)) set(name, value);
  return registry;
}

/** The HELP text of every `/probe` metric: edgard's words, then iperf-ts's extras. */
export const PROBE_HELP = {
  iperf3_up:
    "Was the last iperf3 probe successful (1 for success, 0 for failure).",
  iperf3_sent_seconds: "Total seconds spent sending packets.",
  iperf3_sent_bytes: "Total sent bytes for the last test run.",
  iperf3_received_seconds: "Total seconds spent receiving packets.",
  iperf3_received_bytes: "Total received bytes for the last test run.",
  iperf3_retransmits: "Total retransmits for the last test run.",
  iperf3_sent_packets: "Total sent packets for the last UDP test run.",
  iperf3_sent_jitter_ms: "Jitter in milliseconds for sent packets in UDP mode.",
  iperf3_sent_lost_packets:
    "Total lost packets from the sender in the last UDP test run.",
  iperf3_sent_lost_percent:
    "Percentage of packets lost from the sender in the last UDP test run.",
  iperf3_received_packets: "Total received packets for the last UDP test run.",
  iperf3_received_jitter_ms:
    "Jitter in milliseconds for received packets in UDP mode.",
  iperf3_received_lost_packets:
    "Total lost packets at the receiver in the last UDP test run.",
  iperf3_received_lost_percent:
    "Percentage of packets lost at the receiver in the last UDP test run.",
  // iperf-ts extras (TCP_INFO of the local sending streams).
  iperf3_sent_rtt_mean_seconds:
    "Mean TCP round-trip time of the sending streams in the last test run, averaged over streams (iperf-ts extra).",
  iperf3_sent_rtt_min_seconds:
    "Smallest TCP round-trip time of the sending streams in the last test run (iperf-ts extra).",
  iperf3_sent_rtt_max_seconds:
    "Largest TCP round-trip time of the sending streams in the last test run (iperf-ts extra).",
  iperf3_sent_cwnd_max_bytes:
    "Largest TCP congestion window of the sending streams in the last test run (iperf-ts extra).",
  // iperf-ts extras with latency=true (the test's end.iperf_ts.latency).
  iperf3_latency_idle_seconds:
    "Median round-trip time before the load in the last test run: the probe flow, or TCP_INFO when the server does not answer probes (iperf-ts extra, latency=true).",
  iperf3_latency_loaded_seconds:
    "Median round-trip time under the load in the last test run: the probe flow, or TCP_INFO when the server does not answer probes (iperf-ts extra, latency=true).",
  iperf3_responsiveness_rpm:
    "Responsiveness under the load in the last test run, in round trips per minute (iperf-ts extra, latency=true).",
} as const;

/** A `/probe` metric's name. */
type ProbeMetric = keyof typeof PROBE_HELP;

const COMMON: readonly ProbeMetric[] = [
  "iperf3_sent_seconds",
  "iperf3_sent_bytes",
  "iperf3_received_seconds",
  "iperf3_received_bytes",
];

/**
 * The sender's TCP_INFO figures over `end.streams[].sender`, where this side
 * sent (with `-R` the peer sent, and its TCP_INFO never crosses the wire):
 * mean of the streams' mean RTTs, smallest minimum, largest maximum (the
 * document's microseconds as seconds), largest congestion window.
 */
function tcpInfoExtras(doc: IperfJson): [ProbeMetric, number][] {
  const senders = (doc.end.streams ?? []).flatMap((s) =>
    s.sender?.sender === true ? [s.sender] : []
  );
  const values = (key: keyof JsonEndFigures) =>
    senders.flatMap((s) => {
      const value = s[key];
      return typeof value === "number" ? [value] : [];
    });
  const out: [ProbeMetric, number][] = [];
  const means = values("mean_rtt");
  if (means.length > 0) {
    const mean = means.reduce((a, b) => a + b, 0) / means.length;
    out.push(["iperf3_sent_rtt_mean_seconds", mean / 1e6]);
  }
  const mins = values("min_rtt");
  if (mins.length > 0) {
    out.push(["iperf3_sent_rtt_min_seconds", Math.min(...mins) / 1e6]);
  }
  const maxes = values("max_rtt");
  if (maxes.length > 0) {
    out.push(["iperf3_sent_rtt_max_seconds", Math.max(...maxes) / 1e6]);
  }
  const cwnds = values("max_snd_cwnd");
  if (cwnds.length > 0) {
    out.push(["iperf3_sent_cwnd_max_bytes", Math.max(...cwnds)]);
  }
  return out;
}

/**
 * The latency figures of a `latency=true` probe (`end.iperf_ts.latency`):
 * the idle and loaded medians, the probe flow's where the server answered
 * it and TCP_INFO's otherwise, in seconds, and the responsiveness. A figure
 * the test could not measure is left out.
 */
function latencyExtras(doc: IperfJson): [ProbeMetric, number][] {
  const latency = doc.end.iperf_ts?.latency;
  if (!latency) return [];
  const out: [ProbeMetric, number][] = [];
  const idle = latency.idle.median_ms;
  if (idle !== null) out.push(["iperf3_latency_idle_seconds", idle / 1000]);
  const loaded = latency.loaded.probe?.median_ms ??
    latency.loaded.tcp_info?.median_ms ?? null;
  if (loaded !== null) {
    out.push(["iperf3_latency_loaded_seconds", loaded / 1000]);
  }
  if (latency.rpm.value !== null) {
    out.push(["iperf3_responsiveness_rpm", latency.rpm.value]);
  }
  return out;
}

/** The client test edgard runs: `iperf3 -J -t T -c target -p port [-B bind] [-R] [-u] [-b rate]`. */
function clientOptions(params: ProbeParams): ClientOptions {
  const options: ClientOptions = {
    host: params.target,
    port: Number(params.port),
    time: params.time,
  };
  if (params.bind !== "") options.bind = params.bind;
  if (params.reverse) options.reverse = true;
  if (params.udp) options.udp = true;
  if (params.latency) options.latency = true;
  // UDP always gets a rate; TCP only when one is given.
  const rateText = params.udp ? params.bitrate || UDP_BITRATE : params.bitrate;
  if (rateText !== "") {
    const rate = parseRate(rateText);
    options.bitrate = rate.bitsPerSecond;
    if (rate.burst > 0) options.burst = rate.burst;
  }
  return options;
}

function describe(error: unknown): string {
  if (error instanceof IperfError) return error.iperfText;
  return error instanceof Error ? error.message : String(error);
}

function seconds(value: number): string {
  return `${value}s`;
}
