/**
 * iperf3's human-readable output: turns session events into the same lines,
 * columns and number formatting as iperf3 3.12 prints (iperf_locale.c,
 * `iperf_print_intermediate`, `iperf_print_results`).
 *
 * @module
 */

import type { Endpoint, Role, SessionEvent } from "../events.ts";
import type { TestParams } from "../protocol/params.ts";
import type { IntervalReport, StreamInterval } from "../stats/interval.ts";
import {
  type DiskFile,
  NO_UDP,
  type StreamSummary,
  type TestSummary,
  udpGroupTotals,
} from "../stats/summary.ts";
import { formatFixed, formatG } from "../printf.ts";
import { formatUnit, type UnitFormat } from "../units.ts";
import { formatCJson } from "./cjson.ts";
import { latencyLines } from "./latency.ts";

/** The dashed line between intervals and before the summary. */
export const SEPARATOR = "- - - - - - - - - - - - - - - - - - - - - - - - -";

const BANNER_LINE = "-".repeat(59);
const HEADER = "[ ID] Interval           Transfer     Bitrate";
const HEADER_BIDIR = "[ ID][Role] Interval           Transfer     Bitrate";
const UDP_COLUMNS = "         Jitter    Lost/Total Datagrams";

/** Options of {@linkcode TextReporter}. */
export interface TextReporterOptions {
  /** Which side prints. */
  role: Role;
  /** Rate format (`-f`); `a` (adaptive bits) by default. */
  format?: UnitFormat;
  /** iperf3's `-V` extra lines. */
  verbose?: boolean;
  /** Receives each line, without its newline. */
  write: (line: string) => void;
  /** The version line `-V` prints first. */
  version?: string;
  /** The uname-style line `-V` prints second. */
  systemInfo?: string;
}

/**
 * iperf3's `report_diskfile` line after a stream's sender line (`-F`): what
 * this side sent or received of the file's size, in whole percent.
 */
function diskfileLine(s: StreamSummary, file: DiskFile): string {
  const bytes = s.sender ? s.bytesSent : s.bytesReceived;
  const percent = file.size > 0 ? Math.trunc(bytes / file.size * 100) : 100;
  return `        Sent ${formatUnit(bytes, "A")} / ${
    formatUnit(file.size, "A")
  } (${percent}%) of ${file.name}`;
}

/** Turns session events into iperf3's text lines. */
export class TextReporter {
  readonly #role: Role;
  readonly #format: UnitFormat;
  readonly #verbose: boolean;
  readonly #write: (line: string) => void;
  readonly #version: string;
  readonly #systemInfo: string;
  #params: TestParams | undefined;
  #headerPrinted = false;
  /**
   * A receiving client's only interval, held for the results: iperf3
   * prints the last interval after the exchange, so when it is also the
   * first (`-t 1 -R`) its header takes the server's
   * `sender_has_retransmits` (`Retr  Cwnd`, blank columns).
   */
  #held: IntervalReport | undefined;

  /**
   * Creates an instance.
   *
   * @param options role, format, verbosity and the line sink
   */
  constructor(options: TextReporterOptions) {
    this.#role = options.role;
    this.#format = options.format ?? "a";
    this.#verbose = options.verbose ?? false;
    this.#write = options.write;
    this.#version = options.version ?? "";
    this.#systemInfo = options.systemInfo ?? "";
  }

  /**
   * Prints the lines for one event.
   *
   * @param event what the session reported
   */
  handle(event: SessionEvent): void {
    switch (event.kind) {
      case "listening":
        this.#params = undefined;
        this.#headerPrinted = false;
        if (this.#verbose) this.#versionLines();
        this.#write(BANNER_LINE);
        this.#write(
          `Server listening on ${event.port} (test #${event.testNumber})`,
        );
        this.#write(BANNER_LINE);
        break;
      case "connected":
        this.#params = event.params;
        if (this.#verbose) {
          this.#versionLines();
          this.#write(`Control connection MSS ${event.controlMss ?? 0}`);
          if (event.params.protocol === "udp") {
            this.#write(`Setting UDP block size to ${event.params.length}`);
          }
          this.#write(`Time: ${new Date().toUTCString()}`);
        }
        this.#write(`Connecting to host ${event.host}, port ${event.port}`);
        if (event.params.reverse) {
          this.#write(`Reverse mode, remote host ${event.host} is sending`);
        }
        if (this.#verbose) {
          this.#testLines(
            event.cookie,
            event.params,
            event.noTcpInfo,
            event.controlMss,
          );
        }
        break;
      case "accepted":
        this.#params = event.params;
        if (this.#verbose) this.#write(`Time: ${new Date().toUTCString()}`);
        this.#write(
          `Accepted connection from ${event.remote.hostname}, port ${event.remote.port}`,
        );
        if (this.#verbose) {
          this.#testLines(event.cookie, event.params, event.noTcpInfo);
        }
        break;
      case "stream":
        this.#write(
          `${id(event.socket)} local ${endpoint(event.local)} connected to ${
            endpoint(event.remote)
          }`,
        );
        break;
      case "start":
        if (this.#verbose && this.#params) {
          this.#write(startingLine(this.#params));
        }
        break;
      case "interval":
        if (
          event.report.final && !this.#headerPrinted &&
          this.#role === "client" && !event.report.retransmits &&
          this.#params?.protocol !== "udp" && !this.#bidir()
        ) {
          this.#held = event.report;
        } else {
          this.#interval(event.report);
        }
        break;
      case "summary":
        if (this.#held) {
          const held = this.#held;
          this.#held = undefined;
          this.#interval({
            ...held,
            retransmits: event.summary.senderHasRetransmits === 1,
          });
        }
        this.#summary(event.summary);
        break;
      case "latency":
        // After iperf3's summary lines; the interval lines stay iperf3's.
        for (const line of latencyLines(event.report)) this.#write(line);
        break;
      case "server-output":
        this.#write("");
        if (event.json !== undefined) {
          this.#write("Server JSON output:");
          for (const line of formatCJson(event.json).split("\n")) {
            this.#write(line);
          }
        } else {
          this.#write("Server output:");
          // iperf3: "\nServer output:\n%s\n" with text that ends in a newline.
          for (const line of (event.text ?? "").split("\n")) this.#write(line);
        }
        break;
      case "terminated":
      case "ended":
        break;
      case "done":
        this.#write("");
        this.#write("iperf Done.");
        break;
      default: {
        const never: never = event;
        throw new TypeError(`Cannot report event: unknown kind in ${never}`);
      }
    }
  }

  #versionLines(): void {
    this.#write(this.#version);
    this.#write(this.#systemInfo);
  }

  /** `-V` lines after the connection (iperf3 `iperf_on_connect`); an MSS that cannot be read is 0, as iperf3 prints it then. */
  #testLines(
    cookie: string,
    params: TestParams,
    noTcpInfo?: string,
    controlMss = 0,
  ): void {
    this.#write(`      Cookie: ${cookie}`);
    if (params.protocol === "tcp") {
      this.#write(
        params.mss
          ? `      TCP MSS: ${params.mss}`
          : `      TCP MSS: ${controlMss} (default)`,
      );
      // Not an iperf3 line: says once why the Retr/Cwnd columns are missing.
      if (noTcpInfo !== undefined) {
        this.#write(
          `      TCP_INFO: not available (${noTcpInfo}): no Retr, Cwnd or RTT figures`,
        );
      }
    }
    if (params.bandwidth) {
      this.#write(`      Target Bitrate: ${params.bandwidth}`);
    }
  }

  #bidir(): boolean {
    return this.#params?.bidirectional ?? false;
  }

  #parallel(): number {
    return this.#params?.parallel ?? 1;
  }

  /** Which "must be sender" groups to print, in iperf3's order. */
  #groups(): boolean[] {
    if (this.#bidir()) {
      return this.#role === "client" ? [true, false] : [false, true];
    }
    const clientSends = !(this.#params?.reverse ?? false);
    return [this.#role === "client" ? clientSends : !clientSends];
  }

  #roleTag(sender: boolean): string {
    if (!this.#bidir()) return "";
    return `[${sender ? "TX" : "RX"}-${this.#role === "client" ? "C" : "S"}]`;
  }

  #interval(report: IntervalReport): void {
    const first = report.streams[0];
    if (!first) return;
    for (const mustSend of this.#groups()) {
      const group = report.streams.filter((s) => s.sender === mustSend);
      for (const s of group) {
        if (s === first) {
          if (!this.#headerPrinted) {
            this.#write(this.#intervalHeader(report.retransmits ?? false));
            this.#headerPrinted = true;
          } else if (this.#parallel() > 1) {
            this.#write(SEPARATOR);
          }
        }
        const tail = s.omitted ? "(omitted)" : "";
        const rate = s.seconds > 0 ? s.bytes / s.seconds : 0;
        const tag = this.#roleTag(s.sender);
        if (s.udp && s.sender) {
          this.#write(
            this.#udpSenderLine(
              id(s.socket),
              tag,
              s.start,
              s.end,
              s.bytes,
              rate,
              s.udp.packets,
              tail,
            ),
          );
        } else if (s.udp) {
          const u = s.udp;
          this.#write(
            this.#udpLine(
              id(s.socket),
              tag,
              s.start,
              s.end,
              s.bytes,
              rate,
              u.jitter,
              u.lost,
              u.packets,
              tail,
            ),
          );
        } else if (s.tcp) {
          // iperf3's report_bw_retrans_cwnd_format.
          this.#write(
            `${id(s.socket)}${tag} ${times(s.start, s.end)} sec  ${
              formatUnit(s.bytes, "A")
            }s  ${formatUnit(rate, this.#format)}s/sec  ${
              unsigned32(s.tcp.retransmits).padStart(3)
            }   ${formatUnit(s.tcp.sndCwnd, "A")}s       ${tail}`,
          );
        } else {
          this.#write(
            this.#bwLine(
              id(s.socket),
              tag,
              s.start,
              s.end,
              s.bytes,
              rate,
              tail,
            ),
          );
        }
      }
      if (this.#parallel() > 1 && group.length > 0) {
        const bytes = group.reduce((sum, s) => sum + s.bytes, 0);
        const rate = first.seconds > 0 ? bytes / first.seconds : 0;
        const tag = this.#roleTag(mustSend);
        const tail = anyOmitted(group) ? "(omitted)" : "";
        if (first.udp) {
          const packets = group.reduce((n, s) => n + (s.udp?.packets ?? 0), 0);
          if (mustSend) {
            this.#write(
              this.#udpSenderLine(
                "[SUM]",
                tag,
                first.start,
                first.end,
                bytes,
                rate,
                packets,
                tail,
              ),
            );
          } else {
            const lost = group.reduce((n, s) => n + (s.udp?.lost ?? 0), 0);
            // iperf3 averages jitter over -P, not over the streams listed.
            const jitter = group.reduce((n, s) => n + (s.udp?.jitter ?? 0), 0) /
              this.#parallel();
            this.#write(
              this.#udpLine(
                "[SUM]",
                tag,
                first.start,
                first.end,
                bytes,
                rate,
                jitter,
                lost,
                packets,
                tail,
              ),
            );
          }
          continue;
        }
        if (report.retransmits && mustSend) {
          // iperf3's report_sum_bw_retrans_format.
          const retr = group.reduce((n, s) => n + (s.tcp?.retransmits ?? 0), 0);
          this.#write(
            `[SUM]${this.#roleTag(mustSend)} ${
              times(first.start, first.end)
            } sec  ${formatUnit(bytes, "A")}s  ${
              formatUnit(rateOf(bytes, first.seconds), this.#format)
            }s/sec  ${String(retr).padStart(3)}             ${
              anyOmitted(group) ? "(omitted)" : ""
            }`,
          );
          continue;
        }
        this.#write(this.#bwLine(
          "[SUM]",
          this.#roleTag(mustSend),
          first.start,
          first.end,
          bytes,
          first.seconds > 0 ? bytes / first.seconds : 0,
          anyOmitted(group) ? "(omitted)" : "",
        ));
      }
    }
  }

  #summary(sum: TestSummary): void {
    this.#write(SEPARATOR);
    if (this.#verbose) this.#write("Test Complete. Summary Results:");
    if (this.#params?.protocol === "udp") {
      this.#udpSummary(sum);
      return;
    }
    const anyRetr = sum.senderHasRetransmits !== 0 ||
      sum.otherSideHasRetransmits !== 0;
    const header = this.#bidir() ? HEADER_BIDIR : HEADER;
    this.#write(anyRetr ? `${header}         Retr` : header);
    const server = this.#role === "server";
    for (const mustSend of this.#groups()) {
      const retr = this.#bidir()
        ? (mustSend ? sum.senderHasRetransmits : sum.otherSideHasRetransmits)
        : sum.senderHasRetransmits;
      const tag = this.#roleTag(mustSend);
      const group = sum.streams.filter((s) => s.sender === mustSend);
      let totalSent = 0;
      let totalReceived = 0;
      let totalRetr = 0;
      for (const s of group) {
        totalSent += s.bytesSent;
        totalReceived += s.bytesReceived;
        if (retr) totalRetr += s.retransmits;
        this.#side(
          !(server && !s.sender),
          id(s.socket),
          "sender",
          () =>
            this.#summaryLine(
              id(s.socket),
              tag,
              sum.senderTime,
              s.bytesSent,
              retr ? unsigned32(s.retransmits) : undefined,
              "sender",
            ),
        );
        if (s.diskfile) this.#write(diskfileLine(s, s.diskfile));
        this.#side(
          !(server && s.sender),
          id(s.socket),
          "receiver",
          () =>
            this.#summaryLine(
              id(s.socket),
              tag,
              sum.receiverTime,
              s.bytesReceived,
              undefined,
              "receiver",
            ),
        );
      }
      if (this.#parallel() > 1) {
        this.#side(
          !(server && !mustSend),
          "[SUM]",
          "sender",
          () =>
            this.#summaryLine(
              "[SUM]",
              tag,
              sum.senderTime,
              totalSent,
              retr ? String(totalRetr) : undefined,
              "sender",
            ),
        );
        this.#side(
          !(server && mustSend),
          "[SUM]",
          "receiver",
          () =>
            this.#summaryLine(
              "[SUM]",
              tag,
              sum.receiverTime,
              totalReceived,
              undefined,
              "receiver",
            ),
        );
      }
      this.#cpuLines(sum, mustSend);
    }
  }

  /** `-V`: iperf3's CPU line after the sending side's summary (twice in bidir), then the TCP congestion algorithms. */
  #cpuLines(sum: TestSummary, mustSend: boolean): void {
    if (!this.#verbose) return;
    if (mustSend) {
      this.#write(cpuLine(sum, true));
      if (this.#bidir()) this.#write(cpuLine(sum, false));
    }
    if (this.#params?.protocol !== "tcp") return;
    const snd = mustSend ? sum.localCongestion : sum.remoteCongestion;
    const rcv = mustSend ? sum.remoteCongestion : sum.localCongestion;
    if (snd !== undefined) this.#write(`snd_tcp_congestion ${snd}`);
    if (rcv !== undefined) this.#write(`rcv_tcp_congestion ${rcv}`);
  }

  /**
   * A summary line of one side. iperf3's server prints only the side it
   * knows; with `-V` it says the other is not available.
   */
  #side(
    known: boolean,
    idText: string,
    side: "sender" | "receiver",
    line: () => string,
  ): void {
    if (known) this.#write(line());
    else if (this.#verbose) {
      this.#write(`${idText} (${side} statistics not available)`);
    }
  }

  #intervalHeader(retransmits: boolean): string {
    const header = this.#bidir() ? HEADER_BIDIR : HEADER;
    if (this.#params?.protocol !== "udp") {
      return retransmits ? `${header}         Retr  Cwnd` : header;
    }
    const groups = this.#groups();
    // A side that only sends shows datagram counts; one that receives, loss.
    if (!this.#bidir() && groups[0]) return `${header}         Total Datagrams`;
    return `${header}${UDP_COLUMNS}`;
  }

  #udpSummary(sum: TestSummary): void {
    const header = this.#bidir() ? HEADER_BIDIR : HEADER;
    this.#write(`${header}${UDP_COLUMNS}`);
    const server = this.#role === "server";
    for (const mustSend of this.#groups()) {
      const tag = this.#roleTag(mustSend);
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
        this.#side(
          !(server && !s.sender),
          id(s.socket),
          "sender",
          () =>
            this.#udpLine(
              id(s.socket),
              tag,
              0,
              sum.senderTime,
              s.bytesSent,
              rateOf(s.bytesSent, sum.senderTime),
              0,
              0,
              u.senderPackets,
              "sender",
            ),
        );
        if (u.outOfOrder > 0) {
          this.#write(
            `[SUM]${tag} ${formatFixed(0, 1, 4)}-${
              formatFixed(sum.senderTime, 1, 4)
            } sec  ${u.outOfOrder} datagrams received out-of-order`,
          );
        }
        this.#side(
          !(server && s.sender),
          id(s.socket),
          "receiver",
          () =>
            this.#udpLine(
              id(s.socket),
              tag,
              0,
              sum.receiverTime,
              s.bytesReceived,
              rateOf(s.bytesReceived, sum.receiverTime),
              u.jitter,
              u.lost,
              u.receiverPackets,
              "receiver",
            ),
        );
      }
      if (this.#parallel() > 1) {
        if (!(server && !mustSend)) {
          this.#write(
            this.#udpLine(
              "[SUM]",
              tag,
              0,
              sum.senderTime,
              totalSent,
              rateOf(totalSent, sum.senderTime),
              0,
              0,
              senderPackets,
              "sender",
              0,
            ),
          );
        }
        if (!(server && mustSend)) {
          this.#write(
            this.#udpLine(
              "[SUM]",
              tag,
              0,
              sum.receiverTime,
              totalReceived,
              rateOf(totalReceived, sum.receiverTime),
              jitter / this.#parallel(),
              lost,
              receiverPackets,
              "receiver",
              packets > 0 ? 100 * lost / packets : 0,
            ),
          );
        }
      }
      this.#cpuLines(sum, mustSend);
    }
  }

  /** iperf3's `report_bw_udp_format`: jitter, lost/total and loss percent. */
  #udpLine(
    idText: string,
    tag: string,
    start: number,
    end: number,
    bytes: number,
    rate: number,
    jitterSeconds: number,
    lost: number,
    packets: number,
    tail: string,
    lostPercent = packets > 0 ? 100 * lost / packets : 0,
  ): string {
    return `${idText}${tag} ${times(start, end)} sec  ${
      formatUnit(bytes, "A")
    }s  ${formatUnit(rate, this.#format)}s/sec  ${
      formatFixed(jitterSeconds * 1000, 3, 5)
    } ms  ${lost}/${packets} (${formatG(lostPercent, 2)}%)  ${tail}`;
  }

  /** iperf3's `report_bw_udp_sender_format`: datagrams sent (10 more spaces in bidir). */
  #udpSenderLine(
    idText: string,
    tag: string,
    start: number,
    end: number,
    bytes: number,
    rate: number,
    packets: number,
    tail: string,
  ): string {
    const pad = this.#bidir() ? "          " : "";
    return `${idText}${tag} ${times(start, end)} sec  ${
      formatUnit(bytes, "A")
    }s  ${formatUnit(rate, this.#format)}s/sec ${pad} ${packets}  ${tail}`;
  }

  #summaryLine(
    idText: string,
    tag: string,
    seconds: number,
    bytes: number,
    retransmits: string | undefined,
    side: string,
  ): string {
    const rate = seconds > 0 ? bytes / seconds : 0;
    if (retransmits === undefined) {
      return this.#bwLine(idText, tag, 0, seconds, bytes, rate, side);
    }
    return `${idText}${tag} ${times(0, seconds)} sec  ${
      formatUnit(bytes, "A")
    }s  ${formatUnit(rate, this.#format)}s/sec  ${
      retransmits.padStart(3)
    }             ${side}`;
  }

  #bwLine(
    idText: string,
    tag: string,
    start: number,
    end: number,
    bytes: number,
    rate: number,
    tail: string,
  ): string {
    return `${idText}${tag} ${times(start, end)} sec  ${
      formatUnit(bytes, "A")
    }s  ${formatUnit(rate, this.#format)}s/sec                  ${tail}`;
  }
}

function rateOf(bytes: number, seconds: number): number {
  return seconds > 0 ? bytes / seconds : 0;
}

function id(socket: number): string {
  return `[${String(socket).padStart(3)}]`;
}

function times(start: number, end: number): string {
  return `${formatFixed(start, 2, 6)}-${formatFixed(end, 2, 6, true)}`;
}

function endpoint(e: Endpoint): string {
  return `${e.hostname} port ${e.port}`;
}

function unsigned32(n: number): string {
  return String(n < 0 ? n + 2 ** 32 : n);
}

function anyOmitted(streams: StreamInterval[]): boolean {
  return streams.some((s) => s.omitted);
}

function startingLine(p: TestParams): string {
  const base =
    `Starting Test: protocol: ${p.protocol.toUpperCase()}, ${p.parallel} streams, ${p.length} byte blocks, omitting ${p.omit} seconds`;
  if (p.bytes) return `${base}, ${p.bytes} bytes to send, tos ${p.tos}`;
  if (p.blocks) return `${base}, ${p.blocks} blocks to send, tos ${p.tos}`;
  return `${base}, ${p.time} second test, tos ${p.tos}`;
}

function cpuLine(sum: TestSummary, localSends: boolean): string {
  const pct = (n: number) => formatFixed(n, 1);
  const local = localSends ? "sender" : "receiver";
  const remote = localSends ? "receiver" : "sender";
  return `CPU Utilization: local/${local} ${pct(sum.cpu.total)}% (${
    pct(sum.cpu.user)
  }%u/${pct(sum.cpu.system)}%s), remote/${remote} ${
    pct(sum.remoteCpu.total)
  }% (${pct(sum.remoteCpu.user)}%u/${pct(sum.remoteCpu.system)}%s)`;
}
