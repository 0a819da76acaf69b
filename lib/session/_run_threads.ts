/**
 * A test run's hand-over to the threaded data plane: every stream goes to
 * the threads when they can take them all, or none does (the in-process
 * loops of `_run_loops.ts` then move the test).
 *
 * @module
 */

import { ERROR_CODES } from "../errors.ts";
import { closeQuietly, type StreamConn } from "../net/conn.ts";
import { isNodeSocket, stopReadingAhead } from "../net/bound_conn.ts";
import { StreamSocket } from "../net/stream_socket.ts";
import type { TestParams } from "../protocol/params.ts";
import type {
  ThreadCounter,
  ThreadedTest,
  ThreadedUdp,
  ThreadPool,
  ThreadUdpAccounting,
} from "../dataplane/thread_pool.ts";
import type {
  DataStream,
  RunOptions,
  RunState,
  Tracked,
} from "./_run_state.ts";

/** Options of {@linkcode startThreads}. */
export interface ThreadHandOverOptions {
  /** The threaded data plane, if the test has one. */
  threads: ThreadPool | undefined;
  /** Reports a stream's failure (the run ignores it once it stops). */
  streamFailed: (t: Tracked, error: unknown, code: number) => void;
}

/**
 * Hands every stream to the threads when they can take them all (TCP,
 * each stream's descriptor found through libc); false leaves them to the
 * in-process loops. Sets `run.threaded`, and replaces each stream's
 * counter (and a UDP receiver's accounting) with the threads' own.
 *
 * @param run the run
 * @param options the threads, and where stream failures go
 * @returns whether the threads move the test
 */
export async function startThreads(
  run: RunState,
  options: ThreadHandOverOptions,
): Promise<boolean> {
  const { threads, streamFailed } = options;
  const { params } = run.options;
  const tracked = run.tracked;
  const udp = params.protocol === "udp";
  // A node:net socket (-B, --cport, -M) reads ahead by itself, and a read
  // of its already in flight cannot be called back: such a socket goes to
  // a thread only when it sends (nothing comes in to lose).
  const plans = tracked.map((t) =>
    udp ? threadedUdp(t.stream, params) : t.stream.conn && t.stream.probe &&
        (t.stream.sender || !isNodeSocket(t.stream.conn))
      ? { fd: t.stream.probe.fd }
      : undefined
  );
  // Threads that could not start (libc, permissions) leave the test to
  // the loops rather than to a stream nobody moves.
  if (
    !threads || plans.some((p) => p === undefined) ||
    !await threads.prepare(tracked.length)
  ) {
    dropConnectedUdp(tracked);
    return false;
  }
  let threaded: ThreadedTest;
  try {
    threaded = threads.start(
      tracked.map((t, i) => ({
        ...plans[i] as { fd: number },
        send: t.stream.sender,
        length: params.length,
        bitsPerSecond: params.bandwidth,
        repeating: params.repeatingPayload,
        // --skip-rx-copy: TCP receivers discard with MSG_TRUNC, as iperf3.
        ...(params.skipRxCopy && !udp ? { truncate: true } : {}),
      })),
      run.omitting || !threadsLimited(run.options)
        ? {}
        : { bytes: params.bytes, blocks: params.blocks },
    );
  } catch {
    // Out of descriptors for the duplicates: the loops move them.
    dropConnectedUdp(tracked);
    return false;
  }
  run.threaded = threaded;
  tracked.forEach((t, i) => {
    const counter = threaded.counters[i] as ThreadCounter;
    if (udp) {
      t.accounting = threaded.udp[i] as ThreadUdpAccounting;
      // A client's Deno socket closes now: the thread's duplicate keeps
      // the socket open, and Deno's event loop stops waking for every
      // datagram the thread moves (a fifth of a core at 1 Gbit/s).
      if (!t.stream.udp?.hub) t.stream.udp?.socket.close();
    } else {
      // A node:net socket (-B, --cport, -M) may have read ahead since
      // TEST_RUNNING: those bytes were received in the test.
      const conn = t.stream.conn as StreamConn;
      const ahead = stopReadingAhead(conn);
      if (ahead > 0) counter.credit(ahead);
      // A node:net socket's own handle closes now, as a client's UDP
      // socket's: the thread's duplicate keeps the socket open, TCP_INFO is
      // read on the duplicate (the same socket: the same SO_COOKIE), and
      // the event loop stops waking for every segment the thread moves
      // (-P 8 -M 96 on loopback: 27 to 41-46 Gbit/s). Deno's own TcpConn
      // shuts the socket down when closed, so it stays open.
      const probe = t.stream.probe;
      const fd = threaded.fds[i];
      if (probe && fd !== undefined && isNodeSocket(conn)) {
        t.stream.probe = new StreamSocket(
          probe.native,
          fd,
          "tcp",
          conn.localAddr,
          conn.remoteAddr,
        );
        closeQuietly(conn);
      }
    }
    t.counter = counter;
  });
  // Deno's own TcpConns stay open (their close shuts the socket down) but
  // leave Deno's event loops: a receiving one woke the main thread for
  // every segment its thread moved (a third of a core at 34 Gbit/s).
  // Nothing reads or writes them again; they are only closed.
  const watched = tracked.flatMap((t) =>
    !udp && t.stream.conn && !isNodeSocket(t.stream.conn) &&
      t.stream.probe?.alive
      ? [t.stream.probe.fd]
      : []
  );
  tracked[0]?.stream.probe?.native.unwatch(watched);
  for (const t of tracked) t.counter.counting = true;
  threaded.limit.then(() => run.budget.markReached());
  threaded.failed.catch((failure) => {
    const t = tracked[failure.index] ?? tracked[0];
    if (!t) return;
    streamFailed(
      t,
      new Error(failure.text),
      t.stream.sender ? ERROR_CODES.IESTREAMWRITE : ERROR_CODES.IESTREAMREAD,
    );
  });
  return true;
}

/**
 * Whether the threads keep to `-n`/`-k`: not a server's UDP streams, which
 * send until TEST_END as iperf3's server does (the client counts what
 * arrived against the limit, so a lost datagram must not leave it short).
 *
 * @param o the run's options
 * @returns whether they do
 */
export function threadsLimited(o: RunOptions): boolean {
  return !(o.params.protocol === "udp" && o.role === "server");
}

/**
 * The loops move the test: a threaded server's own UDP sockets close, so
 * their peers' datagrams reach the hub again.
 */
function dropConnectedUdp(tracked: readonly Tracked[]): void {
  for (const t of tracked) {
    const udp = t.stream.udp;
    if (udp?.connected) {
      udp.connected.close();
      delete udp.connected;
    }
  }
}

/**
 * How a thread moves a UDP stream: a threaded server's own connected
 * socket, or a client's socket (its duplicate connected to the server
 * first); undefined when there is neither (a server's stream on the hub).
 */
function threadedUdp(
  stream: DataStream,
  params: TestParams,
): { fd: number; udp: ThreadedUdp } | undefined {
  const udp = stream.udp;
  if (!udp) return undefined;
  const settings: ThreadedUdp = {
    counters64: params.udpCounters64bit,
    burst: params.burst,
    pacingTimerUs: params.pacingTimer,
    gso: params.gso ?? false,
    ...(params.gsoBufferSize ? { gsoBytes: params.gsoBufferSize } : {}),
    gro: params.gro ?? false,
  };
  if (udp.connected) return { fd: udp.connected.fd, udp: settings };
  if (udp.fd === undefined || udp.hub) return undefined;
  const connect = { peer: udp.peer, local: udp.socket.addr };
  return { fd: udp.fd, udp: { ...settings, connect } };
}
