/**
 * Our client (in-process) against the real `iperf3 -s -1 -J` on loopback.
 *
 * What can be compared exactly: the numbers one side reports about itself
 * travel to the other side in the results exchange (state
 * EXCHANGE_RESULTS), so whatever the iperf3 server counted locally must
 * reappear, byte for byte, in our client's merged summary. The iperf3
 * server prints its document *before* the exchange, so it never knows the
 * client's own counts (its `sum_sent.bytes` is 0 in normal mode and its
 * `sum_received.bytes` is 0 with `-R`); those are only checked for
 * plausibility against the other side.
 *
 * @module
 */

import assert from "node:assert/strict";
import { threadedStreamCount } from "../../lib/dataplane/thread_pool.ts";
import { nativeSockets } from "../../lib/net/native.ts";
import {
  assertPlausible,
  endStreams,
  endSum,
  freePort,
  interopTest,
  Iperf3,
  type Iperf3Json,
  iperf3ServerArgs,
  LOOPBACK,
  type OurClientRun,
  parseIperf3Json,
  runOurClient,
  TCP_BLOCK,
  totals,
} from "./_iperf3.ts";

interface Pair {
  /** Our client's run. */
  ours: OurClientRun;
  /** The iperf3 server's `-J` document. */
  theirs: Iperf3Json;
}

/** Runs one test: iperf3 server first, then our client with `flags`. */
async function ourClientVsIperf3(flags: string[]): Promise<Pair> {
  const port = freePort();
  await using server = new Iperf3(iperf3ServerArgs(port));
  const ours = await runOurClientAgainst(server, port, flags);
  const result = await server.wait();
  assert.equal(
    result.code,
    0,
    `iperf3 server exit code\nstdout: ${result.stdout}\nstderr: ${result.stderr}`,
  );
  const theirs = parseIperf3Json(result);
  // What `runCli` would have printed ends the way iperf3's client output does.
  assert.deepEqual(ours.lines.slice(-2), ["", "iperf Done."]);
  return { ours, theirs };
}

function runOurClientAgainst(
  server: Iperf3,
  port: number,
  flags: string[],
): Promise<OurClientRun> {
  return runOurClient(["-c", LOOPBACK, "-p", String(port), ...flags], server);
}

/**
 * Normal mode (our client sends): iperf3's received counts come back to us
 * in its results, so they must match exactly, in total and per stream.
 */
function checkNormal(pair: Pair, minShare: number): void {
  const { ours, theirs } = pair;
  const t = totals(ours.summary.streams);
  // iperf3's own receive count == what our summary says the receiver got
  // (that number reached us in the server's results JSON).
  assert.equal(endSum(theirs, "sum_received").bytes, t.received);
  // The server builds its document before the exchange: it never knows
  // what the client sent.
  assert.equal(endSum(theirs, "sum_sent").bytes, 0);
  const streams = endStreams(theirs);
  assert.equal(streams.length, ours.summary.streams.length);
  ours.summary.streams.forEach((s, i) => {
    assert.ok(s.sender, `stream ${s.id} is one we send on`);
    assert.equal(streams[i]?.receiver.bytes, s.bytesReceived);
  });
  assertPlausible("client -> server", t, minShare);
}

/**
 * Reverse mode (iperf3 sends): iperf3's sent counts come back to us in its
 * results, so they must match exactly.
 */
function checkReverse(pair: Pair, minShare: number): void {
  const { ours, theirs } = pair;
  const t = totals(ours.summary.streams);
  // iperf3's own send count == what our summary says the sender sent.
  assert.equal(endSum(theirs, "sum_sent").bytes, t.sent);
  // Before the exchange the iperf3 server does not know what we received.
  assert.equal(endSum(theirs, "sum_received").bytes, 0);
  const streams = endStreams(theirs);
  assert.equal(streams.length, ours.summary.streams.length);
  ours.summary.streams.forEach((s, i) => {
    assert.ok(!s.sender, `stream ${s.id} is one we receive on`);
    assert.equal(streams[i]?.sender.bytes, s.bytesSent);
  });
  // A sender overshoots a little (data in flight when TEST_END arrives).
  assertPlausible("server -> client", t, minShare);
}

function checkTestStart(
  theirs: Iperf3Json,
  expected: Record<string, number>,
): void {
  const start = theirs.start.test_start;
  assert.ok(start, "iperf3 -J document has no start.test_start");
  assert.equal(start.protocol, "TCP");
  for (const [key, value] of Object.entries(expected)) {
    assert.equal(
      (start as unknown as Record<string, number>)[key],
      value,
      `start.test_start.${key}`,
    );
  }
}

/** The two data planes: the threads (where libc is there) and the in-process loops. */
const PLANES = [
  { name: "threads", flags: [] as string[] },
  { name: "in-process loops", flags: ["--data-threads", "0"] },
];

/** Runs our client on `plane` and checks which plane moved its bytes. */
async function onPlane(
  plane: (typeof PLANES)[number],
  flags: string[],
): Promise<Pair> {
  const before = threadedStreamCount();
  const pair = await ourClientVsIperf3([...flags, ...plane.flags]);
  const moved = threadedStreamCount() - before;
  if (plane.flags.length > 0 || !nativeSockets()) assert.equal(moved, 0);
  else assert.equal(moved, pair.ours.summary.streams.length);
  return pair;
}

for (const plane of PLANES) {
  interopTest(
    `runClientSession() against iperf3 -s: default TCP test (${plane.name})`,
    async () => {
      const pair = await onPlane(plane, ["-t", "1"]);
      checkTestStart(pair.theirs, {
        num_streams: 1,
        duration: 1,
        reverse: 0,
        blksize: TCP_BLOCK,
      });
      checkNormal(pair, 0.9);
    },
  );

  interopTest(
    `runClientSession() against iperf3 -s: -R (${plane.name})`,
    async () => {
      const pair = await onPlane(plane, ["-t", "1", "-R"]);
      checkTestStart(pair.theirs, { num_streams: 1, duration: 1, reverse: 1 });
      checkReverse(pair, 0.8);
    },
  );

  interopTest(
    `runClientSession() against iperf3 -s: -P 4 (${plane.name})`,
    async () => {
      const pair = await onPlane(plane, ["-t", "1", "-P", "4"]);
      checkTestStart(pair.theirs, { num_streams: 4, duration: 1, reverse: 0 });
      assert.equal(pair.ours.summary.streams.length, 4);
      assert.deepEqual(pair.ours.summary.streams.map((s) => s.id), [
        1,
        3,
        4,
        5,
      ]);
      checkNormal(pair, 0.9);
    },
  );

  interopTest(
    `runClientSession() against iperf3 -s: --bidir (${plane.name})`,
    async () => {
      const { ours, theirs } = await onPlane(plane, ["-t", "1", "--bidir"]);
      // 3.12 has no "bidir" member in test_start; the *_bidir_reverse sums
      // below show that iperf3 ran a bidirectional test.
      checkTestStart(theirs, { num_streams: 1, duration: 1, reverse: 0 });
      const forward = ours.summary.streams.filter((s) => s.sender);
      const backward = ours.summary.streams.filter((s) => !s.sender);
      assert.equal(forward.length, 1);
      assert.equal(backward.length, 1);
      const fwd = totals(forward);
      const bwd = totals(backward);
      // sum_* always names the client -> server direction on both sides: the
      // iperf3 server's receive count came back to us in its results.
      assert.equal(endSum(theirs, "sum_received").bytes, fwd.received);
      assert.equal(endSum(theirs, "sum_sent").bytes, 0);
      // *_bidir_reverse is server -> client: its send count came back to us.
      assert.equal(endSum(theirs, "sum_sent_bidir_reverse").bytes, bwd.sent);
      assert.equal(endSum(theirs, "sum_received_bidir_reverse").bytes, 0);
      assertPlausible("client -> server", fwd, 0.8);
      assertPlausible("server -> client", bwd, 0.8);
    },
  );
}

interopTest("runClientSession() against iperf3 -s: -n 200M", async () => {
  const n = 200 * 1024 * 1024;
  const pair = await ourClientVsIperf3(["-n", "200M"]);
  checkTestStart(pair.theirs, { num_streams: 1, duration: 0, bytes: n });
  const t = totals(pair.ours.summary.streams);
  // The client stops once the total sent reaches N; whole writes, so at
  // most one block per stream too many.
  assert.ok(t.sent >= n, `sent ${t.sent} < ${n}`);
  assert.ok(t.sent < n + 1 * TCP_BLOCK, `sent ${t.sent} >= ${n} + 1 block`);
  // Byte-limited: the test is short, so what is still in flight when
  // TEST_END arrives weighs more than in a timed test.
  checkNormal(pair, 0.8);
});

interopTest("runClientSession() against iperf3 -s: -k 500", async () => {
  const pair = await ourClientVsIperf3(["-k", "500"]);
  checkTestStart(pair.theirs, { num_streams: 1, duration: 0, blocks: 500 });
  const t = totals(pair.ours.summary.streams);
  // A sender counts whole blocks: exactly K blocks of 128 KiB.
  assert.equal(t.sent, 500 * TCP_BLOCK);
  // 62.5 MiB take a few tens of milliseconds on loopback; up to the socket
  // buffers (several MiB) may still be in flight at TEST_END.
  checkNormal(pair, 0.5);
});
