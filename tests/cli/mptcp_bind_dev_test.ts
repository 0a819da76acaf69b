/**
 * `-m` and `--bind-dev` on the client: its TCP data streams are opened
 * through libc, with IPPROTO_MPTCP (seen with `ss -M` while the test runs:
 * MPTCP sockets to the server's port) and SO_BINDTODEVICE (`lo` carries a
 * loopback test; a device that does not exist is one error line). A
 * server of ours listens with Deno's plain TCP, so MPTCP falls back to TCP
 * on the wire and the test still runs.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cli } from "../_support/cli.ts";
import { withServer } from "../_support/server.ts";
import { nativeSockets } from "../../lib/net/native.ts";

function output(command: string, args: string[]): string | undefined {
  try {
    const out = new Deno.Command(command, { args, stderr: "null" })
      .outputSync();
    return out.success ? new TextDecoder().decode(out.stdout) : undefined;
  } catch {
    return undefined;
  }
}

const libc = nativeSockets() !== undefined;
const mptcpSkip = !libc
  ? "needs libc (--allow-ffi, Linux)"
  : output("cat", ["/proc/sys/net/mptcp/enabled"])?.trim() !== "1"
  ? "MPTCP is not enabled in this kernel (net.mptcp.enabled)"
  : output("ss", ["-Mn"]) === undefined
  ? "ss (iproute2) is not on PATH"
  : undefined;
if (mptcpSkip) {
  // deno-lint-ignore no-console
  console.log(`mptcp test skipped: ${mptcpSkip}`);
}

/** MPTCP sockets connected to `port` now (`ss -Mn`). */
function mptcpTo(port: number): number {
  return (output("ss", ["-Mn"]) ?? "").split("\n").filter((line) =>
    line.startsWith("ESTAB") && line.includes(`:${port} `)
  ).length;
}

Deno.test({
  name:
    "-m opens the client's data streams as MPTCP sockets (ss -M), plain TCP without it",
  ignore: mptcpSkip !== undefined,
  async fn() {
    await withServer(async (server) => {
      for (const mptcp of [true, false]) {
        const run = cli([
          "-c",
          "127.0.0.1",
          "-p",
          String(server.port),
          "-t",
          "2",
          "-P",
          "2",
          ...(mptcp ? ["-m"] : []),
        ]);
        let most = 0;
        for (let i = 0; i < 30; i++) {
          await new Promise((r) => setTimeout(r, 50));
          most = Math.max(most, mptcpTo(server.port));
        }
        const result = await run;
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stdout, /receiver/);
        assert.equal(most, mptcp ? 2 : 0, `MPTCP sockets with -m: ${mptcp}`);
      }
    });
  },
});

Deno.test({
  name:
    "--bind-dev lo carries a loopback test, TCP and UDP; a device that does not exist is one error line",
  ignore: !libc,
  async fn() {
    await withServer(async (server) => {
      const args = ["-c", "127.0.0.1", "-p", String(server.port), "-n", "8M"];
      const ok = await cli([...args, "--bind-dev", "lo", "-J"]);
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.ok(JSON.parse(ok.stdout).end.sum_received.bytes >= 8 << 20);
      const bad = await cli([...args, "--bind-dev", "nosuchdev0"]);
      assert.equal(bad.code, 1);
      assert.equal(
        bad.stderr,
        "iperf3: error - unable to connect stream: --bind-dev nosuchdev0: No such device\n",
      );
      // UDP: the stream's socket is bound before its hello.
      const udp = [...args.slice(0, 4), "-u", "-t", "1", "-b", "10M"];
      const okUdp = await cli([...udp, "--bind-dev", "lo", "-J"]);
      assert.equal(okUdp.code, 0, okUdp.stdout + okUdp.stderr);
      assert.ok(JSON.parse(okUdp.stdout).end.sum.packets > 0);
      const badUdp = await cli([...udp, "--bind-dev", "nosuchdev0"]);
      assert.equal(badUdp.code, 1);
      assert.equal(
        badUdp.stderr,
        "iperf3: error - unable to connect stream: --bind-dev nosuchdev0: No such device\n",
      );
    });
  },
});

Deno.test("-m or --bind-dev on a server are refused in one line", async () => {
  for (
    const [args, text] of [
      [["-s", "-m"], /option --mptcp is not implemented yet/],
      [["-s", "--bind-dev", "lo"], /option --bind-dev is not implemented yet/],
    ] as const
  ) {
    const run = await cli([...args]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, text);
    assert.equal(run.stderr.trimEnd().split("\n").length <= 3, true);
  }
});
