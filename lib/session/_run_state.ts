/**
 * What the parts of a test run share: each stream's bookkeeping, and the
 * run's own (its clock origin, the omit period, the threads' handle).
 * `TestRun` owns it; the clock, the watchdog, the hand-overs to the loops
 * or the threads, and the results read it, and write only the fields their
 * JSDoc names.
 *
 * @module
 */

import type { Endpoint, Role } from "../events.ts";
import type { StreamConn } from "../net/conn.ts";
import type { StreamSocket } from "../net/stream_socket.ts";
import type { UdpSocket } from "../net/datagram.ts";
import type { ConnectedUdp } from "../net/udp_connected.ts";
import type { TestParams } from "../protocol/params.ts";
import { UdpAccounting } from "../stats/udp_accounting.ts";
import { type TransferBudget, TransferCounter } from "../stats/counter.ts";
import { StreamStats, type UdpCumulative } from "../stats/interval.ts";
import type {
  ThreadCounter,
  ThreadedTest,
  ThreadUdpAccounting,
} from "../dataplane/thread_pool.ts";
import type { UdpHub } from "./_udp_hub.ts";
import type { DiskFile } from "../stats/summary.ts";

/** A connected data stream, before the test runs. */
export interface DataStream {
  /** The stream id (1, 3, 4, ...). */
  id: number;
  /** The printed socket number. */
  socket: number;
  /** Whether this side sends on it. */
  sender: boolean;
  /** The TCP connection (TCP tests). */
  conn?: StreamConn;
  /** The connection's socket through libc, where TCP_INFO can be read. */
  probe?: StreamSocket;
  /** The socket and the peer's address (UDP tests); a server's streams share its hub's socket. */
  udp?: {
    socket: UdpSocket;
    peer: Deno.NetAddr;
    hub?: UdpHub;
    /** A client's: `socket`'s descriptor, found through libc (owned by `socket`). */
    fd?: number;
    /**
     * A threaded server's: the stream's own socket connected to the peer,
     * which the threads move instead of the hub's; owned by the session,
     * closed by `close()` (or by the session when no TestRun ran).
     */
    connected?: ConnectedUdp;
  };
  /** This side's address. */
  local: Endpoint;
  /** The peer's address. */
  remote: Endpoint;
}

/** One stream's bookkeeping during the run. */
export interface Tracked {
  /** The stream; the threads' hand-over may replace its `probe`. */
  stream: DataStream;
  /** In-process loops count in a TransferCounter, threads in shared memory. */
  counter: TransferCounter | ThreadCounter;
  /** The stream's intervals. */
  stats: StreamStats;
  /** UDP receivers: loss, order, jitter (the thread's, when threads move it). */
  accounting: UdpAccounting | ThreadUdpAccounting;
  /** UDP counts at the end of the omit period (iperf3's `omitted_*`). */
  omitted: { packets: number; lost: number; outOfOrder: number };
  /** TCP_INFO figures kept across intervals (sending streams with TCP_INFO). */
  tcp: TcpTracking;
  /** `-F`: the stream's own handle on the file (read by a sender, written by a receiver). */
  file?: Deno.FsFile;
  /** `-F`: the file's name and size, taken when the run finished. */
  diskfile?: DiskFile;
}

/** iperf3's per-stream `stream_*` TCP_INFO bookkeeping. */
export interface TcpTracking {
  /** `tcpi_total_retrans` at the previous sample. */
  prevTotal: number;
  /** Retransmits since the end of the omit period. */
  retransmits: number;
  /** The largest `tcpi_snd_cwnd` seen. */
  maxSndCwnd: number;
  /** The largest send window seen. */
  maxSndWnd: number;
  /** The largest `tcpi_rtt` seen. */
  maxRtt: number;
  /** The smallest `tcpi_rtt` seen, 0 before the first. */
  minRtt: number;
  /** The sum of the `tcpi_rtt` samples. */
  sumRtt: number;
  /** How many `tcpi_rtt` samples. */
  countRtt: number;
  /** `tcpi_reord_seen` at the last sample. */
  reorder: number;
}

/**
 * A stream's bookkeeping before the run: the in-process counters, which
 * the threads' hand-over replaces with the threads' own.
 *
 * @param stream the connected stream
 * @returns its bookkeeping
 */
export function track(stream: DataStream): Tracked {
  return {
    stream,
    counter: new TransferCounter(),
    stats: new StreamStats(stream.id, stream.socket, stream.sender),
    accounting: new UdpAccounting(),
    omitted: { packets: 0, lost: 0, outOfOrder: 0 },
    tcp: newTcpTracking(),
  };
}

function newTcpTracking(): TcpTracking {
  return {
    prevTotal: 0,
    retransmits: 0,
    maxSndCwnd: 0,
    maxSndWnd: 0,
    maxRtt: 0,
    minRtt: 0,
    sumRtt: 0,
    countRtt: 0,
    reorder: 0,
  };
}

/** What the run's parts read of `TestRunOptions`. */
export interface RunOptions {
  /** The test. */
  params: TestParams;
  /** Which side runs it. */
  role: Role;
  /** Whether every TCP stream's TCP_INFO can be read (iperf3's `has_tcpinfo`). */
  tcpInfo?: boolean;
  /** The TCP congestion control algorithm of this side's streams, when known. */
  congestionUsed?: string;
  /** `-F`: the file the streams send from or receive into. */
  file?: string;
}

/** The run's state, owned by `TestRun`. */
export interface RunState {
  /** The test run's options. */
  readonly options: RunOptions;
  /** The streams, in creation order. */
  readonly tracked: readonly Tracked[];
  /** The `-n`/`-k` budget; `reached` ends a byte- or block-limited test. */
  readonly budget: TransferBudget;
  /** Whether the `-O` omit period still runs; the clock ends it. */
  omitting: boolean;
  /** TEST_START as a `performance.now()` value; set by `begin()`. */
  wallStartMs: number;
  /** When the final sample was taken, 0 until `finish()` takes it. */
  finalMs: number;
  /** The process's CPU use at `begin()`. */
  cpuStart: { user: number; system: number };
  /** The streams' handle on the threads, when they move them; set by their hand-over. */
  threaded: ThreadedTest | undefined;
  /**
   * `-F` on a client: one promise per stream that sent its file (or its
   * budget's worth of it), resolved once the server has it; `timeUp()`
   * waits for them after the budget is reached. Pushed by the file loop
   * synchronously as it ends, before the budget's promise calls back.
   */
  deliveries: Promise<void>[];
}

/**
 * A UDP stream's cumulative counts: datagrams sent, or the receiver's accounting.
 *
 * @param t the stream
 * @returns its counts now
 */
export function udpNow(t: Tracked): UdpCumulative {
  const a = t.accounting;
  return t.stream.sender
    ? { packets: t.counter.packets, lost: 0, outOfOrder: 0, jitter: 0 }
    : {
      packets: a.packets,
      lost: a.lost,
      outOfOrder: a.outOfOrder,
      jitter: a.jitter,
    };
}
