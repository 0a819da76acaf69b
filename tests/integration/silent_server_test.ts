/**
 * The client against servers that speak the protocol up to some step and
 * then go silent, keeping the connection open: every step ends at its
 * deadline with one error naming what the client waited for.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cli, type CliRun } from "../_support/cli.ts";
import {
  ERROR_CODES,
  InterruptedError,
  IperfError,
  StreamError,
} from "../../lib/errors.ts";
import { closeQuietly } from "../../lib/net/conn.ts";
import { readFull, writeAll } from "../../lib/net/io.ts";
import {
  COOKIE_SIZE,
  encodeJsonFrame,
  encodeState,
  readJsonFrame,
  readState,
} from "../../lib/protocol/codec.ts";
import type { TestParams } from "../../lib/protocol/params.ts";
import { STATES } from "../../lib/protocol/states.ts";
import {
  type ClientConfig,
  HANDSHAKE_TIMEOUT_MS,
  resultsTimeoutMs,
  runClientSession,
} from "../../lib/session/client.ts";
import { tcpParams } from "../_support/server.ts";

/** The `--rcv-timeout` most cases use: short, so each ends in about a second. */
const RCV_MS = 500;

/**
 * How much sooner than its timeout after the fake went silent a client may
 * end: the fake marks its silence a moment after the client began to wait.
 */
const SILENCE_SLACK_MS = 50;

/** What a fake server's script can use. */
interface Fake {
  /** The control connection. */
  control: Deno.TcpConn;
  /** Accepts the next data connection and reads its cookie; it stays open until the end. */
  acceptStream(): Promise<Deno.TcpConn>;
  /** Reads and drops whatever arrives on `conn` until it closes. */
  drain(conn: Deno.TcpConn): void;
  /** Keeps a socket open until the end of the case. */
  hold(closable: { close(): void }): void;
  /** The port the fake listens on (TCP, and UDP where a case binds it). */
  port: number;
}

/** How a case ended. */
interface Ended {
  /** What the client threw (undefined if it returned). */
  error: unknown;
  /** From the client's start to its end. */
  elapsedMs: number;
  /** From the moment the fake went silent to the client's end. */
  sinceSilentMs: number;
}

/**
 * Runs `client` against a fake server on 127.0.0.1 that runs `script` on the
 * first connection and then says nothing more, every socket left open until
 * the client has ended.
 */
async function againstSilentServer(
  script: (fake: Fake) => Promise<void>,
  client: (port: number) => Promise<unknown>,
): Promise<Ended> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: { close(): void }[] = [listener];
  const drains: Promise<void>[] = [];
  let silentAt = NaN;
  const fake = {
    port: listener.addr.port,
    hold: (closable: { close(): void }) => {
      held.push(closable);
    },
    drain: (conn: Deno.TcpConn) => {
      drains.push((async () => {
        const buffer = new Uint8Array(65536);
        try {
          while (await conn.read(buffer) !== null) { /* dropped */ }
        } catch {
          // Closed at the end of the case.
        }
      })());
    },
    acceptStream: async () => {
      const conn = await listener.accept();
      held.push(conn);
      await readFull(conn, new Uint8Array(COOKIE_SIZE));
      return conn;
    },
  };
  const serving = (async () => {
    const control = await listener.accept();
    held.push(control);
    // Else Nagle holds a second state byte for the client's delayed ACK.
    control.setNoDelay(true);
    await script({ ...fake, control });
    silentAt = performance.now();
  })();
  serving.catch(() => {});
  const start = performance.now();
  let error: unknown;
  try {
    await client(fake.port);
  } catch (e) {
    error = e;
  }
  const end = performance.now();
  for (const c of held) closeQuietly(c);
  await Promise.allSettled(drains);
  await serving;
  return { error, elapsedMs: end - start, sinceSilentMs: end - silentAt };
}

/** A client config with `--rcv-timeout` `receiveTimeoutMs` (`null`: none given). */
function clientConfig(
  port: number,
  params: TestParams,
  receiveTimeoutMs: number | null = RCV_MS,
): ClientConfig {
  return {
    host: "127.0.0.1",
    port,
    interval: 0,
    params,
    ...(receiveTimeoutMs === null ? {} : { receiveTimeoutMs }),
  };
}

/** Reads the cookie, sends PARAM_EXCHANGE, reads the parameters. */
async function toParameters(control: Deno.TcpConn): Promise<void> {
  await readFull(control, new Uint8Array(COOKIE_SIZE));
  await writeAll(control, encodeState(STATES.PARAM_EXCHANGE));
  await readJsonFrame(control);
}

/** Up to TEST_RUNNING with `count` data streams, each drained. */
async function toRunning(fake: Fake, count = 1): Promise<void> {
  await toParameters(fake.control);
  await writeAll(fake.control, encodeState(STATES.CREATE_STREAMS));
  for (let i = 0; i < count; i++) fake.drain(await fake.acceptStream());
  await writeAll(fake.control, encodeState(STATES.TEST_START));
  await writeAll(fake.control, encodeState(STATES.TEST_RUNNING));
}

/** Through TEST_END and EXCHANGE_RESULTS; returns the client's results frame. */
async function toResults(fake: Fake): Promise<Record<string, unknown>> {
  await toRunning(fake);
  assert.equal(await readState(fake.control), STATES.TEST_END);
  await writeAll(fake.control, encodeState(STATES.EXCHANGE_RESULTS));
  return await readJsonFrame(fake.control, { maxSize: 1 << 20 });
}

/** A byte-limited test that fits in the socket buffers. */
const SMALL = tcpParams({ bytes: 1 << 16, length: 1 << 14 });

/**
 * Checks a case: `IENOMSG`, one line naming `awaited`, ended after `ms` of
 * silence and well before 5 times that.
 */
function assertTimedOut(
  ended: Ended,
  awaited: RegExp,
  ms: number,
): IperfError {
  const { error } = ended;
  assert.ok(error instanceof IperfError, `not an IperfError: ${error}`);
  assert.equal(error.code, ERROR_CODES.IENOMSG, error.message);
  assert.match(error.iperfText, awaited);
  assert.doesNotMatch(error.iperfText, /\n|\.$/);
  // The fake goes silent just after the client starts some waits (it reads
  // what the client sent first), and a busy machine can run the fake's
  // last steps late: 50 ms of slack, a tenth of the 500 ms timeout.
  assert.ok(
    ended.sinceSilentMs >= ms - SILENCE_SLACK_MS,
    `ended ${
      ended.sinceSilentMs.toFixed(0)
    } ms after the server went silent, before the ${ms} ms deadline`,
  );
  assert.ok(
    ended.sinceSilentMs < 5 * ms,
    `ended ${ended.sinceSilentMs.toFixed(0)} ms after the server went silent`,
  );
  return error;
}

/** Handshake steps: the message names the state. */
function waitedFor(state: string, ms = RCV_MS): RegExp {
  return new RegExp(
    `^idle timeout for receiving data: the server sent nothing for ${
      ms / 1000
    } s while the client waited for "${state}"$`,
  );
}

Deno.test("runClientSession() gives up on a silent server at every step, naming the step", async (t) => {
  const timings: string[] = [];
  const record = (name: string, ended: Ended) =>
    timings.push(
      `${name}: ${ended.elapsedMs.toFixed(0)} ms (${
        ended.sinceSilentMs.toFixed(0)
      } ms after silence)`,
    );

  await t.step("after the accept: no PARAM_EXCHANGE", async () => {
    const ended = await againstSilentServer(
      async () => {},
      (port) => runClientSession(clientConfig(port, SMALL)),
    );
    assertTimedOut(ended, waitedFor("PARAM_EXCHANGE"), RCV_MS);
    record("after accept", ended);
  });

  await t.step("after the cookie: no PARAM_EXCHANGE", async () => {
    const ended = await againstSilentServer(
      async ({ control }) => {
        await readFull(control, new Uint8Array(COOKIE_SIZE));
      },
      (port) => runClientSession(clientConfig(port, SMALL)),
    );
    assertTimedOut(ended, waitedFor("PARAM_EXCHANGE"), RCV_MS);
    record("after cookie", ended);
  });

  await t.step("after the parameters: no CREATE_STREAMS", async () => {
    const ended = await againstSilentServer(
      ({ control }) => toParameters(control),
      (port) => runClientSession(clientConfig(port, SMALL)),
    );
    assertTimedOut(ended, waitedFor("CREATE_STREAMS"), RCV_MS);
    record("after parameters", ended);
  });

  await t.step(
    "after CREATE_STREAMS, stream accepted: no TEST_START",
    async () => {
      const ended = await againstSilentServer(
        async (fake) => {
          await toParameters(fake.control);
          await writeAll(fake.control, encodeState(STATES.CREATE_STREAMS));
          await fake.acceptStream();
        },
        (port) => runClientSession(clientConfig(port, SMALL)),
      );
      assertTimedOut(ended, waitedFor("TEST_START"), RCV_MS);
      record("after CREATE_STREAMS", ended);
    },
  );

  await t.step("after TEST_START: no TEST_RUNNING", async () => {
    const ended = await againstSilentServer(
      async (fake) => {
        await toParameters(fake.control);
        await writeAll(fake.control, encodeState(STATES.CREATE_STREAMS));
        await fake.acceptStream();
        await writeAll(fake.control, encodeState(STATES.TEST_START));
      },
      (port) => runClientSession(clientConfig(port, SMALL)),
    );
    assertTimedOut(ended, waitedFor("TEST_RUNNING"), RCV_MS);
    record("after TEST_START", ended);
  });

  await t.step("after TEST_END: no EXCHANGE_RESULTS", async () => {
    const ended = await againstSilentServer(
      async (fake) => {
        await toRunning(fake);
        assert.equal(await readState(fake.control), STATES.TEST_END);
      },
      (port) => runClientSession(clientConfig(port, SMALL)),
    );
    assertTimedOut(ended, waitedFor("EXCHANGE_RESULTS"), RCV_MS);
    record("no EXCHANGE_RESULTS", ended);
  });

  await t.step("the server's results: 2 of 4 length bytes", async () => {
    const ended = await againstSilentServer(
      async (fake) => {
        await toResults(fake);
        await writeAll(fake.control, new Uint8Array([0, 0]));
      },
      (port) => runClientSession(clientConfig(port, SMALL)),
    );
    assertTimedOut(
      ended,
      /^idle timeout for receiving data: the server stopped after 2 of 4 length bytes while the client waited 0\.5 s for the server's results$/,
      RCV_MS,
    );
    record("half a length", ended);
  });

  await t.step(
    "the server's results: the length and half the body",
    async () => {
      const ended = await againstSilentServer(
        async (fake) => {
          const frame = encodeJsonFrame(await toResults(fake));
          const half = 4 + Math.floor((frame.length - 4) / 2);
          await writeAll(fake.control, frame.subarray(0, half));
        },
        (port) => runClientSession(clientConfig(port, SMALL)),
      );
      assertTimedOut(
        ended,
        /^idle timeout for receiving data: the server stopped after (\d+) of \d+ JSON bytes while the client waited 0\.5 s for the server's results$/,
        RCV_MS,
      );
      record("half a body", ended);
    },
  );

  await t.step("after the results: no DISPLAY_RESULTS", async () => {
    const ended = await againstSilentServer(
      async (fake) => {
        // The client's own results are valid results with its stream ids.
        const results = await toResults(fake);
        await writeAll(fake.control, encodeJsonFrame(results));
      },
      (port) => runClientSession(clientConfig(port, SMALL)),
    );
    assertTimedOut(ended, waitedFor("DISPLAY_RESULTS"), RCV_MS);
    record("no DISPLAY_RESULTS", ended);
  });

  for (
    const [name, params] of [
      ["-R -t", tcpParams({ reverse: true, time: 5 })],
      ["-R -n", tcpParams({ reverse: true, bytes: 1 << 20 })],
      ["--bidir -t", tcpParams({ bidirectional: true, time: 5 })],
    ] as const
  ) {
    await t.step(`${name}: the server sends no data`, async () => {
      const ended = await againstSilentServer(
        (fake) => toRunning(fake, params.bidirectional ? 2 : 1),
        (port) => runClientSession(clientConfig(port, params)),
      );
      assertTimedOut(
        ended,
        /^idle timeout for receiving data: the server sent nothing for 0\.5 s while the client waited for data on the test streams$/,
        RCV_MS,
      );
      record(name, ended);
    });
  }

  await t.step("SERVER_ERROR without its payload", async () => {
    const ended = await againstSilentServer(
      async ({ control }) => {
        await readFull(control, new Uint8Array(COOKIE_SIZE));
        await writeAll(control, encodeState(STATES.SERVER_ERROR));
      },
      (port) => runClientSession(clientConfig(port, SMALL)),
    );
    assertTimedOut(
      ended,
      /^idle timeout for receiving data: the server sent nothing for 0\.5 s while the client waited for the "SERVER_ERROR" payload$/,
      RCV_MS,
    );
    record("SERVER_ERROR, no payload", ended);
  });

  await t.step("SERVER_ERROR with only i_errno", async () => {
    const ended = await againstSilentServer(
      async ({ control }) => {
        await readFull(control, new Uint8Array(COOKIE_SIZE));
        await writeAll(control, encodeState(STATES.SERVER_ERROR));
        await writeAll(control, new Uint8Array([0, 0, 0, 142]));
      },
      (port) => runClientSession(clientConfig(port, SMALL)),
    );
    assertTimedOut(
      ended,
      /^idle timeout for receiving data: the server stopped after 4 of 8 bytes \(i_errno 142: test authorization failed\) while the client waited 0\.5 s for the "SERVER_ERROR" payload$/,
      RCV_MS,
    );
    record("SERVER_ERROR, only i_errno", ended);
  });

  await t.step("UDP: the connect message is never answered", async () => {
    const ended = await againstSilentServer(
      async (fake) => {
        // A bound port, so the datagram is not refused: it goes unanswered.
        fake.hold(
          Deno.listenDatagram({
            transport: "udp",
            hostname: "127.0.0.1",
            port: fake.port,
          }),
        );
        await toParameters(fake.control);
        await writeAll(fake.control, encodeState(STATES.CREATE_STREAMS));
      },
      (port) =>
        runClientSession(
          clientConfig(
            port,
            tcpParams({ protocol: "udp", length: 1460, bytes: 1 << 16 }),
          ),
        ),
    );
    const { error } = ended;
    assert.ok(error instanceof StreamError, `not a StreamError: ${error}`);
    assert.equal(error.code, ERROR_CODES.IESTREAMREAD);
    assert.equal(
      error.iperfText,
      "unable to read from stream socket: the server sent nothing for 0.5 s while the client waited for the UDP connect reply",
    );
    assert.ok(
      ended.sinceSilentMs >= RCV_MS - SILENCE_SLACK_MS &&
        ended.sinceSilentMs < 5 * RCV_MS,
    );
    record("UDP connect", ended);
  });

  await t.step("an abort while waiting still interrupts at once", async () => {
    const controller = new AbortController();
    const ended = await againstSilentServer(
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 100));
        controller.abort();
      },
      (port) =>
        runClientSession(clientConfig(port, SMALL, 5000), {
          signal: controller.signal,
        }),
    );
    assert.ok(ended.error instanceof InterruptedError, `${ended.error}`);
    assert.ok(ended.elapsedMs < 1000, `${ended.elapsedMs} ms`);
    record("abort", ended);
  });

  // deno-lint-ignore no-console
  console.log(timings.join("\n"));
});

Deno.test("runClientSession() waits HANDSHAKE_TIMEOUT_MS for a handshake step without --rcv-timeout", async () => {
  const ended = await againstSilentServer(
    async () => {},
    (port) => runClientSession(clientConfig(port, SMALL, null)),
  );
  assertTimedOut(
    ended,
    waitedFor("PARAM_EXCHANGE", HANDSHAKE_TIMEOUT_MS),
    HANDSHAKE_TIMEOUT_MS,
  );
  assert.ok(ended.elapsedMs < HANDSHAKE_TIMEOUT_MS + 2000);
  // deno-lint-ignore no-console
  console.log(`default deadline: ${ended.elapsedMs.toFixed(0)} ms`);
});

Deno.test("resultsTimeoutMs() takes --rcv-timeout, else the test's length, at least the handshake's", () => {
  assert.equal(resultsTimeoutMs(60_000, 300), 300);
  assert.equal(resultsTimeoutMs(1_000), HANDSHAKE_TIMEOUT_MS);
  assert.equal(resultsTimeoutMs(60_000), 60_000);
});

Deno.test("runCli() prints one error line and exits 1 when the server goes silent", async () => {
  let run: CliRun | undefined;
  await againstSilentServer(
    async ({ control }) => {
      await readFull(control, new Uint8Array(COOKIE_SIZE));
    },
    async (port) => {
      run = await cli([
        "-c",
        "127.0.0.1",
        "-p",
        String(port),
        "-R",
        "--rcv-timeout",
        "500",
      ]);
    },
  );
  assert.ok(run);
  assert.equal(run.code, 1);
  assert.equal(
    run.stderr,
    'iperf3: error - idle timeout for receiving data: the server sent nothing for 0.5 s while the client waited for "PARAM_EXCHANGE"\n',
  );
  assert.doesNotMatch(run.stdout, /error/);
});

Deno.test('runCli() -J puts the silent step in "error"', async () => {
  let run: CliRun | undefined;
  await againstSilentServer(
    (fake) => toParameters(fake.control),
    async (port) => {
      run = await cli([
        "-c",
        "127.0.0.1",
        "-p",
        String(port),
        "-R",
        "--rcv-timeout",
        "500",
        "-J",
      ]);
    },
  );
  assert.ok(run);
  assert.equal(run.code, 1);
  assert.equal(run.stderr, "");
  const doc = JSON.parse(run.stdout);
  assert.equal(
    doc["error"],
    'idle timeout for receiving data: the server sent nothing for 0.5 s while the client waited for "CREATE_STREAMS"',
  );
});
