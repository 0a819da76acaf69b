/**
 * The results JSON both sides exchange after EXCHANGE_RESULTS, converted to
 * and from the camelCase {@linkcode TestResults} (iperf3 `send_results` /
 * `get_results`).
 *
 * @module
 */

import { ERROR_CODES, ProtocolError } from "../errors.ts";

/** One stream's totals as one side reports them. */
export interface StreamResult {
  /** The stream id (1, 3, 4, ...). */
  id: number;
  /** Bytes this side sent (sender) or received (receiver), after the omit period. */
  bytes: number;
  /** Retransmits when this side sent TCP and could count them, else -1. */
  retransmits: number;
  /** UDP receiver's jitter in seconds, else 0. */
  jitter: number;
  /** UDP receiver's lost datagrams, else 0. */
  errors: number;
  /** Of `errors`, those counted in the omit period (iperf3 3.14+ `omitted_errors`; absent from older peers). */
  omittedErrors?: number;
  /** UDP datagrams sent (sender) or the highest sequence number seen (receiver); 0 for TCP. */
  packets: number;
  /** `packets` at the end of the omit period (iperf3 3.14+ `omitted_packets`; absent from older peers). */
  omittedPackets?: number;
  /** Seconds from the stream's start to its first sample (always 0). */
  startTime: number;
  /** Seconds from the stream's start to its last sample. */
  endTime: number;
}

/** Everything one side reports at the end of a test. */
export interface TestResults {
  /** Process CPU use in percent of wall time: user + system. */
  cpuUtilTotal: number;
  /** User CPU in percent. */
  cpuUtilUser: number;
  /** System CPU in percent. */
  cpuUtilSystem: number;
  /** 1: sent TCP with retransmit counts; 0: sent without them; -1: only received. */
  senderHasRetransmits: number;
  /** The TCP congestion control algorithm used, when known. */
  congestionUsed?: string;
  /** The server's text output (`--get-server-output`, text server). */
  serverOutputText?: string;
  /** The server's JSON output (`--get-server-output`, `-J` server). */
  serverOutputJson?: unknown;
  /** Per-stream totals. */
  streams: StreamResult[];
}

/** Largest results JSON accepted (iperf3 has no cap; 128 streams of results need about 25 KiB, server output more). */
export const MAX_RESULTS_SIZE = 4 * 1024 * 1024;

/**
 * The wire JSON for one side's results, in iperf3's key order.
 *
 * @param r the results
 * @returns an object to send with `encodeJsonFrame`
 */
export function encodeResults(r: TestResults): Record<string, unknown> {
  const w: Record<string, unknown> = {
    "cpu_util_total": r.cpuUtilTotal,
    "cpu_util_user": r.cpuUtilUser,
    "cpu_util_system": r.cpuUtilSystem,
    "sender_has_retransmits": r.senderHasRetransmits,
  };
  if (r.congestionUsed !== undefined) w["congestion_used"] = r.congestionUsed;
  if (r.serverOutputText !== undefined) {
    w["server_output_text"] = r.serverOutputText;
  }
  if (r.serverOutputJson !== undefined) {
    w["server_output_json"] = r.serverOutputJson;
  }
  w["streams"] = r.streams.map((s) => {
    const stream: Record<string, unknown> = {
      "id": s.id,
      "bytes": s.bytes,
      "retransmits": s.retransmits,
      "jitter": s.jitter,
      "errors": s.errors,
    };
    // 3.14+ send both (3.21's get_results refuses one without the other);
    // 3.12 ignores them.
    const omitted = s.omittedErrors !== undefined &&
      s.omittedPackets !== undefined;
    if (omitted) stream["omitted_errors"] = s.omittedErrors;
    stream["packets"] = s.packets;
    if (omitted) stream["omitted_packets"] = s.omittedPackets;
    stream["start_time"] = s.startTime;
    stream["end_time"] = s.endTime;
    return stream;
  });
  return w;
}

/**
 * The peer's results, checked for the keys iperf3 requires.
 *
 * iperf3 3.12 and 3.13 print -1 as 18446744073709551615 (cJSON's unsigned
 * conversion); any integer at or above 2^63 is read back as -1.
 *
 * @param wire the parsed results JSON
 * @returns the results
 * @throws {ProtocolError} `IERECVRESULTS` when a required key is missing or mistyped
 */
export function decodeResults(wire: Record<string, unknown>): TestResults {
  const streams = wire["streams"];
  if (!Array.isArray(streams)) fail('"streams" is not an array');
  const r: TestResults = {
    cpuUtilTotal: num(wire, "cpu_util_total"),
    cpuUtilUser: num(wire, "cpu_util_user"),
    cpuUtilSystem: num(wire, "cpu_util_system"),
    senderHasRetransmits: signed(num(wire, "sender_has_retransmits")),
    streams: streams.map((s: unknown) => {
      if (typeof s !== "object" || s === null) {
        fail("a stream is not an object");
      }
      const o = s as Record<string, unknown>;
      const stream: StreamResult = {
        id: num(o, "id"),
        bytes: num(o, "bytes"),
        retransmits: signed(num(o, "retransmits")),
        jitter: num(o, "jitter"),
        errors: num(o, "errors"),
        packets: num(o, "packets"),
        startTime: optionalNum(o, "start_time"),
        endTime: optionalNum(o, "end_time"),
      };
      // A 3.14+ peer's omit-period counts, when it sent them (as a pair).
      const omittedErrors = o["omitted_errors"];
      const omittedPackets = o["omitted_packets"];
      if (
        typeof omittedErrors === "number" && Number.isFinite(omittedErrors) &&
        typeof omittedPackets === "number" && Number.isFinite(omittedPackets)
      ) {
        stream.omittedErrors = signed(omittedErrors);
        stream.omittedPackets = omittedPackets;
      }
      return stream;
    }),
  };
  const cc = wire["congestion_used"];
  if (typeof cc === "string") r.congestionUsed = cc;
  const text = wire["server_output_text"];
  if (typeof text === "string") r.serverOutputText = text;
  if (wire["server_output_json"] !== undefined) {
    r.serverOutputJson = wire["server_output_json"];
  }
  return r;
}

function signed(value: number): number {
  return value >= 2 ** 63 ? -1 : value;
}

function num(o: Record<string, unknown>, key: string): number {
  const value = o[key];
  if (typeof value !== "number" || !Number.isFinite(value)) {
    fail(`"${key}" is missing or not a number`);
  }
  return value;
}

function optionalNum(o: Record<string, unknown>, key: string): number {
  const value = o[key];
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

function fail(detail: string): never {
  throw new ProtocolError(ERROR_CODES.IERECVRESULTS, { detail });
}
