/**
 * The exporter's log records, and their lines as edgard/iperf3_exporter
 * writes them with Go's `log/slog` (`--log.format logfmt`, the default, or
 * `json`): `time=2026-01-02T03:04:05.678Z level=ERROR msg="Failed to run
 * iperf3" target=h port=5201 err="..."`.
 *
 * @module
 */

import { goQuote } from "./go_strconv.ts";

/** A log record's severity (`--log.level`). */
export type ExporterLogLevel = "debug" | "info" | "warn" | "error";

/** The line formats of `--log.format`. */
export type ExporterLogFormat = "logfmt" | "json";

/** One thing the exporter reports: severity, message and attributes. */
export interface ExporterLogRecord {
  /** Its severity. */
  readonly level: ExporterLogLevel;
  /** What happened, in edgard's words where edgard logs it. */
  readonly msg: string;
  /** Attributes (`target`, `port`, `err`...), in order. */
  readonly attrs: Readonly<Record<string, string | number | boolean>>;
}

const RANK: Readonly<Record<ExporterLogLevel, number>> = {
  debug: 0,
  info: 1,
  warn: 2,
  error: 3,
};

/**
 * Whether a record passes `--log.level`.
 *
 * @param level the record's severity
 * @param threshold the lowest severity written
 * @returns whether it is written
 */
export function isLogged(
  level: ExporterLogLevel,
  threshold: ExporterLogLevel,
): boolean {
  return RANK[level] >= RANK[threshold];
}

/**
 * One record as a line: slog's text handler (logfmt) or its JSON handler.
 *
 * @param record the record
 * @param format `logfmt` or `json`
 * @param time when it happened (now by default)
 * @returns the line, ending in a newline
 */
export function formatLogLine(
  record: ExporterLogRecord,
  format: ExporterLogFormat,
  time: Date = new Date(),
): string {
  const stamp = goTime(time);
  const level = record.level.toUpperCase();
  if (format === "json") {
    return `${
      JSON.stringify({ time: stamp, level, msg: record.msg, ...record.attrs })
    }\n`;
  }
  const pairs: [string, string | number | boolean][] = [
    ["time", stamp],
    ["level", level],
    ["msg", record.msg],
    ...Object.entries(record.attrs),
  ];
  return `${
    pairs.map(([key, value]) =>
      `${logfmtText(key)}=${logfmtText(String(value))}`
    )
      .join(" ")
  }\n`;
}

/** slog's `needsQuoting`: empty, spaces, `=`, `"`, control or non-printable characters. */
function logfmtText(text: string): string {
  return text === "" || [...text].some(needsQuote) ? goQuote(text) : text;
}

function needsQuote(ch: string): boolean {
  const code = ch.codePointAt(0) ?? 0;
  if (code < 0x80) {
    return code <= 0x20 || code === 0x7f || ch === "=" || ch === '"';
  }
  return /\s/u.test(ch) || !PRINTABLE.test(ch);
}

/** Go's `unicode.IsPrint` beyond ASCII. */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/** RFC 3339 with milliseconds in local time, as slog writes `time`. */
function goTime(date: Date): string {
  const offset = -date.getTimezoneOffset();
  const local = new Date(date.getTime() + offset * 60_000).toISOString()
    .slice(0, 23);
  if (offset === 0) return `${local}Z`;
  const abs = Math.abs(offset);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${local}${offset > 0 ? "+" : "-"}${pad(Math.floor(abs / 60))}:${
    pad(abs % 60)
  }`;
}
