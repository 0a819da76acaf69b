/**
 * A `/probe` request's query and headers to the test to run, as
 * edgard/iperf3_exporter 1.3.1 reads them (`internal/server/server.go`
 * `probeHandler`): the same checks in the same order, the same defaults,
 * the same status codes and texts, and its timeout and period arithmetic.
 *
 * @module
 */

import { goDurationSeconds, parseGoDuration } from "./go_duration.ts";
import { goAtoi, goParseBool, goParseFloat } from "./go_strconv.ts";
import { DEFAULT_PROBE_TIMEOUT } from "./defaults.ts";

/** iperf3's port, used when `port` is absent or 0. */
export const DEFAULT_PROBE_PORT = 5201n;
/** Seconds of test when `period` is absent or 0. */
export const DEFAULT_PROBE_PERIOD = 5;
/** Seconds taken off Prometheus's scrape timeout, so the answer arrives in time (edgard's `timeoutOffset`). */
export const PROBE_TIMEOUT_OFFSET = 0.5;
/** The header Prometheus sends with its scrape timeout in seconds. */
export const SCRAPE_TIMEOUT_HEADER = "X-Prometheus-Scrape-Timeout-Seconds";

/** The bitrates edgard accepts (iperf3's `-b`: `#[KMG][/#]`). */
const BITRATE = /^[0-9]+(\.[0-9]+)?([KMG])?(\/[0-9]+)?$/;
const BAD_BITRATE =
  "bitrate must provided as #[KMG][/#], target bitrate in bits/sec (0 for unlimited), (default 1 Mbit/sec for UDP, unlimited for TCP) (optional slash and packet count for burst mode)";

/** One probe, read from a valid request. */
export interface ProbeParams {
  /** Always `"probe"`. */
  readonly kind: "probe";
  /** The host to test against, as given (the `target` label). */
  readonly target: string;
  /** The port, 5201 when absent or 0 (the `port` label; Go's 64-bit `int`). */
  readonly port: bigint;
  /** `-R`. */
  readonly reverse: boolean;
  /** `-u`: the UDP set of metrics. */
  readonly udp: boolean;
  /** `-b` as given; empty when absent (UDP then sends at 1M). */
  readonly bitrate: string;
  /** `-B`; empty when absent. */
  readonly bind: string;
  /** `-t`: whole seconds, after the clamp to the timeout (may be 0 or negative, as edgard passes it). */
  readonly time: number;
  /** Seconds the whole test may take. */
  readonly timeoutSeconds: number;
  /** `--latency` (the `latency` parameter, an iperf-ts extra); absent when false. */
  readonly latency?: boolean;
}

/** A request refused before any test, as edgard answers it (`http.Error`). */
export interface ProbeRefusal {
  /** Always `"refused"`. */
  readonly kind: "refused";
  /** 400 for a bad parameter, 500 for a bad scrape-timeout header. */
  readonly status: 400 | 500;
  /** The body's text, without the newline `http.Error` adds. */
  readonly message: string;
}

/** Options of {@linkcode parseProbeRequest}. */
export interface ProbeRequestOptions {
  /** `--iperf3.timeout` in seconds, above 0 (default 30). */
  readonly timeoutSeconds?: number;
}

/**
 * Reads a `/probe` request. The checks run in edgard's order: target, port,
 * reverse_mode, udp_mode, bitrate, period, then the scrape-timeout header;
 * `bind` is taken as it is; then iperf-ts's own `latency` (a boolean, as
 * `reverse_mode`). Only the first value of a repeated parameter
 * counts (Go's `Query().Get`).
 *
 * @param query the URL's query
 * @param headers the request's headers
 * @param options the configured timeout
 * @returns the probe to run, or why it is refused
 */
export function parseProbeRequest(
  query: URLSearchParams,
  headers: Headers,
  options: ProbeRequestOptions = {},
): ProbeParams | ProbeRefusal {
  const get = (name: string) => query.get(name) ?? "";
  const target = get("target");
  if (target === "") return refuse(400, "'target' parameter must be specified");
  let port = 0n;
  const portText = get("port");
  if (portText !== "") {
    try {
      port = goAtoi(portText);
    } catch (error) {
      return refuse(
        400,
        `'port' parameter must be an integer: ${messageOf(error)}`,
      );
    }
  }
  if (port === 0n) port = DEFAULT_PROBE_PORT;
  const reverse = flag("reverse_mode");
  if (typeof reverse !== "boolean") return reverse;
  const udp = flag("udp_mode");
  if (typeof udp !== "boolean") return udp;
  const bitrate = get("bitrate");
  if (bitrate !== "" && !BITRATE.test(bitrate)) return refuse(400, BAD_BITRATE);
  let period = 0;
  const periodText = get("period");
  if (periodText !== "") {
    try {
      period = goDurationSeconds(parseGoDuration(periodText));
    } catch (error) {
      return refuse(
        400,
        `'period' parameter must be a duration: ${messageOf(error)}`,
      );
    }
  }
  if (period === 0) period = DEFAULT_PROBE_PERIOD;
  let header = 0;
  const headerText = headers.get(SCRAPE_TIMEOUT_HEADER) ?? "";
  if (headerText !== "") {
    try {
      header = goParseFloat(headerText);
    } catch (error) {
      return refuse(
        500,
        `Failed to parse timeout from Prometheus header: ${messageOf(error)}`,
      );
    }
  }
  const timeoutSeconds = probeTimeout(
    options.timeoutSeconds ?? DEFAULT_PROBE_TIMEOUT,
    header,
  );
  // iperf-ts's own parameter, read after edgard's so that their errors
  // come first, as edgard reports them.
  const latency = flag("latency");
  if (typeof latency !== "boolean") return latency;
  return {
    kind: "probe",
    target,
    port,
    reverse,
    udp,
    bitrate,
    bind: get("bind"),
    time: roundHalfEven(probePeriod(period, timeoutSeconds)),
    timeoutSeconds,
    ...(latency ? { latency: true } : {}),
  };

  /** A boolean parameter: false when absent, else Go's ParseBool. */
  function flag(name: string): boolean | ProbeRefusal {
    const text = get(name);
    if (text === "") return false;
    try {
      return goParseBool(text);
    } catch (error) {
      return refuse(
        400,
        `'${name}' parameter must be true or false (boolean): ${
          messageOf(error)
        }`,
      );
    }
  }
}

/**
 * The probe's timeout: `--iperf3.timeout` bounds the scrape timeout less
 * 0.5 s. No header (or 0) counts as 30 s; when the header leaves nothing
 * (0.5 s exactly) it is 30 s, and when it leaves less than nothing, the flag.
 *
 * @param flagSeconds `--iperf3.timeout`, above 0
 * @param headerSeconds `X-Prometheus-Scrape-Timeout-Seconds`; 0 when absent
 * @returns seconds
 */
export function probeTimeout(
  flagSeconds: number,
  headerSeconds: number,
): number {
  const scrape = headerSeconds === 0 ? DEFAULT_PROBE_TIMEOUT : headerSeconds;
  const max = scrape - PROBE_TIMEOUT_OFFSET;
  if (flagSeconds > 0 && (flagSeconds < max || max < 0)) return flagSeconds;
  if (max > 0) return max;
  return DEFAULT_PROBE_TIMEOUT;
}

/**
 * The test's length: a period that does not end before the timeout becomes
 * 90% of the timeout, truncated to whole seconds (Go's
 * `time.Duration(timeout*0.9) * time.Second`).
 *
 * @param periodSeconds the `period` parameter (5 when absent)
 * @param timeoutSeconds the probe's timeout
 * @returns seconds
 */
export function probePeriod(
  periodSeconds: number,
  timeoutSeconds: number,
): number {
  return periodSeconds >= timeoutSeconds
    ? Math.trunc(timeoutSeconds * 0.9)
    : periodSeconds;
}

/**
 * Rounds to a whole number, halves to even, as Go's
 * `strconv.FormatFloat(x, 'f', 0, 64)` does when it writes `-t`.
 *
 * @param x the number
 * @returns the whole number
 */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const rest = x - floor;
  if (rest > 0.5) return floor + 1;
  if (rest < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

function refuse(status: 400 | 500, message: string): ProbeRefusal {
  return { kind: "refused", status, message };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
