/**
 * Without `--allow-ffi` iperf-ts behaves as iperf3 built without TCP_INFO:
 * no Retr/Cwnd columns, `sender_has_retransmits` 0 in its results, and one
 * `-V` line that says why; options that need a socket option are refused
 * with one line. Runs main.ts in a child Deno without that permission,
 * against a server of ours (which has it).
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { withServer } from "../_support/server.ts";

const MAIN = fileURLToPath(new URL("../../main.ts", import.meta.url));

async function mainWithoutFfi(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command("deno", {
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      "--unstable-net",
      "--allow-net=127.0.0.1",
      "--allow-sys=hostname,osRelease",
      MAIN,
      ...args,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

Deno.test("without --allow-ffi: no Retr/Cwnd, sender_has_retransmits 0, and -V says why", async () => {
  await withServer(async (server) => {
    const run = await mainWithoutFfi([
      "-c",
      "127.0.0.1",
      "-p",
      String(server.port),
      "-n",
      "8M",
      "-V",
      "-d",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.split("\n");
    const why = lines.filter((l) => l.includes("TCP_INFO"));
    assert.deepEqual(why, [
      "      TCP_INFO: not available (socket options and TCP_INFO need Deno's --allow-ffi): no Retr, Cwnd or RTT figures",
    ]);
    assert.ok(lines.includes("Control connection MSS 0"));
    assert.ok(lines.includes("      TCP MSS: 0 (default)"));
    assert.ok(
      lines.includes("[ ID] Interval           Transfer     Bitrate"),
    );
    const others = lines.filter((l) => !l.includes("TCP_INFO"));
    assert.ok(!others.some((l) => /Retr|Cwnd/.test(l)), run.stdout);
    assert.ok(!run.stdout.includes("snd_tcp_congestion"));
    // The results we send say what iperf3 without TCP_INFO says.
    const sent = lines.find((l) => l.startsWith("send results "));
    assert.ok(sent, run.stdout);
    const results = JSON.parse(sent.slice("send results ".length));
    assert.equal(results.sender_has_retransmits, 0);
    assert.equal(results.streams[0].retransmits, -1);
    assert.equal(results.congestion_used, undefined);
  });
});

Deno.test("without --allow-ffi: -w, -M, -C, -S and --dont-fragment are refused in one line", async () => {
  for (
    const [flags, names] of [
      [["-w", "64K"], "-w needs a socket option"],
      [["-M", "1000", "-C", "reno"], "-M, -C need socket options"],
      [["--dscp", "ef"], "-S needs a socket option"],
      [["-u", "--dont-fragment"], "--dont-fragment needs a socket option"],
      [["--cntl-ka=20/4/2"], "--cntl-ka=IDLE/INTVL/CNT needs a socket option"],
    ] as const
  ) {
    await withServer(async (server) => {
      const run = await mainWithoutFfi([
        "-c",
        "127.0.0.1",
        "-p",
        String(server.port),
        "-t",
        "1",
        ...flags,
      ]);
      assert.equal(run.code, 1);
      assert.equal(
        run.stderr,
        `iperf3: error - an option you are trying to set is not implemented yet: ${names} set through libc (socket options and TCP_INFO need Deno's --allow-ffi)\n`,
      );
    });
  }
});
