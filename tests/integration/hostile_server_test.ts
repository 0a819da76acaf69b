import assert from "node:assert/strict";
import { ERROR_CODES, ProtocolError } from "../../lib/errors.ts";
import { writeAll } from "../../lib/net/io.ts";
import {
  encodeCookie,
  encodeJsonFrame,
  makeCookie,
  readState,
} from "../../lib/protocol/codec.ts";
import {
  DEFAULT_UDP_BLKSIZE,
  encodeParams,
  tcpTestParams,
  type TestParams,
} from "../../lib/protocol/params.ts";
import { STATES } from "../../lib/protocol/states.ts";
import { runClientSession } from "../../lib/session/client.ts";
import {
  listen,
  MAX_CLIENT_RESULTS_SIZE,
  serve,
} from "../../lib/session/server.ts";
import {
  closeLibc,
  resetConnection,
  resetUnavailable,
} from "../_support/reset.ts";
import {
  afterParams,
  atResults,
  closeAll,
  closedWithin,
  HOST,
  nestedFrame,
  withCookie,
} from "../_support/raw_peer.ts";
import {
  tcpParams,
  type TestServer,
  waitForEvents,
  withServer,
} from "../_support/server.ts";

// The server tried as an attacker would: resets, handshakes that stop at
// every step (they must hold no test slot), floods from one address, results
// frames over the size cap and deeply nested, a UDP set-up that never says
// hello. After each, a real client must be served at once.

/** A real 4 MiB test; returns how long it took (ms). */
async function serves(port: number): Promise<number> {
  const started = performance.now();
  const outcome = await runClientSession({
    host: HOST,
    port,
    interval: 0,
    params: tcpParams({ bytes: 4 << 20 }),
  });
  assert.ok((outcome.summary.streams[0]?.bytesReceived ?? 0) >= 4 << 20);
  return performance.now() - started;
}

function udpParams(overrides: Partial<TestParams>): TestParams {
  return tcpTestParams({
    protocol: "udp",
    length: DEFAULT_UDP_BLKSIZE,
    ...overrides,
  });
}

async function waitUntil(check: () => boolean, ms = 5000): Promise<void> {
  const end = performance.now() + ms;
  while (!check()) {
    if (performance.now() > end) throw new Error("Timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

Deno.test({
  name:
    "serve() goes on accepting after 300 connections reset before and after their cookie",
  ignore: resetUnavailable() !== undefined,
  async fn() {
    try {
      await withServer(async (server) => {
        const cookie = encodeCookie(makeCookie());
        let made = 0;
        for (let i = 0; i < 150; i++) {
          if (resetConnection(server.port)) made++;
          if (resetConnection(server.port, cookie)) made++;
          // Let the accept loop meet the resets in its queue.
          if (i % 25 === 0) await new Promise((r) => setTimeout(r, 1));
        }
        assert.ok(made >= 250, `only ${made} of 300 connections were made`);
        // Every reset was met by accept (or by the cookie read) and skipped.
        await new Promise((r) => setTimeout(r, 200));
        await serves(server.port);
        await serves(server.port);
      });
    } finally {
      closeLibc();
    }
  },
});

Deno.test("serve() holds no test slot for handshakes: a real client starts at once while 20 peers stall at every step", async () => {
  await withServer(async (server) => {
    const stalled: Deno.TcpConn[] = [];
    try {
      for (let i = 0; i < 6; i++) {
        stalled.push((await withCookie(server.port)).conn);
      }
      for (let i = 0; i < 6; i++) {
        const { conn } = await afterParams(server.port, {
          tcp: true,
          time: 5,
          parallel: 1,
          len: 131072,
        });
        stalled.push(conn);
      }
      // Parameters, then one of two streams: stalled in stream set-up.
      for (let i = 0; i < 4; i++) {
        const { conn, cookie } = await afterParams(server.port, {
          tcp: true,
          time: 5,
          parallel: 2,
          len: 131072,
        });
        assert.equal(await readState(conn), STATES.CREATE_STREAMS);
        const data = await Deno.connect({ hostname: HOST, port: server.port });
        await writeAll(data, encodeCookie(cookie));
        stalled.push(conn, data);
      }
      // Connections that never send a byte.
      for (let i = 0; i < 4; i++) {
        stalled.push(await Deno.connect({ hostname: HOST, port: server.port }));
      }
      const took = await serves(server.port);
      // The handshake deadline is 10 s; the real client must not wait for it.
      assert.ok(took < 3000, `the real client took ${took.toFixed(0)} ms`);
      // The stalled peers are still waiting (not merely dropped early).
      assert.equal(await closedWithin(stalled[0] as Deno.TcpConn, 50), false);
    } finally {
      closeAll(stalled);
    }
  }, { maxTests: 2 });
});

Deno.test("serve() answers ACCESS_DENIED to a test whose streams connect while every slot is taken", async () => {
  await withServer(async (server) => {
    // A: parameters accepted, streams not yet connected: it holds no slot.
    const { conn, cookie } = await afterParams(server.port, {
      tcp: true,
      time: 1,
      parallel: 1,
      len: 131072,
    });
    const data = await Deno.connect({ hostname: HOST, port: server.port });
    try {
      assert.equal(await readState(conn), STATES.CREATE_STREAMS);
      // B takes the only slot and runs.
      const running = runClientSession({
        host: HOST,
        port: server.port,
        interval: 0,
        params: tcpParams({ time: 1 }),
      });
      running.catch(() => {});
      // B holds the slot once its test has started on the server (however
      // long a busy machine takes), and for the 1 s it runs.
      await waitForEvents(server, "start", 1);
      // A's stream arrives: its set-up is done, but no slot is free.
      await writeAll(data, encodeCookie(cookie));
      assert.equal(await readState(conn), STATES.ACCESS_DENIED);
      await running;
    } finally {
      closeAll([conn, data]);
    }
    assert.equal(server.errors.length, 0, String(server.errors[0]));
  }, { maxTests: 1 });
});

Deno.test("serve() closes a stalled handshake after its deadline, at every step", async () => {
  await withServer(async (server) => {
    const silent = await Deno.connect({ hostname: HOST, port: server.port });
    const cookieOnly = (await withCookie(server.port)).conn;
    const paramsOnly = (await afterParams(server.port, {
      tcp: true,
      time: 5,
      parallel: 1,
      len: 131072,
    })).conn;
    const started = performance.now();
    const closed = await Promise.all(
      [silent, cookieOnly, paramsOnly].map((c) => closedWithin(c, 3000)),
    );
    const took = performance.now() - started;
    closeAll([silent, cookieOnly, paramsOnly]);
    assert.deepEqual(closed, [true, true, true]);
    assert.ok(took >= 250 && took < 2500, `closed after ${took} ms`);
    await serves(server.port);
  }, { handshakeTimeoutMs: 400 });
});

Deno.test("serve() bounds the handshakes of one address: the longest waiting are closed, a real client is served", async () => {
  await withServer(async (server) => {
    const flood: Deno.TcpConn[] = [];
    try {
      for (let i = 0; i < 100; i++) {
        flood.push(await Deno.connect({ hostname: HOST, port: server.port }));
      }
      await serves(server.port);
      const closed = await Promise.all(flood.map((c) => closedWithin(c, 300)));
      const open = closed.filter((c) => !c).length;
      assert.ok(open <= 16, `${open} silent connections still open`);
      // The newest survive; the oldest were shed.
      assert.equal(closed[0], true);
      assert.equal(closed.at(-1), false);
    } finally {
      closeAll(flood);
    }
  }, { maxHandshakesPerAddress: 16 });
});

Deno.test("serve() refuses results frames over the cap or nested too deep, and goes on", async (t) => {
  await withServer(async (server) => {
    const refused = async (frame: Uint8Array, detail: RegExp) => {
      const before = server.errors.length;
      const { control, data } = await atResults(server.port);
      try {
        await writeAll(control, frame).catch(() => {});
        assert.ok(await closedWithin(control, 5000));
      } finally {
        closeAll([control, data]);
      }
      await waitUntil(() => server.errors.length > before);
      const error = server.errors.at(-1);
      assert.ok(
        error instanceof ProtocolError &&
          error.code === ERROR_CODES.IERECVRESULTS,
        String(error),
      );
      assert.match(error.message, detail);
    };
    await t.step("4 MiB (the client's cap), over the server's", async () => {
      await refused(nestedFrame(4 << 20, 1000), /outside 1 to 262144 bytes/);
      await serves(server.port);
    });
    await t.step("within the cap, 100000 levels deep", async () => {
      await refused(
        nestedFrame(MAX_CLIENT_RESULTS_SIZE, 100_000),
        /nesting|deep/i,
      );
      await serves(server.port);
    });
    await t.step("eight deep frames at once", async () => {
      const peers = await Promise.all(
        Array.from({ length: 8 }, () => atResults(server.port)),
      );
      const before = server.errors.length;
      try {
        await Promise.all(
          peers.map(({ control }) =>
            writeAll(control, nestedFrame(MAX_CLIENT_RESULTS_SIZE, 100_000))
              .catch(() => {})
          ),
        );
        await waitUntil(() => server.errors.length >= before + 8);
      } finally {
        for (const p of peers) closeAll([p.control, p.data]);
      }
      await serves(server.port);
    });
    await t.step("results for more streams than the test has", async () => {
      const streams = Array.from({ length: 3 }, (_, i) => ({
        id: 1,
        bytes: i,
        retransmits: 0,
        jitter: 0,
        errors: 0,
        packets: 0,
        start_time: 0,
        end_time: 1,
      }));
      await refused(
        encodeJsonFrame({
          cpu_util_total: 0,
          cpu_util_user: 0,
          cpu_util_system: 0,
          sender_has_retransmits: 0,
          streams,
        }),
        /results for 3 streams, the test has 1/,
      );
    });
  });
});

Deno.test("serve() lets a UDP test from one address set up while another address stalls before its hello", async () => {
  const controller = new AbortController();
  // Dual-stack, so the stalled peer can come from ::1 and the real one from 127.0.0.1.
  const listener = listen({ port: 0 });
  const port = listener.addr.port;
  const errors: unknown[] = [];
  const done = serve(listener, {
    interval: 0,
    signal: controller.signal,
    onTestError: (error) => errors.push(error),
  });
  const stalled: Deno.TcpConn[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const { conn } = await afterParams(
        port,
        encodeParams(udpParams({ time: 1, bandwidth: 1_000_000 })),
        "::1",
      );
      // The second waits behind the first: set-ups from one address take
      // turns, because a hello carries no cookie.
      if (i === 0) assert.equal(await readState(conn), STATES.CREATE_STREAMS);
      stalled.push(conn);
    }
    const started = performance.now();
    const outcome = await runClientSession({
      host: HOST,
      port,
      interval: 0,
      params: udpParams({ time: 1, bandwidth: 10_000_000 }),
    });
    const took = performance.now() - started;
    assert.ok(took < 4000, `the UDP test took ${took.toFixed(0)} ms`);
    assert.ok((outcome.summary.streams[0]?.bytesReceived ?? 0) > 0);
  } finally {
    closeAll(stalled);
    controller.abort();
    await done;
  }
});

/** Keeps `TestServer` in use for the type checker when tests are filtered. */
export type { TestServer };
