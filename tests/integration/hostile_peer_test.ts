import assert from "node:assert/strict";
import { ERROR_CODES, ProtocolError } from "../../lib/errors.ts";
import { writeAll } from "../../lib/net/io.ts";
import {
  encodeCookie,
  encodeJsonFrame,
  encodeState,
  makeCookie,
  readState,
} from "../../lib/protocol/codec.ts";
import { STATES } from "../../lib/protocol/states.ts";
import { runClientSession } from "../../lib/session/client.ts";
import {
  tcpParams,
  type TestServer,
  waitForEvents,
  withServer,
} from "../_support/server.ts";

/** A normal test must still pass after whatever the hostile peer did. */
async function assertServes(server: TestServer): Promise<void> {
  const outcome = await runClientSession({
    host: "127.0.0.1",
    port: server.port,
    interval: 0,
    params: tcpParams({ bytes: 4 << 20 }),
  });
  assert.ok((outcome.summary.streams[0]?.bytesReceived ?? 0) >= 4 << 20);
}

/** Opens a control connection and gets as far as PARAM_EXCHANGE. */
async function openTest(port: number): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(conn, encodeCookie(makeCookie()));
  assert.equal(await readState(conn), STATES.PARAM_EXCHANGE);
  return conn;
}

/** Reads until the server closes the connection; returns every byte it sent. */
async function readToEnd(conn: Deno.TcpConn): Promise<Uint8Array> {
  const chunks: number[] = [];
  const buf = new Uint8Array(256);
  while (true) {
    const n = await conn.read(buf);
    if (n === null) return new Uint8Array(chunks);
    chunks.push(...buf.subarray(0, n));
  }
}

/** Runs a raw client through TEST_RUNNING with one stream; the test then misbehaves. */
async function startRawTest(
  port: number,
): Promise<{ control: Deno.TcpConn; data: Deno.TcpConn }> {
  const cookie = makeCookie();
  const control = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(control, encodeCookie(cookie));
  assert.equal(await readState(control), STATES.PARAM_EXCHANGE);
  await writeAll(
    control,
    encodeJsonFrame({ tcp: true, time: 10, parallel: 1, len: 131072 }),
  );
  assert.equal(await readState(control), STATES.CREATE_STREAMS);
  const data = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(data, encodeCookie(cookie));
  assert.equal(await readState(control), STATES.TEST_START);
  assert.equal(await readState(control), STATES.TEST_RUNNING);
  return { control, data };
}

Deno.test("serve() survives hostile peers and serves the next client each time", async (t) => {
  await withServer(async (server) => {
    await t.step("random bytes, then close", async () => {
      const conn = await Deno.connect({
        hostname: "127.0.0.1",
        port: server.port,
      });
      await writeAll(conn, crypto.getRandomValues(new Uint8Array(100)));
      assert.equal((await readToEnd(conn)).byteLength, 0);
      conn.close();
      await assertServes(server);
    });

    await t.step("half a cookie, then close", async () => {
      const conn = await Deno.connect({
        hostname: "127.0.0.1",
        port: server.port,
      });
      await writeAll(conn, encodeCookie(makeCookie()).subarray(0, 20));
      conn.closeWrite();
      assert.equal((await readToEnd(conn)).byteLength, 0);
      conn.close();
      await assertServes(server);
    });

    await t.step(
      "a silent connection does not hold up another client",
      async () => {
        const silent = await Deno.connect({
          hostname: "127.0.0.1",
          port: server.port,
        });
        try {
          await assertServes(server);
        } finally {
          silent.close();
        }
      },
    );

    await t.step("an absurd JSON length", async () => {
      const before = server.errors.length;
      const conn = await openTest(server.port);
      await writeAll(conn, new Uint8Array([0xff, 0xff, 0xff, 0xff]));
      await readToEnd(conn);
      conn.close();
      await waitUntil(() => server.errors.length > before);
      const error = server.errors.at(-1);
      assert.ok(
        error instanceof ProtocolError &&
          error.code === ERROR_CODES.IERECVPARAMS,
        String(error),
      );
      await assertServes(server);
    });

    await t.step("a JSON frame cut short", async () => {
      const before = server.errors.length;
      const conn = await openTest(server.port);
      const frame = encodeJsonFrame({
        tcp: true,
        time: 1,
        parallel: 1,
        len: 131072,
      });
      await writeAll(conn, frame.subarray(0, frame.byteLength - 5));
      conn.closeWrite();
      await readToEnd(conn);
      conn.close();
      await waitUntil(() => server.errors.length > before);
      await assertServes(server);
    });

    await t.step("broken JSON", async () => {
      const conn = await openTest(server.port);
      const body = new TextEncoder().encode('{"tcp":true,"time":');
      const frame = new Uint8Array(4 + body.byteLength);
      new DataView(frame.buffer).setUint32(0, body.byteLength);
      frame.set(body, 4);
      await writeAll(conn, frame);
      await readToEnd(conn);
      conn.close();
      await assertServes(server);
    });

    await t.step(
      "out-of-range parameters get SERVER_ERROR with iperf3's number",
      async () => {
        const conn = await openTest(server.port);
        await writeAll(
          conn,
          encodeJsonFrame({ tcp: true, time: 1, parallel: 0, len: 131072 }),
        );
        const reply = await readToEnd(conn);
        conn.close();
        const view = new DataView(reply.buffer);
        assert.equal(reply.byteLength, 9);
        assert.equal(view.getInt8(0), STATES.SERVER_ERROR);
        assert.equal(view.getInt32(1), ERROR_CODES.IENUMSTREAMS);
        assert.equal(view.getInt32(5), 0);
        await assertServes(server);
      },
    );

    await t.step("a client that vanishes mid-test", async () => {
      const before = server.errors.length;
      const { control, data } = await startRawTest(server.port);
      await writeAll(data, new Uint8Array(1 << 20));
      data.close();
      control.close();
      await waitUntil(() => server.errors.length > before);
      const error = server.errors.at(-1);
      assert.ok(
        error instanceof ProtocolError &&
          error.code === ERROR_CODES.IECTRLCLOSE,
        String(error),
      );
      await assertServes(server);
    });

    await t.step(
      "a connection with an unknown cookie never joins a running test",
      async () => {
        const running = runClientSession({
          host: "127.0.0.1",
          port: server.port,
          interval: 0,
          params: tcpParams({ time: 1 }),
        });
        const starts = server.events.filter((e) => e.kind === "start").length;
        await waitForEvents(server, "start", starts + 1);
        // Tests run side by side, so the stranger is taken for a new test's
        // control connection (the protocol cannot tell them apart): it is
        // asked for parameters and never becomes a stream of the running one.
        const stranger = await Deno.connect({
          hostname: "127.0.0.1",
          port: server.port,
        });
        await writeAll(stranger, encodeCookie(makeCookie()));
        assert.equal(await readState(stranger), STATES.PARAM_EXCHANGE);
        stranger.close();
        const outcome = await running;
        assert.equal(outcome.summary.streams.length, 1);
        assert.ok((outcome.summary.streams[0]?.bytesReceived ?? 0) > 0);
      },
    );

    await t.step(
      "a client state byte the protocol does not allow ends that test only",
      async () => {
        const { control, data } = await startRawTest(server.port);
        await writeAll(control, encodeState(STATES.DISPLAY_RESULTS));
        await readToEnd(control);
        data.close();
        control.close();
        await assertServes(server);
      },
    );
  });
});

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("Timed out waiting for the condition");
}
