/**
 * edgard/iperf3_exporter's defaults, shared by the exporter and the command
 * line's option table.
 *
 * @module
 */

/** Port 9579 on every address (`--web.listen-address`). */
export const DEFAULT_LISTEN_ADDRESS = ":9579";
/** `--web.telemetry-path`. */
export const DEFAULT_TELEMETRY_PATH = "/metrics";
/** `--web.probe-path`. */
export const DEFAULT_PROBE_PATH = "/probe";
/** `--iperf3.timeout`, seconds; also the scrape timeout assumed without the header. */
export const DEFAULT_PROBE_TIMEOUT = 30;
