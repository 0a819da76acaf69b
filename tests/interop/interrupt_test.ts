/**
 * Interrupts and refusals across implementations: SERVER_TERMINATE from our
 * server to the real iperf3 client, CLIENT_TERMINATE from our client to the
 * real iperf3 server, and a busy iperf3 server refusing our client.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  AccessDeniedError,
  ERROR_CODES,
  InterruptedError,
} from "../../lib/errors.ts";
import type { SessionEvent } from "../../lib/events.ts";
import { parseCommandLine } from "../../lib/cli/args.ts";
import { runClientSession } from "../../lib/session/client.ts";
import { listen, serve } from "../../lib/session/server.ts";
import {
  freePort,
  interopTest,
  Iperf3,
  LOOPBACK,
  sleep,
  within,
} from "./_iperf3.ts";

/** Our client's config for `-c 127.0.0.1 -p port ...flags`. */
function clientConfig(port: number, flags: string[]) {
  const config = parseCommandLine([
    "-c",
    LOOPBACK,
    "-p",
    String(port),
    ...flags,
  ]);
  assert.equal(config.role, "client");
  if (config.role !== "client") throw new Error("unreachable");
  return config.client;
}

/** Connects our client once iperf3 listens (a refused attempt never reaches it). */
async function startWhenListening<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 0;; attempt++) {
    try {
      return await start();
    } catch (error) {
      const refused = error instanceof Error &&
        error.message.includes("Connection refused");
      if (!refused || attempt >= 200) throw error;
      await sleep(25);
    }
  }
}

interopTest(
  "iperf3 -c reports 'the server has terminated' when our server stops mid-test",
  async () => {
    const listener = listen({ hostname: LOOPBACK, port: 0 });
    const controller = new AbortController();
    const events: SessionEvent[] = [];
    const served = serve(listener, {
      signal: controller.signal,
      emit: (e) => events.push(e),
      interval: 0,
    });
    try {
      await using client = new Iperf3([
        "-c",
        LOOPBACK,
        "-p",
        String(listener.addr.port),
        "-t",
        "10",
      ]);
      for (let i = 0; i < 400 && !events.some((e) => e.kind === "start"); i++) {
        await sleep(10);
      }
      await sleep(300);
      controller.abort();
      await served;
      const result = await client.wait();
      assert.equal(result.code, 1, result.stderr);
      assert.match(
        result.stderr,
        /^iperf3: error - the server has terminated$/m,
      );
      // Our server still printed its partial receiver summary.
      assert.ok(events.some((e) => e.kind === "summary"));
    } finally {
      controller.abort();
      await served;
    }
  },
);

interopTest(
  "iperf3 -s reports 'the client has terminated' when our client is interrupted",
  async () => {
    const port = freePort();
    await using server = new Iperf3([
      "-s",
      "-1",
      "-B",
      LOOPBACK,
      "-p",
      String(port),
    ]);
    const controller = new AbortController();
    const events: SessionEvent[] = [];
    const running = startWhenListening(() =>
      runClientSession(clientConfig(port, ["-t", "10"]), {
        signal: controller.signal,
        emit: (e) => events.push(e),
      })
    );
    running.catch(() => {});
    for (let i = 0; i < 400 && !events.some((e) => e.kind === "start"); i++) {
      await sleep(10);
    }
    await sleep(300);
    controller.abort();
    await assert.rejects(
      within(running, 5000, "our interrupted client"),
      (error: unknown) =>
        error instanceof InterruptedError &&
        error.code === ERROR_CODES.IECLIENTTERM,
    );
    const result = await server.wait();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /iperf3: the client has terminated/);
    const partial = events.find((e) => e.kind === "summary");
    assert.ok(
      partial?.kind === "summary" &&
        (partial.summary.streams[0]?.bytesSent ?? 0) > 0,
    );
  },
);

interopTest(
  "a busy iperf3 server refuses our client with ACCESS_DENIED",
  async () => {
    const port = freePort();
    await using server = new Iperf3([
      "-s",
      "-1",
      "-B",
      LOOPBACK,
      "-p",
      String(port),
    ]);
    const events: SessionEvent[] = [];
    const first = startWhenListening(() =>
      runClientSession(clientConfig(port, ["-t", "2"]), {
        emit: (e) => events.push(e),
      })
    );
    first.catch(() => {});
    // Busy once the first test has started (TEST_START), however long the
    // machine takes to get there; it then runs for 2 s more.
    for (let i = 0; i < 500 && !events.some((e) => e.kind === "start"); i++) {
      await sleep(10);
    }
    assert.ok(events.some((e) => e.kind === "start"), "the first test started");
    await assert.rejects(
      runClientSession(clientConfig(port, ["-t", "1"])),
      (error: unknown) =>
        error instanceof AccessDeniedError &&
        error.iperfText ===
          "the server is busy running a test. try again later",
    );
    const outcome = await within(first, 10_000, "the first client");
    assert.ok((outcome.summary.streams[0]?.bytesReceived ?? 0) > 0);
    assert.equal((await server.wait()).code, 0);
  },
);
