/**
 * The real `iperf3 -c ... -J` against our server (`serve()`, in-process) on
 * loopback.
 *
 * What can be compared exactly: our server's summary holds what it counted
 * itself; those counts travel to the iperf3 client in the results exchange,
 * so they must reappear byte for byte in the client's `-J` document. Like
 * iperf3's, our server builds its summary before the exchange, so it does
 * not know the client's own counts; those are only checked for plausibility
 * against the other side within the iperf3 document.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { TestSummary } from "../../lib/stats/summary.ts";
import { nativeSockets } from "../../lib/net/native.ts";
import { threadedStreamCount } from "../../lib/dataplane/thread_pool.ts";
import {
  assertPlausible,
  endStreams,
  endSum,
  interopTest,
  type Iperf3Json,
  runIperf3Client,
  TCP_BLOCK,
  totals,
  withOurServer,
} from "./_iperf3.ts";

interface Pair {
  /** Our server's summary of the test. */
  summary: TestSummary;
  /** The iperf3 client's `-J` document. */
  theirs: Iperf3Json;
}

/** Runs one iperf3 client with `flags` against a fresh server of ours. */
async function iperf3VsOurServer(
  flags: string[],
  options: { dataThreads?: number } = {},
): Promise<Pair> {
  let pair: Pair | undefined;
  await withOurServer(async (server) => {
    const theirs = await runIperf3Client(server.port, flags);
    // Listening for test #2 means test #1 has completely finished.
    await server.listeningFor(2);
    assert.deepEqual(server.errors, []);
    assert.equal(server.summaries.length, 1);
    pair = { summary: server.summaries[0] as TestSummary, theirs };
  }, options);
  assert.ok(pair);
  return pair;
}

/**
 * Normal mode (iperf3 sends): our receive counts reach the iperf3 client in
 * our results, so they must match exactly, in total and per stream.
 */
function checkNormal(
  { summary, theirs }: Pair,
  minShare: number,
): void {
  const ours = totals(summary.streams);
  // iperf3 client's end.sum_received == what our server received.
  assert.equal(endSum(theirs, "sum_received").bytes, ours.received);
  // As with iperf3, our server's summary comes before the exchange, so it
  // does not know what the client sent.
  assert.equal(ours.sent, 0);
  const streams = endStreams(theirs);
  assert.equal(streams.length, summary.streams.length);
  summary.streams.forEach((s, i) => {
    assert.ok(!s.sender, `our server receives on stream ${s.id}`);
    assert.equal(streams[i]?.receiver.bytes, s.bytesReceived);
  });
  const t = {
    sent: endSum(theirs, "sum_sent").bytes,
    received: endSum(theirs, "sum_received").bytes,
  };
  assertPlausible("client -> server", t, minShare);
}

/**
 * Reverse mode (our server sends): our send counts reach the iperf3 client
 * in our results, so they must match exactly.
 */
function checkReverse({ summary, theirs }: Pair, minShare: number): void {
  const ours = totals(summary.streams);
  // iperf3 client's end.sum_sent == what our server sent.
  assert.equal(endSum(theirs, "sum_sent").bytes, ours.sent);
  assert.equal(ours.received, 0);
  const streams = endStreams(theirs);
  assert.equal(streams.length, summary.streams.length);
  summary.streams.forEach((s, i) => {
    assert.ok(s.sender, `our server sends on stream ${s.id}`);
    assert.equal(streams[i]?.sender.bytes, s.bytesSent);
  });
  const t = {
    sent: endSum(theirs, "sum_sent").bytes,
    received: endSum(theirs, "sum_received").bytes,
  };
  assertPlausible("server -> client", t, minShare);
}

/** The two data planes: the threads (where libc is there) and the in-process loops. */
const PLANES = [
  { name: "threads", dataThreads: undefined },
  { name: "in-process loops", dataThreads: 0 },
];

/** Runs an iperf3 client against our server on `plane`; checks which plane moved the bytes. */
async function onPlane(
  plane: (typeof PLANES)[number],
  flags: string[],
): Promise<Pair> {
  const before = threadedStreamCount();
  const pair = await iperf3VsOurServer(
    flags,
    plane.dataThreads === undefined ? {} : { dataThreads: plane.dataThreads },
  );
  const moved = threadedStreamCount() - before;
  if (plane.dataThreads === 0 || !nativeSockets()) assert.equal(moved, 0);
  else assert.equal(moved, pair.summary.streams.length);
  return pair;
}

for (const plane of PLANES) {
  interopTest(
    `serve() with iperf3 -c: default TCP test (${plane.name})`,
    async () => {
      checkNormal(await onPlane(plane, ["-t", "1"]), 0.9);
    },
  );

  interopTest(`serve() with iperf3 -c: -R (${plane.name})`, async () => {
    checkReverse(await onPlane(plane, ["-t", "1", "-R"]), 0.8);
  });

  interopTest(`serve() with iperf3 -c: -P 4 (${plane.name})`, async () => {
    const pair = await onPlane(plane, ["-t", "1", "-P", "4"]);
    assert.deepEqual(pair.summary.streams.map((s) => s.id), [1, 3, 4, 5]);
    checkNormal(pair, 0.9);
  });

  interopTest(`serve() with iperf3 -c: --bidir (${plane.name})`, async () => {
    const { summary, theirs } = await onPlane(plane, ["-t", "1", "--bidir"]);
    // Our server lists the streams it receives on (client -> server) and the
    // ones it sends on (server -> client).
    const receiving = totals(summary.streams.filter((s) => !s.sender));
    const sending = totals(summary.streams.filter((s) => s.sender));
    assert.equal(summary.streams.length, 2);
    // sum_* is client -> server on both sides: our receive count.
    assert.equal(endSum(theirs, "sum_received").bytes, receiving.received);
    // *_bidir_reverse is server -> client: our send count.
    assert.equal(endSum(theirs, "sum_sent_bidir_reverse").bytes, sending.sent);
    const fwd = {
      sent: endSum(theirs, "sum_sent").bytes,
      received: endSum(theirs, "sum_received").bytes,
    };
    const bwd = {
      sent: endSum(theirs, "sum_sent_bidir_reverse").bytes,
      received: endSum(theirs, "sum_received_bidir_reverse").bytes,
    };
    assertPlausible("client -> server", fwd, 0.8);
    assertPlausible("server -> client", bwd, 0.8);
  });
}

interopTest("serve() with iperf3 -c: -n 200M", async () => {
  const n = 200 * 1024 * 1024;
  const pair = await iperf3VsOurServer(["-n", "200M"]);
  const sent = endSum(pair.theirs, "sum_sent").bytes;
  // iperf3 stops once N bytes are sent, overshooting by less than a block.
  assert.ok(sent >= n && sent < n + TCP_BLOCK, `iperf3 sent ${sent}`);
  checkNormal(pair, 0.8);
});

interopTest("serve() with iperf3 -c: -k 500", async () => {
  const pair = await iperf3VsOurServer(["-k", "500"]);
  // The iperf3 client counts whole blocks as a sender.
  assert.equal(endSum(pair.theirs, "sum_sent").bytes, 500 * TCP_BLOCK);
  checkNormal(pair, 0.5);
});

interopTest(
  "serve() with iperf3 -c: several tests in a row against one server",
  async (t) => {
    await withOurServer(async (server) => {
      const cases = [
        { flags: ["-n", "100M"], reverse: false },
        { flags: ["-R", "-n", "100M"], reverse: true },
        { flags: ["-P", "2", "-k", "200"], reverse: false },
      ];
      for (const [i, c] of cases.entries()) {
        await t.step(
          `test #${i + 1}: iperf3 -c ${c.flags.join(" ")}`,
          async () => {
            const theirs = await runIperf3Client(server.port, c.flags);
            await server.listeningFor(i + 2);
            assert.deepEqual(server.errors, []);
            assert.equal(server.summaries.length, i + 1);
            const pair = {
              summary: server.summaries[i] as TestSummary,
              theirs,
            };
            if (c.reverse) checkReverse(pair, 0.5);
            else checkNormal(pair, 0.5);
          },
        );
      }
    });
  },
);

interopTest(
  "serve() with iperf3 -c -R -C reno -w 64K -S 16: our server sends with those options and reports its retransmits",
  async () => {
    const { summary, theirs } = await iperf3VsOurServer([
      "-t",
      "1",
      "-R",
      "-C",
      "reno",
      "-w",
      "64K",
      "-S",
      "16",
    ]);
    checkReverse({ summary, theirs }, 0.5);
    const doc = theirs as unknown as {
      end: Record<string, unknown> & { "sum_sent": { retransmits?: number } };
    };
    // iperf3 names our algorithm (from our results) as the sender's.
    assert.equal(doc.end["sender_tcp_congestion"], "reno");
    assert.equal(summary.localCongestion, "reno");
    // Our results said sender_has_retransmits 1: iperf3 prints our count.
    assert.equal(summary.senderHasRetransmits, 1);
    assert.equal(
      doc.end.sum_sent.retransmits,
      summary.streams.reduce((n, s) => n + s.retransmits, 0),
    );
    assert.ok((summary.streams[0]?.tcp?.maxSndCwnd ?? 0) > 0);
  },
  // Needs libc (Linux, --allow-ffi); native_test.ts prints why when not.
  { ignore: nativeSockets() === undefined },
);
