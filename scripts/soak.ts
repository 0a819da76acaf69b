/**
 * Soak run (a script, not part of the fast suite): starts an iperf-ts server
 * in its own process, runs many short tests against it back to back (TCP,
 * some with -P 4 or -R, every tenth one UDP), and compares the server's open
 * file descriptors and resident memory before and after (Linux /proc).
 *
 * Usage: deno task soak [TESTS]   (default 1000). It runs with -A because
 * Deno reads /proc only with all permissions.
 *
 * @module
 */

import { runClientSession } from "../lib/session/client.ts";
import { tcpTestParams } from "../lib/protocol/params.ts";

const TESTS = Number(Deno.args[0] ?? 1000);
const MAIN = new URL("../main.ts", import.meta.url).pathname;
// deno-lint-ignore no-console
const print = console.log;

function freePort(): number {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return listener.addr.port;
}

async function serverFigures(
  pid: number,
): Promise<{ fds: number; rssKiB: number }> {
  let fds = 0;
  for await (const _ of Deno.readDir(`/proc/${pid}/fd`)) fds++;
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const rssKiB = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return { fds, rssKiB };
}

function paramsFor(i: number) {
  if (i % 10 === 9) {
    return tcpTestParams({
      protocol: "udp",
      time: 0,
      blocks: 200,
      length: 1460,
      bandwidth: 200_000_000,
    });
  }
  if (i % 50 === 25) {
    return tcpTestParams({ time: 0, bytes: 4 << 20, parallel: 4 });
  }
  if (i % 7 === 3) {
    return tcpTestParams({ time: 0, bytes: 1 << 20, reverse: true });
  }
  return tcpTestParams({ time: 0, bytes: 1 << 20 });
}

async function runTests(
  port: number,
  from: number,
  count: number,
): Promise<number> {
  let failures = 0;
  for (let i = from; i < from + count; i++) {
    try {
      await runClientSession({
        host: "127.0.0.1",
        port,
        interval: 0,
        params: paramsFor(i),
      });
    } catch (error) {
      failures++;
      print(
        `test ${i} failed: ${error instanceof Error ? error.message : error}`,
      );
    }
  }
  return failures;
}

const port = freePort();
const server = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "--allow-net",
    MAIN,
    "-s",
    "-B",
    "127.0.0.1",
    "-p",
    String(port),
    "-i",
    "0",
  ],
  stdout: "null",
  stderr: "piped",
}).spawn();
try {
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await runTests(port, 0, 20); // warm-up: JIT, buffers, first allocations
  await new Promise((resolve) => setTimeout(resolve, 500));
  const before = await serverFigures(server.pid);
  const started = performance.now();
  let failures = 0;
  for (let done = 0; done < TESTS; done += 500) {
    failures += await runTests(port, 20 + done, Math.min(500, TESTS - done));
    const now = await serverFigures(server.pid);
    print(
      `after ${Math.min(done + 500, TESTS)} tests: fds ${now.fds}, RSS ${
        (now.rssKiB / 1024).toFixed(1)
      } MiB`,
    );
  }
  const seconds = (performance.now() - started) / 1000;
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const after = await serverFigures(server.pid);
  print(`${TESTS} tests in ${seconds.toFixed(1)} s, ${failures} failed`);
  print(`server fds:  before ${before.fds}, after ${after.fds}`);
  print(
    `server RSS:  before ${(before.rssKiB / 1024).toFixed(1)} MiB, after ${
      (after.rssKiB / 1024).toFixed(1)
    } MiB`,
  );
  if (failures > 0 || after.fds > before.fds) Deno.exitCode = 1;
} finally {
  server.kill("SIGTERM");
  await server.status;
  await server.stderr.cancel();
}
