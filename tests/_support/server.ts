/**
 * `withServer()`: an iperf-ts server on 127.0.0.1 and a free port for the
 * length of a test, always stopped and awaited afterwards.
 *
 * @module
 */

import type { SessionEvent } from "../../lib/events.ts";
import { tcpTestParams, type TestParams } from "../../lib/protocol/params.ts";
import { listen, serve, type ServeOptions } from "../../lib/session/server.ts";

/** What a running test server exposes to the test body. */
export interface TestServer {
  /** The port it listens on. */
  port: number;
  /** Every event the server emitted so far. */
  events: SessionEvent[];
  /** Every test error the server reported so far. */
  errors: unknown[];
}

/**
 * Runs `body` against a fresh server; aborts the server and waits for it in `finally`.
 *
 * @param body the test
 * @param options extra serve options
 */
export async function withServer(
  body: (server: TestServer) => Promise<void>,
  options: Omit<ServeOptions, "signal" | "emit" | "onTestError"> = {},
): Promise<void> {
  const controller = new AbortController();
  const listener = listen({ hostname: "127.0.0.1", port: 0 });
  const server: TestServer = {
    port: listener.addr.port,
    events: [],
    errors: [],
  };
  const done = serve(listener, {
    interval: 0,
    ...options,
    signal: controller.signal,
    emit: (event) => server.events.push(event),
    onTestError: (error) => server.errors.push(error),
  });
  try {
    await body(server);
  } finally {
    controller.abort();
    await done;
  }
}

/** A TCP test with iperf3's defaults but no time limit, changed by `overrides`. */
export function tcpParams(overrides: Partial<TestParams> = {}): TestParams {
  return tcpTestParams({ time: 0, ...overrides });
}

/**
 * Resolves once the server has emitted `count` events of `kind` (bounded wait).
 *
 * @param server the test server
 * @param kind the event kind
 * @param count how many
 */
export async function waitForEvents(
  server: TestServer,
  kind: SessionEvent["kind"],
  count: number,
): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (server.events.filter((e) => e.kind === kind).length >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`Timed out waiting for ${count} "${kind}" events`);
}
