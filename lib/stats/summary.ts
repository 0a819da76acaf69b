/**
 * End-of-test totals: the local counters merged with the peer's results the
 * way iperf3's `get_results` and `iperf_print_results` do it.
 *
 * @module
 */

import type { StreamResult, TestResults } from "../protocol/results.ts";

/** CPU use in percent of wall time. */
export interface CpuUtil {
  /** User + system. */
  total: number;
  /** User time. */
  user: number;
  /** System time. */
  system: number;
}

/** One stream's totals for the summary. */
export interface StreamSummary {
  /** The stream id. */
  id: number;
  /** The printed socket number. */
  socket: number;
  /** Whether this side sent on the stream. */
  sender: boolean;
  /** Bytes the sending side sent (local if we sent, else the peer's report; 0 if unknown). */
  bytesSent: number;
  /** Bytes the receiving side received (local if we received, else the peer's report). */
  bytesReceived: number;
  /** Retransmits reported by the sending side, -1 when unknown. */
  retransmits: number;
  /** This side sent and read TCP_INFO: the cwnd/window/RTT figures. */
  tcp?: TcpStreamTotals;
  /** UDP only. */
  udp?: UdpSummary;
  /** `-F`: the file this side's stream read or wrote. */
  diskfile?: DiskFile;
}

/** `-F`: a stream's file, for iperf3's `Sent X / SIZE (P%) of NAME` line and `diskfile` object. */
export interface DiskFile {
  /** The file name as given. */
  name: string;
  /** Its size at the test's end, bytes (a receiver's: what it wrote). */
  size: number;
}

/** A UDP stream's end figures, as iperf3 prints them. */
export interface UdpSummary {
  /** Datagrams the sender sent after the omit period (0 when unknown). */
  senderPackets: number;
  /** The receiver's datagram count (highest sequence number) after the omit period. */
  receiverPackets: number;
  /** Datagrams lost, from the receiver. */
  lost: number;
  /** Datagrams out of order, counted locally (0 on a sender). */
  outOfOrder: number;
  /** The receiver's jitter in seconds. */
  jitter: number;
}

/** Everything the summary lines and the `end` JSON are built from. */
export interface TestSummary {
  /** Per stream, in creation order. */
  streams: StreamSummary[];
  /** The sending side's duration in seconds (first stream, as iperf3). */
  senderTime: number;
  /** The receiving side's duration in seconds (first stream). */
  receiverTime: number;
  /** The local duration of the first stream in seconds. */
  endTime: number;
  /** 1 when the lines of the sending direction carry retransmit counts (iperf3's flag, after the exchange). */
  senderHasRetransmits: number;
  /** In bidir: the peer's `sender_has_retransmits`. */
  otherSideHasRetransmits: number;
  /** Local CPU use. */
  cpu: CpuUtil;
  /** The peer's CPU use (zeros before the exchange). */
  remoteCpu: CpuUtil;
  /** The peer's TCP congestion control algorithm, when it said. */
  remoteCongestion?: string;
  /** This side's TCP congestion control algorithm, when known. */
  localCongestion?: string;
}

/** A sending TCP stream's TCP_INFO totals (iperf3's end `sender` block). */
export interface TcpStreamTotals {
  /** Retransmits after the omit period. */
  retransmits: number;
  /** Largest congestion window seen, bytes. */
  maxSndCwnd: number;
  /** Largest peer window seen, bytes. */
  maxSndWnd: number;
  /** Largest RTT sample, µs. */
  maxRtt: number;
  /** Smallest RTT sample, µs. */
  minRtt: number;
  /** Integer mean of the RTT samples, µs. */
  meanRtt: number;
  /** Reordering events at the last sample (iperf3 3.21's `reorder`). */
  reorder?: number;
}

/** One local stream's end state, before the peer's results are merged in. */
export interface LocalStreamTotal {
  /** The stream id. */
  id: number;
  /** The printed socket number. */
  socket: number;
  /** Whether this side sent on the stream. */
  sender: boolean;
  /** Bytes moved after the omit period. */
  bytes: number;
  /** Seconds from the stream's (post-omit) start to its last sample. */
  duration: number;
  /** Sending TCP streams with TCP_INFO: iperf3's `stream_*` figures. */
  tcp?: TcpStreamTotals;
  /** UDP only: local datagram counts. */
  udp?: {
    /** Datagrams sent, or the highest sequence number, after the omit period. */
    packets: number;
    /** The same count at the end of the omit period. */
    omittedPackets: number;
    /** Lost datagrams after the omit period (receiver). */
    lost: number;
    /** Out-of-order datagrams after the omit period (receiver). */
    outOfOrder: number;
    /** Running jitter in seconds (receiver). */
    jitter: number;
  };
  /** `-F`: the stream's file. */
  diskfile?: DiskFile;
}

/** What the session knows when it builds a summary. */
export interface SummaryInput {
  /** Local streams in creation order. */
  streams: LocalStreamTotal[];
  /** Whether the local side is a pure receiver (iperf3 mode RECEIVER). */
  receiverOnly: boolean;
  /** Whether the test is bidirectional. */
  bidirectional: boolean;
  /** Local CPU use. */
  cpu: CpuUtil;
  /** The peer's results, when exchanged. */
  peer?: TestResults | undefined;
  /** 1 when this side sent TCP and read TCP_INFO (iperf3's own `sender_has_retransmits`). */
  localHasRetransmits?: number;
  /** This side's TCP congestion control algorithm, when known. */
  localCongestion?: string | undefined;
}

/**
 * Merges local totals with the peer's results into a summary.
 *
 * @param input local totals and, after the exchange, the peer's results
 * @returns the summary
 */
export function summarize(input: SummaryInput): TestSummary {
  const peerById = new Map<number, StreamResult>();
  for (const s of input.peer?.streams ?? []) peerById.set(s.id, s);
  // The local flag is 1 where this side sent TCP and read TCP_INFO. A pure
  // receiver takes the peer's flag after the exchange; in bidir the peer's
  // flag describes the reverse direction (`get_results`).
  let senderHasRetransmits = input.receiverOnly
    ? 0
    : input.localHasRetransmits ?? 0;
  let otherSideHasRetransmits = 0;
  if (input.peer && input.receiverOnly) {
    senderHasRetransmits = input.peer.senderHasRetransmits;
  } else if (input.peer && input.bidirectional) {
    otherSideHasRetransmits = input.peer.senderHasRetransmits;
  }

  const streams = input.streams.map((s): StreamSummary => {
    const peer = peerById.get(s.id);
    const out: StreamSummary = {
      id: s.id,
      socket: s.socket,
      sender: s.sender,
      bytesSent: s.sender ? s.bytes : peer?.bytes ?? 0,
      bytesReceived: s.sender ? peer?.bytes ?? 0 : s.bytes,
      retransmits: s.sender
        ? s.tcp?.retransmits ?? -1
        : peer?.retransmits ?? -1,
    };
    if (s.tcp) out.tcp = s.tcp;
    if (s.diskfile) out.diskfile = s.diskfile;
    if (s.udp) {
      // A 3.14+ peer says what its omit period counted (`omitted_packets`,
      // `omitted_errors`); from an older one iperf3 subtracts the local
      // omit-period count from the peer's count.
      const peerPackets = peer
        ? Math.max(
          0,
          peer.packets - (peer.omittedPackets ?? s.udp.omittedPackets),
        )
        : 0;
      // iperf3 takes -1 for "unknown" and then subtracts nothing.
      const peerOmittedLost = Math.max(0, peer?.omittedErrors ?? 0);
      out.udp = s.sender
        ? {
          senderPackets: s.udp.packets,
          receiverPackets: peerPackets,
          lost: peer ? peer.errors - peerOmittedLost : 0,
          outOfOrder: 0,
          jitter: peer?.jitter ?? 0,
        }
        : {
          senderPackets: peerPackets,
          receiverPackets: s.udp.packets,
          lost: s.udp.lost,
          outOfOrder: s.udp.outOfOrder,
          jitter: s.udp.jitter,
        };
    }
    return out;
  });

  const first = input.streams[0];
  const endTime = first?.duration ?? 0;
  let senderTime = 0;
  let receiverTime = 0;
  if (first) {
    const peer = peerById.get(first.id);
    const peerTime = peer ? peer.endTime - peer.startTime : 0;
    if (first.sender) {
      senderTime = endTime;
      receiverTime = peerTime || senderTime;
    } else {
      receiverTime = endTime;
      senderTime = peerTime || receiverTime;
    }
  }
  const remote = input.peer;
  const summary: TestSummary = {
    streams,
    senderTime,
    receiverTime,
    endTime,
    senderHasRetransmits,
    otherSideHasRetransmits,
    cpu: input.cpu,
    remoteCpu: {
      total: remote?.cpuUtilTotal ?? 0,
      user: remote?.cpuUtilUser ?? 0,
      system: remote?.cpuUtilSystem ?? 0,
    },
  };
  if (remote?.congestionUsed !== undefined) {
    summary.remoteCongestion = remote.congestionUsed;
  }
  if (input.localCongestion !== undefined) {
    summary.localCongestion = input.localCongestion;
  }
  return summary;
}

/** A direction's UDP totals, as iperf3's summary adds them up. */
export interface UdpGroupTotals {
  /** Bytes the senders sent. */
  bytesSent: number;
  /** Bytes the receivers received. */
  bytesReceived: number;
  /** Datagrams lost. */
  lost: number;
  /** The streams' jitter added up, in seconds (iperf3 divides by `-P`). */
  jitterSum: number;
  /** Per stream the sender's count, or the receiver's where that is unknown: iperf3's `total_packets`. */
  packets: number;
  /** Datagrams sent. */
  senderPackets: number;
  /** Datagrams the receivers counted. */
  receiverPackets: number;
}

/** A UDP stream's figures when it has none (a TCP stream). */
export const NO_UDP: UdpSummary = {
  senderPackets: 0,
  receiverPackets: 0,
  lost: 0,
  outOfOrder: 0,
  jitter: 0,
};

/**
 * Adds up one direction's UDP streams the way iperf3's summary does.
 *
 * @param streams the streams of one direction
 * @returns the totals
 */
export function udpGroupTotals(streams: StreamSummary[]): UdpGroupTotals {
  const t: UdpGroupTotals = {
    bytesSent: 0,
    bytesReceived: 0,
    lost: 0,
    jitterSum: 0,
    packets: 0,
    senderPackets: 0,
    receiverPackets: 0,
  };
  for (const s of streams) {
    const u = s.udp ?? NO_UDP;
    t.bytesSent += s.bytesSent;
    t.bytesReceived += s.bytesReceived;
    t.lost += u.lost;
    t.jitterSum += u.jitter;
    t.packets += u.senderPackets || u.receiverPackets;
    t.senderPackets += u.senderPackets;
    t.receiverPackets += u.receiverPackets;
  }
  return t;
}
