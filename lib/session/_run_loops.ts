/**
 * A test run's hand-over to the in-process loops of `lib/stream/`, which
 * move the test when the threads do not: one task per data stream.
 *
 * @module
 */

import { makePayload } from "../stream/payload.ts";
import { ERROR_CODES } from "../errors.ts";
import type { StreamConn } from "../net/conn.ts";
import type { UdpAccounting } from "../stats/udp_accounting.ts";
import { TransferBudget } from "../stats/counter.ts";
import {
  runUdpReceiver,
  type UdpReceiveTarget,
} from "../stream/udp_receiver.ts";
import { runUdpSender } from "../stream/udp_sender.ts";
import { runTcpReceiver } from "../stream/tcp_receiver.ts";
import { runTcpSender } from "../stream/tcp_sender.ts";
import {
  fileDelivered,
  runTcpFileSender,
  writeAllToFile,
} from "../stream/tcp_file.ts";
import { COOKIE_SIZE } from "../protocol/codec.ts";
import type { RunState, Tracked } from "./_run_state.ts";
import { endsAtMs } from "./_run_clock.ts";

/** Options of {@linkcode startLoops}. */
export interface LoopHandOverOptions {
  /** Stops the senders after the write in flight. */
  stop: AbortSignal;
  /** Reports a stream's failure (the run ignores it once it stops). */
  streamFailed: (t: Tracked, error: unknown, code: number) => void;
}

/** The loops' tasks; none rejects (a failure goes to `streamFailed`). */
export interface LoopTasks {
  /** Every stream's task, in creation order. */
  tasks: Promise<void>[];
  /** The sending streams' tasks (also in `tasks`). */
  senders: Promise<void>[];
}

/**
 * Starts counting and one loop per stream (a server's UDP receivers are
 * fed by its hub's loop instead).
 *
 * @param run the run
 * @param options the senders' stop signal, and where stream failures go
 * @returns the tasks
 */
export function startLoops(
  run: RunState,
  options: LoopHandOverOptions,
): LoopTasks {
  const { stop, streamFailed } = options;
  const { params, role } = run.options;
  const { budget } = run;
  const tasks: Promise<void>[] = [];
  const senders: Promise<void>[] = [];
  const block = makePayload(params.length, params.repeatingPayload);
  // What TCP receivers read is counted and dropped, so a test's receiving
  // streams share one buffer: -P 128 -l 1M holds 1 MiB, not 128.
  let sink: Uint8Array | undefined;
  for (const t of run.tracked) {
    t.counter.counting = true;
    const { conn, udp } = t.stream;
    if (t.stream.sender) {
      const sending = udp
        ? runUdpSender(udp.socket, udp.peer, {
          // Each UDP stream rewrites its own header in place.
          datagram: block.slice(),
          counter: t.counter,
          // iperf3's server never checks -n/-k: it sends until TEST_END
          // and the client counts what arrived against the limit, so a
          // lost datagram must not leave the client short.
          budget: role === "server" ? new TransferBudget(0, 0) : budget,
          stop,
          bitsPerSecond: params.bandwidth,
          burst: params.burst,
          pacingTimerUs: params.pacingTimer,
          counters64: params.udpCounters64bit,
          // iperf3 paces from `start_time_fixed`, set at TEST_START.
          startMs: run.wallStartMs,
          endsAtMs: endsAtMs(run),
        })
        : t.file
        ? runTcpFileSender(conn as StreamConn, {
          file: t.file,
          // Each stream reads the file on its own.
          block: new Uint8Array(params.length),
          counter: t.counter,
          budget,
          stop,
          // iperf3 sets `test->done`: the client ends the test; a server
          // that sends (-R) stops this stream and waits for TEST_END.
          onEnd: (written, eof) => {
            if (role !== "client") return;
            // The client ends the test once the file has reached the
            // server's program: `timeUp()` waits for every delivery.
            const probe = t.stream.probe;
            const delivered = fileDelivered(
              () => probe?.tcpInfo()?.bytesAcked,
              written,
              COOKIE_SIZE,
            );
            run.deliveries.push(delivered);
            if (eof) delivered.then(() => budget.markReached());
          },
          bitsPerSecond: params.bandwidth,
        })
        : runTcpSender(conn as StreamConn, {
          block,
          counter: t.counter,
          budget,
          stop,
          bitsPerSecond: params.bandwidth,
        });
      const task = sending.catch((error) =>
        streamFailed(t, error, ERROR_CODES.IESTREAMWRITE)
      );
      senders.push(task);
      tasks.push(task);
    } else if (udp) {
      const target: UdpReceiveTarget = {
        peer: udp.peer,
        counter: t.counter,
        // The threads did not take the test: the loops account.
        accounting: t.accounting as UdpAccounting,
        budget,
        counters64: params.udpCounters64bit,
      };
      if (udp.hub) {
        // The server's shared port: its loop feeds this stream from now on.
        udp.hub.unroute(udp.peer);
        udp.hub.route(target);
      } else {
        const task = runUdpReceiver(udp.socket, { route: () => target })
          .catch((error) => streamFailed(t, error, ERROR_CODES.IESTREAMREAD));
        tasks.push(task);
      }
    } else {
      const file = t.file;
      // A stream that writes a file keeps its own buffer.
      const buffer = file
        ? new Uint8Array(params.length)
        : (sink ??= new Uint8Array(params.length));
      const task = runTcpReceiver(conn as StreamConn, {
        buffer,
        counter: t.counter,
        budget,
        ...(file ? { sink: (bytes) => writeAllToFile(file, bytes) } : {}),
      }).catch((error) => streamFailed(t, error, ERROR_CODES.IESTREAMREAD));
      tasks.push(task);
    }
  }
  return { tasks, senders };
}
