/**
 * `--exporter` on the command line: starts the exporter with the parsed
 * settings, writes its log records to stderr as edgard/iperf3_exporter does
 * (slog logfmt or JSON, filtered by `--log.level`), and returns once
 * SIGINT/SIGTERM stopped it.
 *
 * @module
 */

import { type ExporterHandle, startExporter } from "../exporter/exporter.ts";
import {
  type ExporterLogRecord,
  formatLogLine,
  isLogged,
} from "../exporter/log_line.ts";
import type { ExporterConfig } from "./build_config.ts";

/** What the exporter needs of the CLI's streams (`CliIo`). */
export interface ExporterIo {
  /** Errors and the log (stderr). */
  stderr: (text: string) => void;
  /** Aborted on SIGINT/SIGTERM. */
  signal?: AbortSignal;
}

/**
 * Runs the exporter until `io.signal` aborts.
 *
 * @param config the exporter's settings
 * @param io stderr for the log, the stop signal
 * @returns the exit code: 0 once stopped, 1 when it could not start
 */
export async function runExporter(
  config: ExporterConfig,
  io: ExporterIo,
): Promise<number> {
  const log = (record: ExporterLogRecord) => {
    if (isLogged(record.level, config.logLevel)) {
      io.stderr(formatLogLine(record, config.logFormat));
    }
  };
  if (io.signal?.aborted) return 0;
  let exporter: ExporterHandle;
  try {
    exporter = await startExporter({
      listenAddresses: config.listenAddresses,
      timeout: config.timeout,
      telemetryPath: config.telemetryPath,
      probePath: config.probePath,
      log,
      ...(io.signal ? { signal: io.signal } : {}),
    });
  } catch (error) {
    // edgard's words: a setting it refuses, or a listener that cannot open.
    log({
      level: "error",
      msg: error instanceof TypeError
        ? "Invalid configuration"
        : "HTTP server error",
      attrs: { err: error instanceof Error ? error.message : String(error) },
    });
    return 1;
  }
  await exporter.finished;
  log({ level: "info", msg: "Server stopped gracefully", attrs: {} });
  return 0;
}
