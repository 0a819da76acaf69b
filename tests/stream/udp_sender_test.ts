import assert from "node:assert/strict";
import { UdpSocket } from "../../lib/net/datagram.ts";
import { readUdpSec, readUdpUsec } from "../../lib/protocol/udp_header.ts";
import { TransferBudget, TransferCounter } from "../../lib/stats/counter.ts";
import { runUdpSender } from "../../lib/stream/udp_sender.ts";

// iperf3 paces from `start_time_fixed`, set at TEST_START (`iperf_init_test`),
// and its 3.16+ sender threads sleep with `clock_nanosleep` until the next
// datagram is due; a test's end (`-t`) stops them at once.

/**
 * A sender socket, a receiver socket, and the datagrams' send times as
 * their headers carry them (`performance.now()` of the sending call).
 */
function pair() {
  const tx = UdpSocket.bind("127.0.0.1", 0);
  const rx = UdpSocket.bind("127.0.0.1", 0);
  const arrivals: number[] = [];
  const receiving = (async () => {
    const buffer = new Uint8Array(65536);
    const view = new DataView(buffer.buffer);
    try {
      while (true) {
        await rx.receive(buffer);
        arrivals.push(readUdpSec(view) * 1000 + readUdpUsec(view) / 1000);
      }
    } catch {
      // Closed.
    }
  })();
  return {
    tx,
    rx,
    arrivals,
    async [Symbol.asyncDispose]() {
      tx.close();
      rx.close();
      await receiving;
    },
  };
}

function send(
  sockets: { tx: UdpSocket; rx: UdpSocket },
  stop: AbortSignal,
  bitsPerSecond: number,
  length: number,
  startMs?: number,
): Promise<void> {
  return runUdpSender(sockets.tx, sockets.rx.addr, {
    datagram: new Uint8Array(length),
    counter: new TransferCounter(),
    budget: new TransferBudget(0, 0),
    stop,
    bitsPerSecond,
    burst: 0,
    pacingTimerUs: 1000,
    counters64: false,
    ...(startMs === undefined ? {} : { startMs }),
  });
}

async function until(check: () => boolean, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check() && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

Deno.test("runUdpSender() returns at once when stopped while it waits for its next datagram", async () => {
  await using sockets = pair();
  const stop = new AbortController();
  // 40000-byte datagrams at 1 Mbit/s: one every 320 ms.
  const sending = send(sockets, stop.signal, 1_000_000, 40000);
  await until(() => sockets.arrivals.length > 0, 1000);
  assert.equal(sockets.arrivals.length, 1);
  await new Promise((resolve) => setTimeout(resolve, 30));
  const stoppedAt = performance.now();
  stop.abort();
  await sending;
  const tookMs = performance.now() - stoppedAt;
  assert.ok(tookMs < 20, `returned ${tookMs.toFixed(1)} ms after stop`);
  assert.equal(sockets.arrivals.length, 1);
});

Deno.test("runUdpSender() paces from `startMs`, the stream's start at TEST_START", async () => {
  await using sockets = pair();
  const stop = new AbortController();
  // 58400 bit/s in 1460-byte datagrams is 5 a second. A stream whose clock
  // started a second ago is owed 6: one at 0, 0.2, ..., 0.8 s, and one once
  // the average drops below the target, just after 1 s.
  const sending = send(
    sockets,
    stop.signal,
    58400,
    1460,
    performance.now() - 1000.5,
  );
  await until(() => sockets.arrivals.length >= 6, 100);
  await new Promise((resolve) => setTimeout(resolve, 20));
  stop.abort();
  await sending;
  assert.equal(sockets.arrivals.length, 6);
});

Deno.test("runUdpSender() sends a slow stream's datagrams when they are due, not a timer's slack later", async () => {
  await using sockets = pair();
  const stop = new AbortController();
  const startMs = performance.now();
  // 1460-byte datagrams at 233600 bit/s: one every 50 ms.
  const sending = send(sockets, stop.signal, 233600, 1460, startMs);
  await until(() => sockets.arrivals.length >= 11, 1000);
  stop.abort();
  await sending;
  const late = sockets.arrivals.slice(1, 11).map((at, i) =>
    at - (startMs + (i + 1) * 50)
  ).sort((a, b) => a - b);
  // Timers fire a millisecond or so late; the datagram must not.
  const median = late[5] ?? Infinity;
  assert.ok(
    median < 0.25,
    `median lateness ${median.toFixed(2)} ms (${
      late.map((x) => x.toFixed(2)).join(" ")
    })`,
  );
  assert.ok((late[0] ?? -Infinity) >= -0.01, "a datagram went out early");
});
