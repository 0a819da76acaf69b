/**
 * UDP on the data-plane threads, our client against our server: every mode
 * moves its datagrams on the threads (and, with `--data-threads 0` on both
 * sides, on the in-process loops), and both sides agree on the datagram
 * counts, loss and jitter. `--gsro` is negotiated and its super-datagrams
 * are counted one datagram at a time.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseCommandLine } from "../../lib/cli/args.ts";
import { threadedStreamCount } from "../../lib/dataplane/thread_pool.ts";
import type { SessionEvent } from "../../lib/events.ts";
import { nativeSockets } from "../../lib/net/native.ts";
import { runClientSession } from "../../lib/session/client.ts";
import type { TestSummary } from "../../lib/stats/summary.ts";
import { waitForEvents, withServer } from "../_support/server.ts";

const THREADS = nativeSockets() !== undefined;

const CASES: [string, string[]][] = [
  ["-u -b 50M -t 1", ["-u", "-b", "50M", "-t", "1", "-l", "1460"]],
  ["-u -R -b 50M -t 1", ["-u", "-R", "-b", "50M", "-t", "1", "-l", "1460"]],
  ["-u -P 2 -b 20M -t 1", [
    "-u",
    "-P",
    "2",
    "-b",
    "20M",
    "-t",
    "1",
    "-l",
    "1460",
  ]],
  ["-u --bidir -b 20M -t 1", [
    "-u",
    "--bidir",
    "-b",
    "20M",
    "-t",
    "1",
    "-l",
    "1460",
  ]],
  ["-u --udp-counters-64bit", [
    "-u",
    "--udp-counters-64bit",
    "-b",
    "20M",
    "-t",
    "1",
    "-l",
    "1200",
  ]],
  ["-u -R -P 2 -n 2M", [
    "-u",
    "-R",
    "-P",
    "2",
    "-n",
    "2M",
    "-b",
    "50M",
    "-l",
    "1460",
  ]],
  ["-u -k 500", ["-u", "-k", "500", "-b", "50M", "-l", "1000"]],
  ["-u --bidir -n 1M", [
    "-u",
    "--bidir",
    "-n",
    "1M",
    "-b",
    "50M",
    "-l",
    "1000",
  ]],
];

function summaries(events: SessionEvent[]): TestSummary[] {
  return events.flatMap((e) => e.kind === "summary" ? [e.summary] : []);
}

/**
 * Runs `args` against the server, then checks what both sides reported:
 * a receiver's figures reached the sender unchanged, a sender's count is
 * at least what arrived, and on loopback every datagram that is not lost
 * arrived once (bytes = (packets - lost) x length).
 */
async function agree(
  server: { port: number; events: SessionEvent[]; errors: unknown[] },
  args: string[],
  testNumber: number,
): Promise<TestSummary> {
  const config = parseCommandLine([
    "-c",
    "127.0.0.1",
    "-p",
    String(server.port),
    ...args,
  ]);
  assert.equal(config.role, "client");
  if (config.role !== "client") throw new Error("unreachable");
  const outcome = await runClientSession(config.client);
  await waitForEvents(server, "summary", testNumber);
  assert.deepEqual(server.errors.map(String), []);
  const theirs = summaries(server.events)[testNumber - 1] as TestSummary;
  const length = config.client.params.length;
  for (const s of outcome.summary.streams) {
    const peer = theirs.streams.find((x) => x.id === s.id);
    assert.ok(s.udp && peer?.udp, `stream ${s.id}: UDP figures`);
    const receiver = s.sender ? peer : s;
    assert.ok(receiver.udp);
    if (s.sender) {
      // The server received: its figures came back in the exchange.
      assert.equal(s.udp.receiverPackets, peer.udp.receiverPackets);
      assert.equal(s.udp.lost, peer.udp.lost);
      assert.equal(s.udp.jitter, peer.udp.jitter);
    } else {
      assert.equal(s.udp.senderPackets, peer.udp.senderPackets);
      assert.equal(s.bytesSent, peer.bytesSent);
    }
    assert.ok(s.udp.receiverPackets > 0, `stream ${s.id} received`);
    assert.ok(s.udp.senderPackets >= s.udp.receiverPackets);
    assert.equal(
      receiver.bytesReceived,
      (receiver.udp.receiverPackets - receiver.udp.lost) * length,
      `stream ${s.id}: bytes against datagrams`,
    );
  }
  return outcome.summary;
}

for (
  const [plane, dataThreads] of [
    ["the threads", undefined],
    ["the in-process loops", 0],
  ] as const
) {
  Deno.test({
    name:
      `runClientSession() UDP on ${plane} against our server: counts, loss and jitter agree`,
    ignore: plane === "the threads" && !THREADS,
    async fn(t) {
      const extra = dataThreads === undefined ? [] : ["--data-threads", "0"];
      await withServer(async (server) => {
        for (const [index, [name, args]] of CASES.entries()) {
          await t.step(name, async () => {
            const before = threadedStreamCount();
            const summary = await agree(server, [...args, ...extra], index + 1);
            const moved = threadedStreamCount() - before;
            // Both sides run here, each with its own pool.
            assert.equal(
              moved,
              dataThreads === 0 ? 0 : 2 * summary.streams.length,
              "streams handed to the threads",
            );
            if (args.includes("-k")) {
              const sent = summary.streams.filter((s) => s.sender);
              assert.ok(sent.every((s) => s.udp?.senderPackets === 500));
            }
            if (args.includes("-R") && args.includes("-n")) {
              const received = summary.streams
                .filter((s) => !s.sender)
                .reduce((n, s) => n + s.bytesReceived, 0);
              assert.ok(received >= 2 << 20, `received ${received}`);
            }
            if (args.includes("--bidir") && args.includes("-n")) {
              // Each direction has the budget on its own, as iperf3's
              // client checks bytes_sent and bytes_received apart.
              const sent = summary.streams
                .filter((s) => s.sender)
                .reduce((n, s) => n + s.bytesSent, 0);
              const received = summary.streams
                .filter((s) => !s.sender)
                .reduce((n, s) => n + s.bytesReceived, 0);
              assert.ok(
                Math.max(sent, received) >= 1 << 20,
                `sent ${sent}, received ${received}`,
              );
            }
          });
        }
      }, dataThreads === undefined ? {} : { dataThreads });
    },
  });
}

Deno.test({
  name:
    "runClientSession() --gsro against our server: negotiated, sent as GSO, counted per datagram",
  ignore: !THREADS,
  async fn(t) {
    await withServer(async (server) => {
      let n = 0;
      for (
        const args of [
          ["-u", "--gsro", "-b", "500M", "-t", "1", "-l", "1400"],
          ["-u", "--gsro", "-R", "-b", "500M", "-t", "1", "-l", "1400"],
          ["-u", "--gsro", "-b", "0", "-t", "1", "-l", "1460"],
        ]
      ) {
        await t.step(args.join(" "), async () => {
          n++;
          await agree(server, args, n);
          const accepted = server.events.filter((e) => e.kind === "accepted");
          const last = accepted[accepted.length - 1];
          assert.ok(last?.kind === "accepted");
          assert.equal(last.params.gso, true);
          assert.equal(last.params.gro, true);
          const length = Number(args[args.indexOf("-l") + 1]);
          assert.equal(
            last.params.gsoBufferSize,
            Math.floor(65507 / length) * length,
          );
        });
      }
    });
  },
});

Deno.test("runClientSession() refuses --gsro with --data-threads 0, before connecting", async () => {
  const config = parseCommandLine([
    "-c",
    "127.0.0.1",
    "-p",
    "9",
    "-u",
    "--gsro",
    "--data-threads",
    "0",
  ]);
  assert.equal(config.role, "client");
  if (config.role !== "client") return;
  await assert.rejects(
    runClientSession(config.client),
    /--gsro needs the data-plane threads \(--data-threads is 0\)/,
  );
});
