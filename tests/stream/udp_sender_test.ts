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
  // The next datagram is ~290 ms away: a sender that sleeps through the
  // stop returns that late. 50 ms leaves room for a loaded machine's timers.
  assert.ok(tookMs < 50, `returned ${tookMs.toFixed(1)} ms after stop`);
  assert.equal(sockets.arrivals.length, 1);
});

Deno.test("runUdpSender() paces from `startMs`, the stream's start at TEST_START", async () => {
  await using sockets = pair();
  const stop = new AbortController();
  // 58400 bit/s in 1460-byte datagrams is 5 a second. A stream whose clock
  // started a second ago is owed 6: one at 0, 0.2, ..., 0.8 s, and one once
  // the average drops below the target, just after 1 s.
  const startMs = performance.now() - 1000.5;
  const sending = send(sockets, stop.signal, 58400, 1460, startMs);
  await until(() => sockets.arrivals.length >= 6, 500);
  await new Promise((resolve) => setTimeout(resolve, 20));
  stop.abort();
  await sending;
  // The 7th is due at 1.2 s. Counted by the send time in their headers, not
  // by when the stop came, so a stalled event loop that stops the sender
  // late (and lets the 7th go out on time) cannot fail the case; too many
  // at once, or too few, still does.
  const owed = sockets.arrivals.filter((at) => at < startMs + 1100);
  assert.equal(
    owed.length,
    6,
    `sent at ${
      sockets.arrivals.map((at) => (at - startMs).toFixed(1)).join(" ")
    } ms`,
  );
});

/** Datagrams left out of a lateness measurement while the sender learns its timers' lateness. */
const SETTLING = 5;

/** Datagrams measured once it has. */
const MEASURED = 20;

/** Measurements of a slow stream's lateness, at most, until one is on time. */
const LATENESS_ATTEMPTS = 3;

/**
 * How late, in ms, a slow stream's datagrams go out: one measurement of
 * {@linkcode MEASURED} datagrams after {@linkcode SETTLING}, sorted.
 */
async function measureLateness(): Promise<number[]> {
  await using sockets = pair();
  const stop = new AbortController();
  const startMs = performance.now();
  // 1460-byte datagrams at 233600 bit/s: one every 50 ms.
  const sending = send(sockets, stop.signal, 233600, 1460, startMs);
  const last = SETTLING + MEASURED;
  await until(() => sockets.arrivals.length > last, 5000);
  stop.abort();
  await sending;
  assert.ok(sockets.arrivals.length > last, `${sockets.arrivals.length} sent`);
  return sockets.arrivals.slice(SETTLING + 1, last + 1).map((at, i) =>
    at - (startMs + (SETTLING + 1 + i) * 50)
  ).sort((a, b) => a - b);
}

Deno.test("runUdpSender() sends a slow stream's datagrams when they are due, not a timer's slack later", async () => {
  // Timers fire a millisecond or so late (a plain setTimeout pacer's
  // datagrams are 1-2 ms late); the datagram must not be. The sender aims
  // its timers early by their recent lateness, so the first datagrams,
  // sent while it learns that, are left out. A busy machine can still
  // delay a whole measurement: every one is checked in full, and the case
  // passes once one's median is on time, after at most LATENESS_ATTEMPTS.
  const medians: string[] = [];
  let onTime = false;
  while (!onTime && medians.length < LATENESS_ATTEMPTS) {
    const late = await measureLateness();
    assert.ok((late[0] ?? -Infinity) >= -0.01, "a datagram went out early");
    const median = late[MEASURED / 2] ?? Infinity;
    medians.push(
      `${median.toFixed(2)} ms (${late.map((x) => x.toFixed(2)).join(" ")})`,
    );
    onTime = median < 0.25;
  }
  assert.ok(onTime, `median lateness ${medians.join("; ")}`);
});
