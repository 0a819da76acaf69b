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
import { HAVE_IPERF3, sleep } from "./_iperf3.ts";

const NS = `itsl${Deno.pid % 100000}`;
const HOST_IF = `${NS}a`;
const NS_IF = `${NS}b`;
/** The two ends of the veth pair: this side and the namespace. */
const HOST_ADDR = "10.201.77.1";
const NS_ADDR = "10.201.77.2";
const SERVER_PORT = 5201;

async function run(args: string[]): Promise<{ ok: boolean; text: string }> {
  try {
    const out = await new Deno.Command("ip", {
      args,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    return {
      ok: out.success,
      text: decoder.decode(out.stdout) + decoder.decode(out.stderr),
    };
  } catch (error) {
    return { ok: false, text: String(error) };
  }
}

async function inNs(...args: string[]): Promise<void> {
  const result = await run(["netns", "exec", NS, ...args]);
  if (!result.ok) {
    throw new Error(`ip netns exec ${NS} ${args.join(" ")}: ${result.text}`);
  }
}

/** Runs `nft` in this (the host's) namespace. */
async function hostNft(script: string): Promise<void> {
  const out = await new Deno.Command("nft", {
    args: [script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`nft ${script}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Why the namespace test cannot run here, or undefined when it can. */
async function unavailable(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return "network namespaces are Linux only";
  if (!HAVE_IPERF3) return "iperf3 is not installed";
  const probe = await run(["netns", "add", NS]);
  if (!probe.ok) {
    return `"ip netns add" is not permitted here: ${probe.text.trim()}`;
  }
  const nft = await run(["netns", "exec", NS, "nft", "--version"]);
  await run(["netns", "del", NS]);
  if (!nft.ok) {
    return `nftables is not installed ("apt-get install nftables"): ${nft.text.trim()}`;
  }
  return undefined;
}

const reason = await unavailable();
if (reason) {
  // deno-lint-ignore no-console
  console.log(`netns loss test skipped: ${reason}`);
}

/** Builds the namespace and the veth pair for `body`, and removes them after. */
async function withPath(body: () => Promise<void>): Promise<void> {
  try {
    for (
      const args of [
        ["netns", "add", NS],
        ["link", "add", HOST_IF, "type", "veth", "peer", "name", NS_IF],
        ["link", "set", NS_IF, "netns", NS],
        ["addr", "add", `${HOST_ADDR}/30`, "dev", HOST_IF],
        ["link", "set", HOST_IF, "up"],
      ]
    ) {
      const result = await run(args);
      if (!result.ok) throw new Error(`ip ${args.join(" ")}: ${result.text}`);
    }
    await inNs("ip", "addr", "add", `${NS_ADDR}/30`, "dev", NS_IF);
    await inNs("ip", "link", "set", NS_IF, "up");
    await inNs("ip", "link", "set", "lo", "up");
    await body();
  } finally {
    await run(["netns", "del", NS]);
    await run(["link", "del", HOST_IF]);
    // The host-side table, if a test made one (its chain went with the device).
    await hostNft(`delete table netdev ${NS}`).catch(() => {});
  }
}

/**
 * Drops 5% of the test's data datagrams to `dport` as they arrive at one end
 * of the veth pair (a netdev ingress chain bound to that device only, so
 * nothing else on the machine is touched; a drop on the sending side would
 * fail the sender's sendto with EPERM instead). Packets under 100 bytes (the
 * 4-byte connect handshake) pass, so a stream set-up is never lost.
 *
 * @param end `"namespace"`: traffic into the namespace; `"host"`: traffic into this side
 */
async function addLoss(
  end: "namespace" | "host",
  dport: number,
): Promise<void> {
  const device = end === "namespace" ? NS_IF : HOST_IF;
  const nft = (script: string) =>
    end === "namespace" ? inNs("nft", script) : hostNft(script);
  await nft(`add table netdev ${NS}`);
  await nft(
    `add chain netdev ${NS} drop5 { type filter hook ingress device ${device} priority 0; policy accept; }`,
  );
  await nft(
    `add rule netdev ${NS} drop5 udp dport ${dport} meta length gt 100 numgen random mod 100 < 5 drop`,
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

/** `ip netns exec NS iperf3 args`, always reaped. */
async function iperf3InNs(
  args: string[],
  body: (done: Promise<Deno.CommandOutput>) => Promise<void>,
): Promise<Deno.CommandOutput> {
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", NS, "iperf3", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const done = child.output();
  try {
    await body(done);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
  }
  return await done;
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
