/**
 * iperf3's `-J` document and `--json-stream` lines: turns session events into
 * the same tree, key names, key order and value types as iperf3 3.12
 * (`iperf_on_connect`, `iperf_print_intermediate`, `iperf_print_results`).
 *
 * @module
 */

import type { Role, SessionEvent, SocketBuffers } from "../events.ts";
import type { TestParams } from "../protocol/params.ts";
import type { IntervalReport, StreamInterval } from "../stats/interval.ts";
import {
  type DiskFile,
  NO_UDP,
  type StreamSummary,
  type TestSummary,
  udpGroupTotals,
} from "../stats/summary.ts";
import { formatCJson, formatCJsonCompact } from "./cjson.ts";
import type { BufferDefaults } from "./system_info.ts";
import { intervalLatencyJson, latencyJson } from "./latency.ts";

/** A JSON object as built here: plain, insertion-ordered. */
export type JsonObject = Record<string, unknown>;

/** Options of {@linkcode JsonReporter}. */
export interface JsonReporterOptions {
  /** Which side reports. */
  role: Role;
  /** Receives the finished document (with its newline), or each `--json-stream` line. */
  write: (text: string) => void;
  /** `--json-stream`: one compact line per event instead of one document. */
  stream?: boolean;
  /**
   * `--json-stream-full-output`: with `stream`, the whole document after
   * the lines too. Without it a client's streaming document keeps no
   * intervals (iperf3 3.21 discards them too), so a long test's memory
   * stays flat.
   */
  fullOutput?: boolean;
  /** `start.version`. */
  version: string;
  /** `start.system_info`. */
  systemInfo: string;
  /** The kernel's default socket buffers, when known (`sndbuf_actual`, `rcvbuf_actual`). */
  buffers?: BufferDefaults | undefined;
  /** Called with each `intervals[]` element as it is built. */
  onInterval?: (interval: JsonObject) => void;
  /** The report interval in seconds (`-i`; `start.test_start.interval`), 1 when absent. */
  interval?: number;
}

/** Builds one `-J` document per test from session events. */
export class JsonReporter {
  readonly #options: JsonReporterOptions;
  #top: JsonObject | undefined;
  #start: JsonObject = {};
  #connected: JsonObject[] = [];
  #intervals: JsonObject[] = [];
  #end: JsonObject = {};
  #params: TestParams | undefined;
  #buffersAdded = false;

  /**
   * Creates an instance.
   *
   * @param options role, output sink, stream mode and machine facts
   */
  constructor(options: JsonReporterOptions) {
    this.#options = options;
  }

  /**
   * Adds what one event contributes to the document.
   *
   * @param event what the session reported
   */
  handle(event: SessionEvent): void {
    switch (event.kind) {
      case "listening":
        this.#open();
        break;
      case "connected": {
        this.#open();
        this.#params = event.params;
        const start = this.#start;
        start["timestamp"] = timestamp();
        start["connecting_to"] = { host: event.host, port: event.port };
        start["cookie"] = event.cookie;
        this.#mssAndRate(event.params, event.controlMss ?? 0);
        break;
      }
      case "accepted": {
        this.#open();
        this.#params = event.params;
        this.#addBuffers(event.buffers);
        const start = this.#start;
        start["timestamp"] = timestamp();
        start["accepted_connection"] = {
          host: event.remote.hostname,
          port: event.remote.port,
        };
        start["cookie"] = event.cookie;
        this.#mssAndRate(event.params);
        break;
      }
      case "stream":
        this.#open();
        this.#connected.push({
          socket: event.socket,
          "local_host": event.local.hostname,
          "local_port": event.local.port,
          "remote_host": event.remote.hostname,
          "remote_port": event.remote.port,
        });
        if (this.#options.role === "client") this.#addBuffers(event.buffers);
        break;
      case "start": {
        const p = this.#params;
        if (!p) break;
        this.#start["test_start"] = {
          protocol: p.protocol.toUpperCase(),
          "num_streams": p.parallel,
          blksize: p.length,
          omit: p.omit,
          duration: p.time,
          bytes: p.bytes,
          blocks: p.blocks,
          reverse: p.reverse ? 1 : 0,
          tos: p.tos,
          "target_bitrate": p.bandwidth,
          bidir: p.bidirectional ? 1 : 0,
          // iperf3 3.21's: fair-queue pacing, the report interval, UDP GSO/GRO.
          fqrate: p.fqRate,
          interval: this.#options.interval ?? 1,
          gso: p.gso ? 1 : 0,
          gro: p.gro ? 1 : 0,
        };
        this.#emitLine("start", this.#start);
        break;
      }
      case "interval": {
        const interval = this.#interval(event.report);
        // A server keeps them: a client may ask for them (--get-server-output).
        const o = this.#options;
        if (!o.stream || o.fullOutput || o.role === "server") {
          this.#intervals.push(interval);
        }
        this.#emitLine("interval", interval);
        this.#options.onInterval?.(interval);
        break;
      }
      case "summary":
        this.#summary(event.summary);
        break;
      case "latency":
        // iperf-ts's own key: iperf3's readers ignore it.
        this.#end["iperf_ts"] = { latency: latencyJson(event.report) };
        break;
      case "server-output":
        if (event.json !== undefined) {
          this.#doc()["server_output_json"] = event.json;
        } else if (event.text !== undefined) {
          this.#doc()["server_output_text"] = event.text;
        }
        break;
      case "terminated":
      case "done":
        break;
      case "ended":
        this.finish();
        break;
      default: {
        const never: never = event;
        throw new TypeError(`Cannot report event: unknown kind in ${never}`);
      }
    }
  }

  /**
   * Records a failure: the document gets `"error"`, as iperf3's does.
   *
   * @param message iperf3's error text (no `iperf3: error - ` prefix)
   */
  fail(message: string): void {
    this.#doc()["error"] = message;
  }

  /** The document built so far (the same object that `finish()` prints). */
  document(): JsonObject {
    return this.#doc();
  }

  /** Prints the document (or the closing `--json-stream` lines) and starts afresh. */
  finish(): void {
    const top = this.#top;
    if (!top) return;
    if (this.#options.stream) {
      if (typeof top["error"] === "string") {
        this.#emitLine("error", top["error"]);
      }
      if (top["server_output_json"] !== undefined) {
        this.#emitLine("server_output_json", top["server_output_json"]);
      }
      if (typeof top["server_output_text"] === "string") {
        this.#emitLine("server_output_text", top["server_output_text"]);
      }
      this.#emitLine("end", this.#end);
      if (this.#options.fullOutput) {
        this.#options.write(`${formatCJson(top)}\n`);
      }
    } else {
      this.#options.write(`${formatCJson(top)}\n`);
    }
    this.#top = undefined;
  }

  #doc(): JsonObject {
    this.#open();
    return this.#top as JsonObject;
  }

  /** Starts a document: `start` with `connected`, `version` and `system_info`. */
  #open(): void {
    if (this.#top) return;
    this.#connected = [];
    this.#intervals = [];
    this.#end = {};
    this.#params = undefined;
    this.#buffersAdded = false;
    this.#start = {
      connected: this.#connected,
      version: this.#options.version,
      "system_info": this.#options.systemInfo,
    };
    this.#top = {
      start: this.#start,
      intervals: this.#intervals,
      end: this.#end,
    };
  }

  #addBuffers(measured?: SocketBuffers): void {
    if (this.#buffersAdded) return;
    this.#buffersAdded = true;
    const window = this.#params?.window ?? 0;
    this.#start["sock_bufsize"] = window;
    const buffers = this.#options.buffers;
    if (measured) {
      this.#start["sndbuf_actual"] = measured.sndbuf;
      this.#start["rcvbuf_actual"] = measured.rcvbuf;
    } else if (window) {
      this.#start["sndbuf_actual"] = window;
      this.#start["rcvbuf_actual"] = window;
    } else if (buffers) {
      this.#start["sndbuf_actual"] = buffers.sndbuf;
      this.#start["rcvbuf_actual"] = buffers.rcvbuf;
    }
  }

  #mssAndRate(p: TestParams, controlMss = 0): void {
    const start = this.#start;
    if (p.protocol === "tcp") {
      // The control connection's MSS (0 where it cannot be read, as iperf3
      // reports when getsockopt(TCP_MAXSEG) fails; always 0 on a server).
      if (p.mss) start["tcp_mss"] = p.mss;
      else start["tcp_mss_default"] = controlMss;
    }
    start["target_bitrate"] = p.bandwidth;
    start["fq_rate"] = p.fqRate;
    if (p.title !== undefined) this.#doc()["title"] = p.title;
    if (p.extraData !== undefined) this.#doc()["extra_data"] = p.extraData;
  }

  #emitLine(event: string, data: unknown): void {
    if (!this.#options.stream) return;
    this.#options.write(`${formatCJsonCompact({ event, data })}\n`);
  }

  /** Which "must be sender" groups iperf3 reports, in its order. */
  #groups(): boolean[] {
    const p = this.#params;
    const client = this.#options.role === "client";
    if (p?.bidirectional) return client ? [true, false] : [false, true];
    const clientSends = !(p?.reverse ?? false);
    return [client ? clientSends : !clientSends];
  }

  /** iperf3 names the sums of the server-to-client direction `*_bidir_reverse`. */
  #sumSuffix(mustSend: boolean): string {
    if (!this.#params?.bidirectional) return "";
    const client = this.#options.role === "client";
    return (client && !mustSend) || (!client && mustSend)
      ? "_bidir_reverse"
      : "";
  }

  #interval(report: IntervalReport): JsonObject {
    const streams: JsonObject[] = [];
    const out: JsonObject = { streams };
    const first = report.streams[0];
    for (const mustSend of this.#groups()) {
      const group = report.streams.filter((s) => s.sender === mustSend);
      for (const s of group) streams.push(intervalStream(s));
      if (!first || group.length === 0) continue;
      const bytes = group.reduce((n, s) => n + s.bytes, 0);
      const sum: JsonObject = {
        start: first.start,
        end: first.end,
        seconds: first.seconds,
        bytes,
        "bits_per_second": first.seconds > 0 ? bytes / first.seconds * 8 : 0,
      };
      if (first.udp) {
        const packets = group.reduce((n, s) => n + (s.udp?.packets ?? 0), 0);
        const lost = group.reduce((n, s) => n + (s.udp?.lost ?? 0), 0);
        // iperf3 averages jitter over -P, not over the streams listed.
        const jitter = group.reduce((n, s) => n + (s.udp?.jitter ?? 0), 0) /
          (this.#params?.parallel ?? 1);
        Object.assign(sum, udpFigures(mustSend, jitter, lost, packets));
      } else if (report.retransmits && mustSend) {
        sum["retransmits"] = group.reduce(
          (n, s) => n + (s.tcp?.retransmits ?? 0),
          0,
        );
      }
      sum["omitted"] = group.some((s) => s.omitted);
      sum["sender"] = mustSend;
      out[`sum${this.#sumSuffix(mustSend)}`] = sum;
    }
    if (report.latency) {
      out["iperf_ts"] = { latency: intervalLatencyJson(report.latency) };
    }
    return out;
  }

  #summary(sum: TestSummary): void {
    if (this.#params?.protocol === "udp") {
      this.#udpSummary(sum);
      return;
    }
    const end = this.#end;
    const streams: JsonObject[] = [];
    end["streams"] = streams;
    const groups = this.#groups();
    for (const mustSend of groups) {
      const hasRetr = this.#params?.bidirectional
        ? (mustSend ? sum.senderHasRetransmits : sum.otherSideHasRetransmits)
        : sum.senderHasRetransmits;
      let totalSent = 0;
      let totalReceived = 0;
      let totalRetr = 0;
      for (const s of sum.streams.filter((s) => s.sender === mustSend)) {
        totalSent += s.bytesSent;
        totalReceived += s.bytesReceived;
        const sender: JsonObject = {
          socket: s.socket,
          start: 0,
          end: sum.senderTime,
          seconds: sum.senderTime,
          bytes: s.bytesSent,
          "bits_per_second": rate(s.bytesSent, sum.senderTime),
        };
        if (hasRetr) {
          // The cwnd/RTT figures are only known to a sender that read
          // TCP_INFO itself; for peer-reported counts iperf3 prints 0.
          totalRetr += s.retransmits;
          Object.assign(sender, {
            retransmits: s.retransmits,
            reorder: s.tcp?.reorder ?? 0,
            "max_snd_cwnd": s.tcp?.maxSndCwnd ?? 0,
            "max_snd_wnd": s.tcp?.maxSndWnd ?? 0,
            "max_rtt": s.tcp?.maxRtt ?? 0,
            "min_rtt": s.tcp?.minRtt ?? 0,
            "mean_rtt": s.tcp?.meanRtt ?? 0,
          });
        }
        sender["sender"] = mustSend;
        streams.push({
          sender,
          ...(s.diskfile ? { diskfile: diskfileJson(s, s.diskfile) } : {}),
          receiver: {
            socket: s.socket,
            start: 0,
            end: sum.receiverTime,
            // iperf3 puts the local stream's duration here (a quirk kept).
            seconds: sum.endTime,
            bytes: s.bytesReceived,
            "bits_per_second": rate(s.bytesReceived, sum.receiverTime),
            sender: mustSend,
          },
        });
      }
      const suffix = this.#sumSuffix(mustSend);
      const sent: JsonObject = {
        start: 0,
        end: sum.senderTime,
        seconds: sum.senderTime,
        bytes: totalSent,
        "bits_per_second": rate(totalSent, sum.senderTime),
      };
      if (hasRetr) sent["retransmits"] = totalRetr;
      sent["sender"] = mustSend;
      end[`sum_sent${suffix}`] = sent;
      end[`sum_received${suffix}`] = {
        start: 0,
        end: sum.receiverTime,
        seconds: sum.receiverTime,
        bytes: totalReceived,
        "bits_per_second": rate(totalReceived, sum.receiverTime),
        sender: mustSend,
      };
    }
    end["cpu_utilization_percent"] = cpuObject(sum);
    // iperf3 names the congestion algorithms from its last group's view:
    // ours read from the socket, the peer's from its results.
    const lastSends = groups[groups.length - 1] ?? true;
    const sender = lastSends ? sum.localCongestion : sum.remoteCongestion;
    const receiver = lastSends ? sum.remoteCongestion : sum.localCongestion;
    if (sender !== undefined) end["sender_tcp_congestion"] = sender;
    if (receiver !== undefined) end["receiver_tcp_congestion"] = receiver;
  }

  /** The UDP `end` (iperf3 `iperf_print_results`, UDP branches). */
  #udpSummary(sum: TestSummary): void {
    const end = this.#end;
    const streams: JsonObject[] = [];
    end["streams"] = streams;
    const parallel = this.#params?.parallel ?? 1;
    for (const mustSend of this.#groups()) {
      const group = sum.streams.filter((s) => s.sender === mustSend);
      const {
        bytesSent: totalSent,
        bytesReceived: totalReceived,
        lost,
        jitterSum: jitter,
        packets,
        senderPackets,
        receiverPackets,
      } = udpGroupTotals(group);
      for (const s of group) {
        const u = s.udp ?? NO_UDP;
        const count = u.senderPackets || u.receiverPackets;
        // One merged object per stream: the sender's bytes and count, the
        // receiver's loss and jitter (iperf3's "hysterical raisins").
        streams.push({
          udp: {
            socket: s.socket,
            start: 0,
            end: sum.senderTime,
            seconds: sum.senderTime,
            bytes: s.bytesSent,
            "bits_per_second": rate(s.bytesSent, sum.senderTime),
            "jitter_ms": u.jitter * 1000,
            "lost_packets": u.lost,
            packets: count,
            "lost_percent": u.senderPackets > 0
              ? 100 * u.lost / u.senderPackets
              : 0,
            "out_of_order": u.outOfOrder,
            sender: mustSend,
          },
        });
      }
      const suffix = this.#sumSuffix(mustSend);
      const avgJitterMs = jitter / parallel * 1000;
      const lostPercent = packets > 0 ? 100 * lost / packets : 0;
      // The legacy "sum" mixes the sender's bytes with the receiver's time.
      end[`sum${suffix}`] = {
        start: 0,
        end: sum.receiverTime,
        seconds: sum.receiverTime,
        bytes: totalSent,
        "bits_per_second": rate(totalSent, sum.senderTime),
        "jitter_ms": avgJitterMs,
        "lost_packets": lost,
        packets,
        "lost_percent": lostPercent,
        sender: mustSend,
      };
      end[`sum_sent${suffix}`] = {
        start: 0,
        end: sum.senderTime,
        seconds: sum.senderTime,
        bytes: totalSent,
        "bits_per_second": rate(totalSent, sum.senderTime),
        "jitter_ms": 0,
        "lost_packets": 0,
        packets: senderPackets,
        "lost_percent": 0,
        sender: true,
      };
      end[`sum_received${suffix}`] = {
        start: 0,
        end: sum.receiverTime,
        seconds: sum.receiverTime,
        bytes: totalReceived,
        "bits_per_second": rate(totalReceived, sum.receiverTime),
        "jitter_ms": avgJitterMs,
        "lost_packets": lost,
        packets: receiverPackets,
        "lost_percent": lostPercent,
        sender: false,
      };
    }
    end["cpu_utilization_percent"] = cpuObject(sum);
  }
}

function cpuObject(sum: TestSummary): JsonObject {
  return {
    "host_total": sum.cpu.total,
    "host_user": sum.cpu.user,
    "host_system": sum.cpu.system,
    "remote_total": sum.remoteCpu.total,
    "remote_user": sum.remoteCpu.user,
    "remote_system": sum.remoteCpu.system,
  };
}

function intervalStream(s: StreamInterval): JsonObject {
  const out: JsonObject = {
    socket: s.socket,
    start: s.start,
    end: s.end,
    seconds: s.seconds,
    bytes: s.bytes,
    "bits_per_second": s.bitsPerSecond,
  };
  if (s.udp) {
    Object.assign(
      out,
      udpFigures(s.sender, s.udp.jitter, s.udp.lost, s.udp.packets),
    );
  }
  if (s.tcp) {
    Object.assign(out, {
      retransmits: s.tcp.retransmits,
      "snd_cwnd": s.tcp.sndCwnd,
      "snd_wnd": s.tcp.sndWnd,
      rtt: s.tcp.rtt,
      rttvar: s.tcp.rttvar,
      pmtu: s.tcp.pmtu,
      reorder: s.tcp.reorder ?? 0,
    });
  }
  out["omitted"] = s.omitted;
  out["sender"] = s.sender;
  return out;
}

/** The UDP members of an interval object: packets for a sender, loss and jitter for a receiver. */
function udpFigures(
  sender: boolean,
  jitterSeconds: number,
  lost: number,
  packets: number,
): JsonObject {
  if (sender) return { packets };
  return {
    "jitter_ms": jitterSeconds * 1000,
    "lost_packets": lost,
    packets,
    "lost_percent": packets > 0 ? 100 * lost / packets : 0,
  };
}

function rate(bytes: number, seconds: number): number {
  return seconds > 0 ? bytes / seconds * 8 : 0;
}

function timestamp(): JsonObject {
  const now = new Date();
  return {
    time: now.toUTCString(),
    timesecs: Math.floor(now.getTime() / 1000),
    timemillisecs: now.getTime(),
  };
}

/** iperf3's `diskfile` object of an `end.streams` entry (`-F`). */
function diskfileJson(s: StreamSummary, file: DiskFile): JsonObject {
  const percent = (bytes: number) =>
    file.size > 0 ? Math.trunc(bytes / file.size * 100) : 100;
  return {
    sent: s.bytesSent,
    received: s.bytesReceived,
    size: file.size,
    "percent_sent": percent(s.bytesSent),
    "percent_received": percent(s.bytesReceived),
    filename: file.name,
  };
}
