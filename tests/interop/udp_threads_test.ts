/**
 * UDP on the data-plane threads against the real iperf3 3.12, both ways and
 * on both planes (the threads, and `--data-threads 0`): what one side
 * received is what the other was told in the results exchange (bytes,
 * datagrams, loss), whoever counted it. `--gsro` against 3.12: its keys are
 * ignored there and our GSO sends arrive as plain datagrams.
 *
 * @module
 */

import assert from "node:assert/strict";
import { threadedStreamCount } from "../../lib/dataplane/thread_pool.ts";
import { nativeSockets } from "../../lib/net/native.ts";
import type { TestSummary } from "../../lib/stats/summary.ts";
import { withinAttempts } from "../_support/retry.ts";
import {
  freePort,
  interopTest,
  Iperf3,
  type Iperf3Json,
  iperf3ServerArgs,
  LOOPBACK,
  parseIperf3Json,
  runIperf3Client,
  runOurClient,
  withOurServer,
} from "./_iperf3.ts";

const LENGTH = 1460;

/**
 * Runs of a case, at most, until its loss is within {@linkcode tooLossy}'s
 * bound: a loaded machine can make a loopback receiver drop datagrams by
 * chance. What both sides counted must agree on every run.
 */
const LOSS_ATTEMPTS = 3;

/** What is off the bound, or `undefined` when at most 2 % of `packets` was lost. */
function tooLossy(
  what: string,
  lost: number,
  packets: number,
): string | undefined {
  return lost <= packets * 0.02
    ? undefined
    : `${what}: lost ${lost} of ${packets}`;
}

const CASES: [string, string[]][] = [
  ["-u", ["-u", "-b", "50M", "-t", "1"]],
  ["-u -R", ["-u", "-b", "50M", "-t", "1", "-R"]],
  ["-u -P 2", ["-u", "-b", "20M", "-t", "1", "-P", "2"]],
  ["-u --bidir", ["-u", "-b", "20M", "-t", "1", "--bidir"]],
  ["-u --udp-counters-64bit", [
    "-u",
    "-b",
    "20M",
    "-t",
    "1",
    "--udp-counters-64bit",
  ]],
];

const PLANES: [string, number | undefined][] = [
  ["threads", undefined],
  ["--data-threads 0", 0],
];

type Sum = Record<string, number>;

function sum(doc: Iperf3Json, key: string): Sum {
  const end = doc.end as unknown as Record<string, Sum | undefined>;
  const found = end[key];
  assert.ok(found, `iperf3's end.${key}`);
  return found;
}

/** Our streams of one direction, summed. */
function ours(summary: TestSummary, sender: boolean) {
  const group = summary.streams.filter((s) => s.sender === sender);
  const total = (f: (s: (typeof group)[number]) => number) =>
    group.reduce((n, s) => n + f(s), 0);
  return {
    streams: group.length,
    bytesSent: total((s) => s.bytesSent),
    bytesReceived: total((s) => s.bytesReceived),
    receiverPackets: total((s) => s.udp?.receiverPackets ?? 0),
    senderPackets: total((s) => s.udp?.senderPackets ?? 0),
    lost: total((s) => s.udp?.lost ?? 0),
  };
}

/**
 * Both sides saw the same datagrams of one direction.
 *
 * @returns the loss, if over its bound (see {@linkcode tooLossy})
 */
function sameDirection(
  receiver: { bytes: number; packets: number; lost: number },
  told: { bytes: number; packets: number; lost: number },
  what: string,
): string | undefined {
  assert.deepEqual(told, receiver, what);
  // Loopback: whatever is not lost arrived once.
  assert.equal(
    receiver.bytes,
    (receiver.packets - receiver.lost) * LENGTH,
    `${what}: bytes against datagrams`,
  );
  assert.ok(receiver.packets > 0, `${what}: datagrams arrived`);
  return tooLossy(what, receiver.lost, receiver.packets);
}

const threadsAvailable = nativeSockets() !== undefined;

for (const [plane, dataThreads] of PLANES) {
  const planeFlags = dataThreads === 0 ? ["--data-threads", "0"] : [];

  interopTest(
    `our UDP client on ${plane} against iperf3 -s: both sides count alike`,
    async (t) => {
      for (const [name, flags] of CASES) {
        await t.step(name, () =>
          withinAttempts(LOSS_ATTEMPTS, async () => {
            const port = freePort();
            await using server = new Iperf3(iperf3ServerArgs(port));
            const before = threadedStreamCount();
            const run = await runOurClient([
              "-c",
              LOOPBACK,
              "-p",
              String(port),
              "-l",
              String(LENGTH),
              ...flags,
              ...planeFlags,
            ], server);
            const theirs = parseIperf3Json(await server.wait());
            assert.equal(
              threadedStreamCount() - before,
              dataThreads === 0 ? 0 : run.summary.streams.length,
              "our streams on the threads",
            );
            const sending = ours(run.summary, true);
            const receiving = ours(run.summary, false);
            let loss: string | undefined;
            if (sending.streams > 0) {
              // iperf3 received; its figures came to us in the exchange.
              const got = sum(theirs, "sum_received");
              loss = sameDirection(
                {
                  bytes: got["bytes"] ?? -1,
                  packets: got["packets"] ?? -1,
                  lost: got["lost_packets"] ?? -1,
                },
                {
                  bytes: sending.bytesReceived,
                  packets: sending.receiverPackets,
                  lost: sending.lost,
                },
                "client to server",
              );
            }
            if (receiving.streams > 0) {
              // We received what iperf3 says it sent (its count came to us).
              const sent = sum(
                theirs,
                flags.includes("--bidir")
                  ? "sum_sent_bidir_reverse"
                  : "sum_sent",
              );
              assert.equal(receiving.bytesSent, sent["bytes"]);
              assert.equal(
                receiving.bytesReceived,
                (receiving.receiverPackets - receiving.lost) * LENGTH,
              );
              assert.ok(receiving.receiverPackets > 0);
              assert.ok(
                receiving.receiverPackets <= receiving.senderPackets,
                "no more than was sent",
              );
            }
            return loss;
          }));
      }
    },
    { ignore: dataThreads === undefined && !threadsAvailable },
  );

  interopTest(
    `iperf3 -c -u against our server on ${plane}: both sides count alike`,
    async (t) => {
      await withOurServer(async (server) => {
        let tests = 0;
        for (const [name, flags] of CASES) {
          await t.step(name, () =>
            withinAttempts(LOSS_ATTEMPTS, async () => {
              const before = threadedStreamCount();
              const theirs = await runIperf3Client(server.port, [
                "-l",
                String(LENGTH),
                ...flags,
              ]);
              tests++;
              await server.listeningFor(tests + 1);
              assert.deepEqual(server.errors.map(String), []);
              const summary = server.summaries[tests - 1] as TestSummary;
              assert.equal(
                threadedStreamCount() - before,
                dataThreads === 0 ? 0 : summary.streams.length,
                "our streams on the threads",
              );
              const receiving = ours(summary, false);
              const sending = ours(summary, true);
              const losses: (string | undefined)[] = [];
              if (receiving.streams > 0) {
                // We received; iperf3 printed our figures from the exchange.
                const told = sum(theirs, "sum_received");
                losses.push(sameDirection(
                  {
                    bytes: receiving.bytesReceived,
                    packets: receiving.receiverPackets,
                    lost: receiving.lost,
                  },
                  {
                    bytes: told["bytes"] ?? -1,
                    packets: told["packets"] ?? -1,
                    lost: told["lost_packets"] ?? -1,
                  },
                  "client to server",
                ));
              }
              if (sending.streams > 0) {
                const bidir = flags.includes("--bidir");
                const sent = sum(
                  theirs,
                  bidir ? "sum_sent_bidir_reverse" : "sum_sent",
                );
                assert.equal(sent["bytes"], sending.bytesSent);
                const got = sum(
                  theirs,
                  bidir ? "sum_received_bidir_reverse" : "sum_received",
                );
                const packets = got["packets"] ?? 0;
                const lost = got["lost_packets"] ?? 0;
                assert.equal(got["bytes"], (packets - lost) * LENGTH);
                assert.ok(packets > 0, "server to client: datagrams arrived");
                losses.push(tooLossy("server to client", lost, packets));
              }
              return losses.filter((l) => l !== undefined).join("; ") ||
                undefined;
            }));
        }
      }, dataThreads === undefined ? {} : { dataThreads });
    },
    { ignore: dataThreads === undefined && !threadsAvailable },
  );
}

interopTest(
  "our client --gsro against iperf3 3.12 -s: the keys are ignored, the datagrams counted alike",
  async (t) => {
    for (const flags of [[], ["-R"]]) {
      await t.step(
        ["--gsro", ...flags].join(" "),
        () =>
          withinAttempts(LOSS_ATTEMPTS, async () => {
            const port = freePort();
            await using server = new Iperf3(iperf3ServerArgs(port));
            const run = await runOurClient([
              "-c",
              LOOPBACK,
              "-p",
              String(port),
              "-u",
              "-b",
              "200M",
              "-t",
              "1",
              "-l",
              String(LENGTH),
              "--gsro",
              ...flags,
            ], server);
            const theirs = parseIperf3Json(await server.wait());
            const start = theirs.start as unknown as {
              "test_start": Record<string, unknown>;
            };
            // 3.12 neither knows nor reports GSO.
            assert.equal(start["test_start"]["gso"], undefined);
            if (flags.includes("-R")) {
              const receiving = ours(run.summary, false);
              assert.equal(
                receiving.bytesSent,
                sum(theirs, "sum_sent")["bytes"],
              );
              assert.equal(
                receiving.bytesReceived,
                (receiving.receiverPackets - receiving.lost) * LENGTH,
              );
              return undefined;
            } else {
              const sending = ours(run.summary, true);
              const got = sum(theirs, "sum_received");
              const loss = sameDirection(
                {
                  bytes: got["bytes"] ?? -1,
                  packets: got["packets"] ?? -1,
                  lost: got["lost_packets"] ?? -1,
                },
                {
                  bytes: sending.bytesReceived,
                  packets: sending.receiverPackets,
                  lost: sending.lost,
                },
                "client to server",
              );
              // What we sent as GSO buffers arrived as datagrams, each numbered
              // once: iperf3 counts up to the highest sequence number it saw,
              // never above what we sent, and the datagrams that arrived
              // ((packets - lost), checked against the bytes above) are all we
              // sent but a loss within the bound. Lost ones at the very end are
              // not counted by iperf3, so they are part of that bound too.
              const packets = got["packets"] ?? -1;
              const lost = got["lost_packets"] ?? -1;
              assert.ok(
                packets <= sending.senderPackets,
                `iperf3 counted ${packets} of ${sending.senderPackets} sent`,
              );
              return loss ??
                tooLossy(
                  "client to server, to the last sent",
                  sending.senderPackets - (packets - lost),
                  sending.senderPackets,
                );
            }
          }),
      );
    }
  },
  { ignore: !threadsAvailable },
);
