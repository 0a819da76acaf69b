import assert from "node:assert/strict";
import { parseCommandLine } from "../../lib/cli/args.ts";
import { EXPOSITION_CONTENT_TYPE } from "../../lib/metrics/registry.ts";
import { runClientSession } from "../../lib/session/client.ts";
import { cli } from "../_support/cli.ts";
import { sample } from "../_support/exposition.ts";
import { HOST } from "../_support/raw_peer.ts";
import { tcpParams } from "../_support/server.ts";

/** A port free now on the loopback address. */
function freePort(): number {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

/** The /metrics text, once the endpoint answers (at most 5 s). */
async function scrapeWhenUp(port: number): Promise<string> {
  const deadline = performance.now() + 5000;
  while (true) {
    try {
      const response = await fetch(`http://${HOST}:${port}/metrics`, {
        signal: AbortSignal.timeout(1000),
      });
      assert.equal(
        response.headers.get("content-type"),
        EXPOSITION_CONTENT_TYPE,
      );
      return await response.text();
    } catch (error) {
      if (error instanceof assert.AssertionError) throw error;
      if (performance.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

async function isDown(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://${HOST}:${port}/metrics`, {
      signal: AbortSignal.timeout(1000),
    });
    await response.body?.cancel();
    return false;
  } catch {
    return true;
  }
}

Deno.test("parseCommandLine() takes --metrics on the server and refuses it on the client as server only", async () => {
  const config = parseCommandLine(["-s", "--metrics", ":9580"]);
  assert.ok(config.role === "server" && config.server.metrics === ":9580");
  const run = await cli(["-c", HOST, "--metrics", ":9580"]);
  assert.equal(run.code, 1);
  assert.match(
    run.stderr,
    /^iperf3: parameter error - some option you are trying to set is server only: --metrics\n/,
  );
});

Deno.test("runCli() -s --metrics with a bad address or one in use prints one line and exits 1", async () => {
  for (const address of ["nonsense", "127.0.0.1:99999", ""]) {
    const run = await cli([
      "-s",
      "-B",
      HOST,
      "-p",
      String(freePort()),
      "--metrics",
      address,
    ]);
    assert.equal(run.code, 1, address);
    assert.equal(run.stdout, "");
    assert.match(
      run.stderr,
      /^iperf3: error - cannot serve metrics on "[^"]*": expected HOST:PORT[^\n]*\n$/,
    );
  }
  const taken = Deno.listen({ hostname: HOST, port: 0 });
  try {
    const run = await cli([
      "-s",
      "-B",
      HOST,
      "-p",
      String(freePort()),
      "--metrics",
      `${HOST}:${taken.addr.port}`,
    ]);
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr,
      `iperf3: error - cannot serve metrics on "${HOST}:${taken.addr.port}": Address already in use\n`,
    );
  } finally {
    taken.close();
  }
});

Deno.test("runCli() -s -1 --metrics serves /metrics while the test runs and stops with the server", async () => {
  const port = freePort();
  const metricsPort = freePort();
  const server = cli([
    "-s",
    "-1",
    "-B",
    HOST,
    "-p",
    String(port),
    "--metrics",
    `${HOST}:${metricsPort}`,
  ]);
  try {
    const before = await scrapeWhenUp(metricsPort);
    assert.equal(
      sample(before, "iperf_ts_server_tests_served_total", {
        protocol: "tcp",
        outcome: "ok",
      }),
      0,
    );
    const test = runClientSession({
      host: HOST,
      port,
      interval: 0,
      params: tcpParams({ time: 1 }),
    });
    test.catch(() => {});
    const deadline = performance.now() + 5000;
    let running = 0;
    while (running !== 1 && performance.now() < deadline) {
      running = sample(
        await scrapeWhenUp(metricsPort),
        "iperf_ts_server_tests_running",
        { protocol: "tcp" },
      ) ?? 0;
    }
    assert.equal(running, 1);
    await test;
  } finally {
    const run = await server;
    assert.equal(run.code, 0, run.stderr);
  }
  assert.equal(await isDown(metricsPort), true);
});

Deno.test("runCli() -s --metrics stops the endpoint on SIGINT", async () => {
  const metricsPort = freePort();
  const controller = new AbortController();
  const server = cli([
    "-s",
    "-B",
    HOST,
    "-p",
    String(freePort()),
    "--metrics",
    `${HOST}:${metricsPort}`,
  ], controller.signal);
  try {
    await scrapeWhenUp(metricsPort);
  } finally {
    controller.abort();
  }
  const run = await server;
  assert.equal(run.code, 0, run.stderr);
  assert.equal(await isDown(metricsPort), true);
});
