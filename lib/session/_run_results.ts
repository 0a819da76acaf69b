/**
 * A test run's figures: the interval samples (with iperf3's TCP_INFO
 * bookkeeping), the local totals and summary input after the test, the CPU
 * meter, and this side's results for the exchange.
 *
 * @module
 */

import process from "node:process";
import type { TestResults } from "../protocol/results.ts";
import type { IntervalReport, TcpInterval } from "../stats/interval.ts";
import type {
  CpuUtil,
  LocalStreamTotal,
  SummaryInput,
} from "../stats/summary.ts";
import {
  type RunOptions,
  type RunState,
  type Tracked,
  udpNow,
} from "./_run_state.ts";
import { isReceiverOnly } from "./_streams.ts";

/**
 * iperf3's `sender_has_retransmits == 1`: this side sends TCP and reads
 * TCP_INFO on every stream.
 *
 * @param o the run's options
 * @returns whether it does
 */
export function hasRetransmits(o: RunOptions): boolean {
  return o.params.protocol === "tcp" && (o.tcpInfo ?? false) &&
    !isReceiverOnly(o.params, o.role);
}

/**
 * The streams' interval ending at `nowMs` (in the omit period while it runs).
 *
 * @param run the run
 * @param nowMs the interval's end, a `performance.now()` value
 * @returns the report
 */
export function sample(run: RunState, nowMs: number): IntervalReport {
  const retr = hasRetransmits(run.options);
  const streams = run.tracked.map((t) => {
    const interval = t.stats.sample(
      nowMs,
      t.counter.bytes,
      run.omitting,
      t.stream.udp ? udpNow(t) : undefined,
    );
    // iperf3 reads TCP_INFO on every TCP stream of a side that sends
    // (in --bidir its receiving streams too: their cwnd/RTT reach the
    // summary), and prints the interval's figures for senders only.
    if (retr && t.stream.conn) {
      const tcp = tcpSample(t);
      if (t.stream.sender) interval.tcp = tcp;
    }
    return interval;
  });
  return retr ? { streams, retransmits: true } : { streams };
}

/** iperf3's `iperf_stats_callback`, TCP part: one TCP_INFO read per interval. */
function tcpSample(t: Tracked): TcpInterval {
  const info = t.stream.probe?.tcpInfo();
  const k = t.tcp;
  if (!info) {
    return {
      retransmits: 0,
      sndCwnd: 0,
      sndWnd: 0,
      rtt: 0,
      rttvar: 0,
      pmtu: 0,
      reorder: 0,
    };
  }
  const retransmits = info.totalRetrans - k.prevTotal;
  k.retransmits += retransmits;
  k.prevTotal = info.totalRetrans;
  k.maxSndCwnd = Math.max(k.maxSndCwnd, info.sndCwnd);
  k.maxSndWnd = Math.max(k.maxSndWnd, info.sndWnd);
  k.maxRtt = Math.max(k.maxRtt, info.rtt);
  if (k.minRtt === 0 || info.rtt < k.minRtt) k.minRtt = info.rtt;
  k.sumRtt += info.rtt;
  k.countRtt++;
  k.reorder = info.reordSeen;
  return {
    retransmits,
    sndCwnd: info.sndCwnd,
    sndWnd: info.sndWnd,
    rtt: info.rtt,
    rttvar: info.rttvar,
    pmtu: info.pmtu,
    reorder: info.reordSeen,
  };
}

/**
 * Local per-stream totals after `finish()`.
 *
 * @param run the run
 * @returns one total per stream, in creation order
 */
export function totals(run: RunState): LocalStreamTotal[] {
  const retr = hasRetransmits(run.options);
  return run.tracked.map((t) => {
    const total: LocalStreamTotal = {
      id: t.stream.id,
      socket: t.stream.socket,
      sender: t.stream.sender,
      bytes: t.counter.bytes,
      duration: t.stats.elapsed(run.finalMs || performance.now()),
    };
    if (t.diskfile) total.diskfile = t.diskfile;
    if (retr && t.stream.conn) {
      const k = t.tcp;
      total.tcp = {
        retransmits: k.retransmits,
        maxSndCwnd: k.maxSndCwnd,
        maxSndWnd: k.maxSndWnd,
        maxRtt: k.maxRtt,
        minRtt: k.minRtt,
        // iperf3 divides integers.
        meanRtt: k.countRtt ? Math.trunc(k.sumRtt / k.countRtt) : 0,
        reorder: k.reorder,
      };
    }
    if (t.stream.udp) {
      const a = t.accounting;
      total.udp = {
        packets: (t.stream.sender ? t.counter.packets : a.packets) -
          t.omitted.packets,
        omittedPackets: t.omitted.packets,
        lost: a.lost - t.omitted.lost,
        outOfOrder: a.outOfOrder - t.omitted.outOfOrder,
        jitter: a.jitter,
      };
    }
    return total;
  });
}

/**
 * What `summarize` needs from this side (the peer's results are added by the session).
 *
 * @param run the run
 * @returns the local half of the summary's input
 */
export function summaryInput(run: RunState): SummaryInput {
  const o = run.options;
  return {
    streams: totals(run),
    receiverOnly: isReceiverOnly(o.params, o.role),
    bidirectional: o.params.bidirectional,
    cpu: cpu(run),
    localHasRetransmits: hasRetransmits(o) ? 1 : 0,
    localCongestion: o.params.protocol === "tcp" ? o.congestionUsed : undefined,
  };
}

/**
 * Process CPU use since `begin()`, in percent of wall time.
 *
 * @param run the run
 * @returns total, user and system percentages
 */
export function cpu(run: RunState): CpuUtil {
  const used = process.cpuUsage(run.cpuStart);
  const wallUs = ((run.finalMs || performance.now()) - run.wallStartMs) *
    1000;
  if (wallUs <= 0) return { total: 0, user: 0, system: 0 };
  const user = used.user / wallUs * 100;
  const system = used.system / wallUs * 100;
  return { total: user + system, user, system };
}

/**
 * This side's results JSON content, for the exchange.
 *
 * @param run the run
 * @returns the results
 */
export function results(run: RunState): TestResults {
  const o = run.options;
  const use = cpu(run);
  const retr = hasRetransmits(o);
  return {
    cpuUtilTotal: use.total,
    cpuUtilUser: use.user,
    cpuUtilSystem: use.system,
    senderHasRetransmits: isReceiverOnly(o.params, o.role) ? -1 : retr ? 1 : 0,
    ...(o.congestionUsed === undefined
      ? {}
      : { congestionUsed: o.congestionUsed }),
    streams: run.tracked.map((t) => {
      const udp = t.stream.udp !== undefined;
      return {
        id: t.stream.id,
        bytes: t.counter.bytes,
        retransmits: t.stream.sender && retr ? t.tcp.retransmits : -1,
        // UDP: the receiver's jitter (seconds) and lost count, and the
        // datagrams sent or the highest sequence number seen, cumulative.
        jitter: udp && !t.stream.sender ? t.accounting.jitter : 0,
        errors: udp && !t.stream.sender ? t.accounting.lost : 0,
        // What of those the omit period counted (3.14+ `send_results`;
        // without them a 3.21 peer takes every datagram as omitted).
        omittedErrors: udp && !t.stream.sender ? t.omitted.lost : 0,
        packets: !udp
          ? 0
          : t.stream.sender
          ? t.counter.packets
          : t.accounting.packets,
        omittedPackets: udp ? t.omitted.packets : 0,
        startTime: 0,
        endTime: t.stats.elapsed(run.finalMs || performance.now()),
      };
    }),
  };
}
