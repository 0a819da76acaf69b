/**
 * Small hand-made `-J` documents for the pure plot tests: `streams`
 * sockets, `intervals` one-second intervals, TCP_INFO or UDP figures on
 * request.
 *
 * @module
 */

import type {
  IperfJson,
  JsonInterval,
  JsonIntervalStream,
} from "../../lib/report/json_types.ts";

/** What {@linkcode makeDoc} builds. */
export interface DocOptions {
  /** `TCP` (default) or `UDP`. */
  protocol?: "TCP" | "UDP";
  /** Sockets of the streams (default 5 and 7). */
  sockets?: number[];
  /** How many intervals (default 4). */
  intervals?: number;
  /** Whether this side sends (default true). */
  sender?: boolean;
  /** TCP: retransmits, snd_cwnd and rtt in the sender's intervals (default true). */
  tcpInfo?: boolean;
  /** `--bidir`: the second half of the sockets go the other way. */
  bidir?: boolean;
}

/**
 * A document with the given shape; rates are `socket` Mbit/s plus the
 * interval's index.
 *
 * @param options the shape
 * @returns the document
 */
export function makeDoc(options: DocOptions = {}): IperfJson {
  const protocol = options.protocol ?? "TCP";
  const sockets = options.sockets ?? [5, 7];
  const count = options.intervals ?? 4;
  const sender = options.sender ?? true;
  const tcpInfo = options.tcpInfo ?? true;
  const intervals: JsonInterval[] = [];
  for (let i = 0; i < count; i++) {
    const streams = sockets.map((socket, k): JsonIntervalStream => {
      const sends = options.bidir && k >= sockets.length / 2 ? !sender : sender;
      const s: JsonIntervalStream = {
        socket,
        start: i,
        end: i + 1,
        seconds: 1,
        bytes: (socket + i) * 125_000,
        "bits_per_second": (socket + i) * 1e6,
        omitted: false,
        sender: sends,
      };
      if (protocol === "UDP") {
        s.packets = 100;
        if (!sends) {
          s.jitter_ms = 0.1 * (i + 1);
          s.lost_packets = i;
          s.lost_percent = i;
        }
      } else if (tcpInfo && sends) {
        s.retransmits = i % 2;
        s.snd_cwnd = 64 * 1024 * (i + 1);
        s.rtt = 1000 * (i + 1);
      }
      return s;
    });
    const sum = (group: JsonIntervalStream[], sends: boolean) => ({
      start: i,
      end: i + 1,
      seconds: 1,
      bytes: group.reduce((n, s) => n + s.bytes, 0),
      "bits_per_second": group.reduce((n, s) => n + s.bits_per_second, 0),
      ...(protocol === "UDP" && !sends
        ? { "jitter_ms": 0.1 * (i + 1), "lost_packets": i, "lost_percent": i }
        : {}),
      ...(protocol === "TCP" && tcpInfo && sends
        ? { retransmits: group.reduce((n, s) => n + (s.retransmits ?? 0), 0) }
        : {}),
      omitted: false,
      sender: sends,
    });
    const own = streams.filter((s) => s.sender === sender);
    const other = streams.filter((s) => s.sender !== sender);
    intervals.push({
      streams,
      sum: sum(own, sender),
      ...(options.bidir ? { "sum_bidir_reverse": sum(other, !sender) } : {}),
    });
  }
  return {
    start: {
      connected: [],
      version: "iperf 3.21 (iperf-ts 0.1.0)",
      "system_info": "Linux test",
      timestamp: {
        time: "Wed, 02 Dec 2026 01:00:00 GMT",
        timesecs: 1796173200,
      },
      "connecting_to": { host: "192.0.2.10", port: 5201 },
      "test_start": {
        protocol,
        "num_streams": sockets.length,
        blksize: 131072,
        omit: 0,
        duration: count,
        bytes: 0,
        blocks: 0,
        reverse: sender ? 0 : 1,
        tos: 0,
        "target_bitrate": 0,
        bidir: options.bidir ? 1 : 0,
      },
    },
    intervals,
    end: {},
  };
}
