/**
 * iperf3 3.21's options that iperf-ts implements beyond 3.12's, each shown
 * by its effect on loopback: `--json-stream-full-output` (the whole
 * document after the lines), `-I` on the client (its PID while it runs),
 * `--fq-rate` (SO_MAX_PACING_RATE caps TCP, on both sides: it crosses the
 * wire), `--skip-rx-copy` (sent as `skip_rx_copy`; TCP receivers on the
 * threads discard with MSG_TRUNC and count alike).
 *
 * @module
 */

import assert from "node:assert/strict";
import { cli } from "../_support/cli.ts";
import { withServer } from "../_support/server.ts";
import { nativeSockets } from "../../lib/net/native.ts";

const MBIT = 1e6;

function clientArgs(port: number, ...flags: string[]): string[] {
  return ["-c", "127.0.0.1", "-p", String(port), ...flags];
}

Deno.test("--json-stream-full-output prints the whole document after the --json-stream lines", async () => {
  await withServer(async (server) => {
    const plain = await cli(
      clientArgs(server.port, "-t", "1", "--json-stream"),
    );
    assert.equal(plain.code, 0, plain.stderr);
    const plainLines = plain.stdout.trimEnd().split("\n");
    // Without it: only the lines, each one event.
    for (const line of plainLines) assert.ok(JSON.parse(line).event, line);

    const full = await cli(clientArgs(
      server.port,
      "-t",
      "1",
      "--json-stream",
      "--json-stream-full-output",
    ));
    assert.equal(full.code, 0, full.stderr);
    const endAt = full.stdout.indexOf('{"event":"end"');
    assert.ok(endAt >= 0, full.stdout);
    const afterEnd = full.stdout.slice(full.stdout.indexOf("\n", endAt) + 1);
    const doc = JSON.parse(afterEnd);
    assert.ok(doc.start.test_start, "a whole document");
    assert.ok(doc.intervals.length >= 1, "with its intervals");
    assert.ok(doc.end.sum_received.bytes > 0);
  });
});

Deno.test("-I on the client holds its PID while the test runs, and is removed after", async () => {
  const pidfile = await Deno.makeTempFile({ prefix: "iperf-ts-pid-" });
  await Deno.remove(pidfile);
  await withServer(async (server) => {
    const run = cli(clientArgs(server.port, "-t", "1", "-I", pidfile));
    let seen = "";
    for (let i = 0; i < 100 && seen === ""; i++) {
      await new Promise((r) => setTimeout(r, 10));
      seen = await Deno.readTextFile(pidfile).catch(() => "");
    }
    const result = await run;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(seen, `${Deno.pid}\n`);
    await assert.rejects(Deno.stat(pidfile), Deno.errors.NotFound);
  });
});

Deno.test({
  name:
    "--fq-rate 100M paces TCP to about 100 Mbit/s, the client's sending and (with -R) the server's",
  ignore: nativeSockets() === undefined,
  async fn(t) {
    await withServer(async (server) => {
      for (const reverse of [false, true]) {
        await t.step(
          reverse ? "-R (the server sends)" : "the client sends",
          async () => {
            const run = await cli(clientArgs(
              server.port,
              "-t",
              "2",
              "--fq-rate",
              "100M",
              "-J",
              ...(reverse ? ["-R"] : []),
            ));
            assert.equal(run.code, 0, run.stdout + run.stderr);
            const doc = JSON.parse(run.stdout);
            assert.equal(doc.start.fq_rate, 100 * MBIT);
            assert.equal(doc.start.test_start.fqrate, 100 * MBIT);
            const rate = doc.end.sum_received.bits_per_second;
            // Unpaced, loopback moves 20+ Gbit/s here.
            assert.ok(rate < 130 * MBIT, `${rate / MBIT} Mbit/s`);
            assert.ok(rate > 40 * MBIT, `${rate / MBIT} Mbit/s`);
          },
        );
      }
    });
  },
});

Deno.test("--skip-rx-copy crosses the wire as skip_rx_copy and the receivers count every byte", async (t) => {
  await withServer(async (server) => {
    await t.step("the parameters carry it", async () => {
      const run = await cli(
        clientArgs(server.port, "-n", "1M", "--skip-rx-copy", "-d"),
      );
      assert.equal(run.code, 0, run.stderr);
      const sent = run.stdout.split("\n").find((l) =>
        l.startsWith("send parameters ")
      );
      assert.match(sent ?? "", /"skip_rx_copy":1/);
    });
    for (const reverse of [false, true]) {
      await t.step(
        reverse ? "-R: our client receives" : "our server receives",
        async () => {
          const run = await cli(clientArgs(
            server.port,
            "-n",
            "64M",
            "--skip-rx-copy",
            "-J",
            ...(reverse ? ["-R"] : []),
          ));
          assert.equal(run.code, 0, run.stdout + run.stderr);
          const doc = JSON.parse(run.stdout);
          assert.ok(doc.end.sum_received.bytes >= 64 << 20);
          assert.equal(doc.end.sum_received.bytes, doc.end.sum_sent.bytes);
        },
      );
    }
  });
});

Deno.test("-J with -f, -V or -d warns on stderr as iperf3 3.21; -J alone says nothing", async () => {
  await withServer(async (server) => {
    const run = (...flags: string[]) =>
      cli(clientArgs(server.port, "-n", "1M", "-J", ...flags));
    const fm = await run("-f", "m");
    assert.equal(fm.code, 0, fm.stderr);
    assert.equal(
      fm.stderr,
      "warning: Report format (-f) flag ignored with JSON output (-J)\n",
    );
    assert.ok(JSON.parse(fm.stdout).end);
    const verbose = await run("-V");
    assert.equal(
      verbose.stderr,
      "warning: Verbose output (-v) may interfere with JSON output (-J)\n",
    );
    assert.equal((await run()).stderr, "");
  });
});
