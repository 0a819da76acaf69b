/**
 * `-L N` sends the client's TCP data streams with IPv6 flow label N, as
 * iperf3's IPV6_FLOWLABEL_MGR lease and `sin6_flowinfo` do: an nftables
 * counter on this host's output path (a table of the test's own, removed
 * after) sees packets to ::1 carrying the label. Against an IPv4 server it
 * is iperf3's one-line IESETFLOW error.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cli } from "../_support/cli.ts";
import { freeChildPort } from "../_support/child_server.ts";
import { withServer } from "../_support/server.ts";
import { nativeSockets } from "../../lib/net/native.ts";

const LABEL = 0x12345;
const TABLE = `iperfts_flowlabel_${Deno.pid}`;

function nft(...args: string[]): { ok: boolean; out: string } {
  try {
    const r = new Deno.Command("nft", { args, stderr: "piped" }).outputSync();
    return {
      ok: r.success,
      out: new TextDecoder().decode(r.stdout) +
        new TextDecoder().decode(r.stderr),
    };
  } catch (error) {
    return { ok: false, out: String(error) };
  }
}

function skipReason(): string | undefined {
  if (nativeSockets() === undefined) return "needs libc (--allow-ffi, Linux)";
  const probe = nft("list", "tables");
  if (!probe.ok) {
    return `nft cannot run here (root, nftables): ${probe.out.trim()}`;
  }
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
  } catch {
    return "no IPv6 loopback (::1)";
  }
  return undefined;
}

const skip = skipReason();
if (skip) {
  // deno-lint-ignore no-console
  console.log(`flowlabel_test skipped: ${skip}`);
}

Deno.test({
  name:
    "-L sends the data streams to ::1 with the flow label (an nftables counter sees it)",
  ignore: skip !== undefined,
  async fn() {
    assert.ok(nft("add", "table", "inet", TABLE).ok);
    try {
      assert.ok(
        nft(
          "add",
          "chain",
          "inet",
          TABLE,
          "out",
          "{ type filter hook output priority 0; }",
        ).ok,
      );
      assert.ok(
        nft(
          "add",
          "rule",
          "inet",
          TABLE,
          "out",
          "ip6",
          "flowlabel",
          String(LABEL),
          "counter",
        ).ok,
      );
      const port = freeChildPort();
      const server = cli(["-s", "-1", "-B", "::1", "-p", String(port)]);
      // The label in hex, as iperf3's strtol(optarg, 0) reads it.
      const args = ["-c", "::1", "-p", String(port), "-n", "8M", "-J"];
      const run = () => cli([...args, "-L", `0x${LABEL.toString(16)}`]);
      let client = await run();
      // Retried while the server, just started, refuses the connection.
      for (
        let i = 0;
        i < 40 && client.stdout.includes("Connection refused");
        i++
      ) {
        await new Promise((r) => setTimeout(r, 50));
        client = await run();
      }
      assert.equal(client.code, 0, client.stdout + client.stderr);
      assert.equal((await server).code, 0);
      const listed = nft("list", "table", "inet", TABLE).out;
      const bytes = Number(
        /counter packets \d+ bytes (\d+)/.exec(listed)?.[1] ?? 0,
      );
      // Every byte of the 8 MiB went out labelled (headers on top); how
      // many packets carry it depends on loopback's segment sizes.
      assert.ok(bytes >= 8 << 20, listed);
    } finally {
      nft("delete", "table", "inet", TABLE);
    }
  },
});

Deno.test({
  name: "-L against an IPv4 server is iperf3's one-line flow label error",
  ignore: nativeSockets() === undefined,
  async fn() {
    await withServer(async (server) => {
      const run = await cli([
        "-c",
        "127.0.0.1",
        "-p",
        String(server.port),
        "-n",
        "1M",
        "-L",
        "5",
      ]);
      assert.equal(run.code, 1);
      assert.match(
        run.stderr,
        /^iperf3: error - unable to set IPv6 flow label: Address family not supported\n$/,
      );
    });
  },
});
