/**
 * UDP loss on a real path: a network namespace joined to this one by a veth
 * pair, with nftables dropping 5% of the test's datagrams (this kernel has no
 * `tc netem`). Both sides must report about 5% loss, and the same figures.
 * Skipped, with the reason printed, where namespaces cannot be made (not
 * root, no `ip`, no `nft`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseCommandLine } from "../../lib/cli/args.ts";
import { runClientSession } from "../../lib/session/client.ts";
import type { TestSummary } from "../../lib/stats/summary.ts";
import { listen, serve } from "../../lib/session/server.ts";
import { sleep } from "./_iperf3.ts";
import { NetnsPath } from "./_netns.ts";

const path = new NetnsPath("itsl");
const HOST_ADDR = path.hostAddr;
const NS_ADDR = path.nsAddr;
const SERVER_PORT = 5201;

const reason = await path.unavailable();
if (reason) {
  // deno-lint-ignore no-console
  console.log(`netns loss test skipped: ${reason}`);
}

const withPath = (body: () => Promise<void>) => path.use(body);
const iperf3InNs = (
  args: string[],
  body: (done: Promise<Deno.CommandOutput>) => Promise<void>,
) => path.iperf3(args, body);

/**
 * Drops 5% of the test's data datagrams to `dport` as they arrive at one end
 * of the veth pair (a drop on the sending side would fail the sender's
 * sendto with EPERM instead). Packets under 100 bytes (the 4-byte connect
 * handshake) pass, so a stream set-up is never lost.
 *
 * @param end `"namespace"`: traffic into the namespace; `"host"`: traffic into this side
 */
async function addLoss(
  end: "namespace" | "host",
  dport: number,
): Promise<void> {
  await path.ingressChain(end, "drop5");
  await path.nft(
    end,
    `add rule netdev ${path.ns} drop5 udp dport ${dport} meta length gt 100 numgen random mod 100 < 5 drop`,
  );
}

function lossOf(summary: TestSummary): { lost: number; packets: number } {
  const s = summary.streams[0];
  return { lost: s?.udp?.lost ?? 0, packets: s?.udp?.receiverPackets ?? 0 };
}

function assertAboutFivePercent(lost: number, packets: number): void {
  const percent = 100 * lost / packets;
  assert.ok(
    percent > 2.5 && percent < 7.5,
    `lost ${lost} of ${packets} (${percent.toFixed(2)}%)`,
  );
}

Deno.test({
  name:
    "UDP loss through a lossy namespace path: about 5% reported, the same on both sides",
  ignore: reason !== undefined,
  fn: async (t) => {
    await t.step(
      "our client -> iperf3 -s in the namespace, 5% dropped on arrival there",
      async () => {
        await withPath(async () => {
          await addLoss("namespace", SERVER_PORT);
          let summary: TestSummary | undefined;
          const output = await iperf3InNs(["-s", "-1", "-J"], async (done) => {
            const config = parseCommandLine([
              "-c",
              NS_ADDR,
              "-u",
              "-b",
              "20M",
              "-t",
              "2",
            ]);
            if (config.role !== "client") throw new Error("client expected");
            // The server in the namespace may not listen yet: retry refusals.
            for (let attempt = 0; !summary; attempt++) {
              try {
                summary = (await runClientSession(config.client)).summary;
              } catch (error) {
                if (attempt > 100 || !String(error).includes("refused")) {
                  throw error;
                }
                await sleep(50);
              }
            }
            await done;
          });
          const theirs = JSON.parse(new TextDecoder().decode(output.stdout));
          const { lost, packets } = lossOf(summary as TestSummary);
          assertAboutFivePercent(lost, packets);
          assert.equal(lost, theirs.end.sum_received.lost_packets);
          assert.equal(packets, theirs.end.sum_received.packets);
        });
      },
    );

    await t.step(
      "iperf3 -c in the namespace -> our server, 5% dropped on arrival here",
      async () => {
        await withPath(async () => {
          const controller = new AbortController();
          const listener = listen({ hostname: HOST_ADDR, port: 0 });
          const port = listener.addr.port;
          const summaries: TestSummary[] = [];
          const served = serve(listener, {
            signal: controller.signal,
            oneOff: true,
            emit: (e) => {
              if (e.kind === "summary") summaries.push(e.summary);
            },
          });
          try {
            await addLoss("host", port);
            const output = await iperf3InNs(
              [
                "-c",
                HOST_ADDR,
                "-p",
                String(port),
                "-u",
                "-b",
                "20M",
                "-t",
                "2",
                "-J",
              ],
              async (done) => {
                await done;
              },
            );
            const theirs = JSON.parse(new TextDecoder().decode(output.stdout));
            assert.equal(theirs.error, undefined, theirs.error);
            await served;
            const { lost, packets } = lossOf(summaries[0] as TestSummary);
            assertAboutFivePercent(lost, packets);
            assert.equal(theirs.end.sum_received.lost_packets, lost);
            assert.equal(theirs.end.sum_received.packets, packets);
          } finally {
            controller.abort();
            await served;
          }
        });
      },
    );
  },
});
