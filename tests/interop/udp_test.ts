/**
 * UDP against the real iperf3 3.12, both directions: the paced rate, and
 * that both sides report the same datagram counts, loss and jitter (those
 * figures travel in the results exchange, so they must match exactly).
 *
 * @module
 */

import assert from "node:assert/strict";
import type { TestSummary } from "../../lib/stats/summary.ts";
import { withinAttempts } from "../_support/retry.ts";
import {
  freePort,
  interopTest,
  Iperf3,
  iperf3ServerArgs,
  LOOPBACK,
  runIperf3Client,
  runOurClient,
  withOurServer,
} from "./_iperf3.ts";

type Doc = { end: Record<string, Record<string, number>> };

function udpTotals(summary: TestSummary, sender: boolean) {
  const group = summary.streams.filter((s) => s.sender === sender);
  return {
    bytesSent: group.reduce((n, s) => n + s.bytesSent, 0),
    bytesReceived: group.reduce((n, s) => n + s.bytesReceived, 0),
    receiverPackets: group.reduce(
      (n, s) => n + (s.udp?.receiverPackets ?? 0),
      0,
    ),
    senderPackets: group.reduce((n, s) => n + (s.udp?.senderPackets ?? 0), 0),
    lost: group.reduce((n, s) => n + (s.udp?.lost ?? 0), 0),
  };
}

/** What is off its bound, or `undefined` when `actual` is within `fraction` of `target`. */
function offTarget(
  actual: number,
  target: number,
  fraction: number,
  what: string,
): string | undefined {
  return Math.abs(actual - target) <= target * fraction
    ? undefined
    : `${what}: ${actual} is not within ${fraction * 100}% of ${target}`;
}

/** What is off its bound, or `undefined` when at most 1 % of `packets` was lost. */
function tooLossy(lost: number, packets: number): string | undefined {
  return lost <= packets * 0.01 ? undefined : `lost ${lost} of ${packets}`;
}

/** The figures that missed their bounds, if any. */
function missed(misses: (string | undefined)[]): string | undefined {
  return misses.filter((miss) => miss !== undefined).join("; ") || undefined;
}

/**
 * Runs of a case, at most, until its rate and loss are within bounds: on a
 * loaded machine a run can lose datagrams, or pace slower, by chance. The
 * counts and jitter, which must match exactly, are checked on every run.
 */
const FIGURE_ATTEMPTS = 3;

const CASES: [string, string[]][] = [
  ["-b 100M -t 2", ["-u", "-b", "100M", "-t", "2"]],
  ["-R -b 100M -t 2", ["-u", "-b", "100M", "-t", "2", "-R"]],
  ["-P 2 -b 20M", ["-u", "-b", "20M", "-t", "1", "-P", "2"]],
  ["--udp-counters-64bit", [
    "-u",
    "-b",
    "20M",
    "-t",
    "1",
    "--udp-counters-64bit",
  ]],
  ["-l 1200", ["-u", "-b", "20M", "-t", "1", "-l", "1200"]],
];

function targetRate(flags: string[]): number {
  const b = flags[flags.indexOf("-b") + 1] ?? "1M";
  return Number.parseInt(b) * 1e6;
}

interopTest(
  "our UDP client against iperf3 -s: rate, counts, loss and jitter agree",
  async (t) => {
    for (const [name, flags] of CASES) {
      await t.step(name, () =>
        withinAttempts(FIGURE_ATTEMPTS, async () => {
          const port = freePort();
          await using server = new Iperf3(iperf3ServerArgs(port));
          const ours = await runOurClient([
            "-c",
            LOOPBACK,
            "-p",
            String(port),
            ...flags,
          ], server);
          const theirs = JSON.parse((await server.wait()).stdout) as Doc;
          const reverse = flags.includes("-R");
          const local = udpTotals(ours.summary, !reverse);
          // The receiver's figures, as it printed them and as we received them.
          const received = theirs.end["sum_received"] ?? {};
          if (!reverse) {
            assert.equal(local.bytesReceived, received["bytes"]);
            assert.equal(local.receiverPackets, received["packets"]);
            assert.equal(local.lost, received["lost_packets"]);
            const jitter = ours.summary.streams.reduce((n, s) =>
              n + (s.udp?.jitter ?? 0), 0) /
              ours.summary.streams.length;
            assert.ok(
              Math.abs(jitter * 1000 - (received["jitter_ms"] ?? NaN)) < 1e-9,
            );
          } else {
            // iperf3 sent: its count reached us in the exchange.
            assert.equal(local.bytesSent, theirs.end["sum_sent"]?.["bytes"]);
          }
          const sent = reverse ? theirs.end["sum_sent"] : {
            "bits_per_second": local.bytesSent * 8 / ours.summary.senderTime,
          };
          const parallel = flags.includes("-P") ? 2 : 1;
          // No loss expected on loopback at these rates; what loss there is must be seen alike.
          return missed([
            offTarget(
              sent?.["bits_per_second"] ?? 0,
              targetRate(flags) * parallel,
              0.05,
              "sender rate",
            ),
            tooLossy(local.lost, local.receiverPackets),
          ]);
        }));
    }
  },
);

interopTest(
  "iperf3 -c -u against our server: rate, counts, loss and jitter agree",
  async (t) => {
    for (const [name, flags] of CASES) {
      await t.step(name, () =>
        withinAttempts(FIGURE_ATTEMPTS, async () => {
          let miss: string | undefined;
          await withOurServer(async (server) => {
            const theirs = await runIperf3Client(server.port, [
              "-J",
              ...flags,
            ]) as unknown as Doc;
            await server.listeningFor(2);
            const reverse = flags.includes("-R");
            const summary = server.summaries[0] as TestSummary;
            const local = udpTotals(summary, reverse);
            const received = theirs.end["sum_received"] ?? {};
            if (!reverse) {
              // We received: our counts reached iperf3 in the exchange.
              assert.equal(received["bytes"], local.bytesReceived);
              assert.equal(received["packets"], local.receiverPackets);
              assert.equal(received["lost_packets"], local.lost);
            } else {
              // We sent: the paced rate as iperf3's receiver measured it.
              assert.equal(theirs.end["sum_sent"]?.["bytes"], local.bytesSent);
              const parallel = flags.includes("-P") ? 2 : 1;
              miss = missed([
                offTarget(
                  received["bits_per_second"] ?? 0,
                  targetRate(flags) * parallel,
                  0.05,
                  "received rate",
                ),
                tooLossy(
                  received["lost_packets"] ?? 0,
                  received["packets"] ?? 0,
                ),
              ]);
            }
          });
          return miss;
        }));
    }
  },
);
