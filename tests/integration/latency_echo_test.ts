/**
 * The server's answer to `--latency` probes, driven by a raw client on the
 * loopback interface: only probes of a test that asked, with its cookie and
 * the magic, from its client's address, at most 64 bytes, within the rate;
 * TEST_START waits for the last idle probe (at most a second); a test with
 * iperf3's parameters sees nothing of it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { writeAll } from "../../lib/net/io.ts";
import {
  encodeCookie,
  encodeState,
  readState,
} from "../../lib/protocol/codec.ts";
import {
  encodeLatencyProbe,
  type ProbeKind,
} from "../../lib/protocol/latency_probe.ts";
import { STATES } from "../../lib/protocol/states.ts";
import { ECHO_BURST, IDLE_PROBE_HOLD_MS } from "../../lib/session/server.ts";
import { afterParams, HOST } from "../_support/raw_peer.ts";
import { waitForEvents, withServer } from "../_support/server.ts";

/** Another loopback address: not the test's client. */
const OTHER_HOST = "127.0.0.2";

const TCP_PARAMS = {
  tcp: true,
  omit: 0,
  time: 0,
  num: 1 << 20,
  blockcount: 0,
  parallel: 1,
  len: 131072,
  "pacing_timer": 1000,
  "client_version": "3.12",
};

/** A raw test up to the moment its one TCP stream is connected. */
async function rawTest(
  port: number,
  params: Record<string, unknown>,
): Promise<{ control: Deno.TcpConn; data: Deno.TcpConn; cookie: string }> {
  const { conn: control, cookie } = await afterParams(port, params);
  assert.equal(await readState(control), STATES.CREATE_STREAMS);
  const data = await Deno.connect({ hostname: HOST, port });
  await writeAll(data, encodeCookie(cookie));
  return { control, data, cookie };
}

function probe(cookie: string, kind: ProbeKind = "idle", seq = 1): Uint8Array {
  return encodeLatencyProbe({ kind, cookie, seq, sentMs: performance.now() });
}

/**
 * Sends `datagrams` to the server's port from a fresh socket and collects
 * what comes back within `waitMs`.
 */
async function replies(
  port: number,
  datagrams: Uint8Array[],
  options: { from?: string; waitMs?: number } = {},
): Promise<Uint8Array[]> {
  const socket = Deno.listenDatagram({
    hostname: options.from ?? HOST,
    port: 0,
    transport: "udp",
  });
  const got: Uint8Array[] = [];
  const timer = setTimeout(() => socket.close(), options.waitMs ?? 250);
  try {
    for (const d of datagrams) {
      await socket.send(d, { transport: "udp", hostname: HOST, port });
    }
    while (true) {
      const [data] = await socket.receive();
      got.push(data);
    }
  } catch {
    // Closed by the timer: the wait is over.
  } finally {
    clearTimeout(timer);
    try {
      socket.close();
    } catch {
      // Already closed.
    }
  }
  return got;
}

/** Milliseconds until the server's next state, which must be `state`. */
async function msUntil(conn: Deno.TcpConn, state: number): Promise<number> {
  const start = performance.now();
  assert.equal(await readState(conn), state);
  return performance.now() - start;
}

function close(...conns: Deno.TcpConn[]): void {
  for (const c of conns) {
    try {
      c.close();
    } catch {
      // Already closed.
    }
  }
}

Deno.test("serve() answers the latency probes of a test that asked for them, and only those", async (t) => {
  await withServer(async (server) => {
    const { control, data, cookie } = await rawTest(server.port, {
      ...TCP_PARAMS,
      "iperf_ts_latency": true,
    });
    try {
      await t.step(
        "a probe with the test's cookie comes straight back",
        async () => {
          const sent = probe(cookie);
          const got = await replies(server.port, [sent]);
          assert.equal(got.length, 1);
          assert.deepEqual(got[0], sent);
        },
      );

      await t.step("nothing else is answered", async () => {
        const other = "a".repeat(36);
        const wrongMagic = probe(cookie);
        wrongMagic[0] = 0x58;
        const tooLong = new Uint8Array(65);
        tooLong.set(probe(cookie));
        const hello = new TextEncoder().encode("9876");
        const got = await replies(server.port, [
          probe(other),
          wrongMagic,
          tooLong,
          hello,
          new Uint8Array(55),
        ]);
        assert.equal(got.length, 0);
        // The right probe from an address that is not the test's client.
        const elsewhere = await replies(server.port, [probe(cookie)], {
          from: OTHER_HOST,
        });
        assert.equal(elsewhere.length, 0);
      });

      await t.step("a flood is answered within the rate", async () => {
        await new Promise((r) => setTimeout(r, 300));
        const flood = Array.from(
          { length: 100 },
          (_, i) => probe(cookie, "idle", i),
        );
        const got = await replies(server.port, flood, { waitMs: 300 });
        assert.ok(
          got.length >= ECHO_BURST / 2 && got.length <= ECHO_BURST + 5,
          `${got.length} of 100 answered`,
        );
      });

      // The idle probes' second is over by now: the test runs.
      assert.equal(await readState(control), STATES.TEST_START);
      assert.equal(await readState(control), STATES.TEST_RUNNING);

      await t.step("probes are answered while the test runs", async () => {
        const got = await replies(server.port, [probe(cookie, "loaded", 7)]);
        assert.equal(got.length, 1);
      });
    } finally {
      await writeAll(control, encodeState(STATES.CLIENT_TERMINATE)).catch(
        () => {},
      );
      close(control, data);
    }

    await t.step("nothing once the test is over", async () => {
      await waitForEvents(server, "ended", 1);
      const got = await replies(server.port, [probe(cookie, "loaded", 8)]);
      assert.equal(got.length, 0);
    });
  });
});

Deno.test("serve() sends TEST_START once the last idle probe is answered", async () => {
  await withServer(async (server) => {
    const { control, data, cookie } = await rawTest(server.port, {
      ...TCP_PARAMS,
      "iperf_ts_latency": true,
    });
    try {
      const start = performance.now();
      const got = await replies(server.port, [probe(cookie, "idle-last")], {
        waitMs: 50,
      });
      assert.equal(got.length, 1);
      assert.equal(await readState(control), STATES.TEST_START);
      const ms = performance.now() - start;
      assert.ok(ms < IDLE_PROBE_HOLD_MS / 2, `TEST_START after ${ms} ms`);
    } finally {
      close(control, data);
    }
  });
});

Deno.test("serve() holds TEST_START for the idle probes at most a second", async () => {
  await withServer(async (server) => {
    const { control, data } = await rawTest(server.port, {
      ...TCP_PARAMS,
      "iperf_ts_latency": true,
    });
    try {
      const ms = await msUntil(control, STATES.TEST_START);
      assert.ok(
        ms > IDLE_PROBE_HOLD_MS - 200 && ms < IDLE_PROBE_HOLD_MS + 1000,
        `TEST_START after ${ms.toFixed(0)} ms`,
      );
    } finally {
      close(control, data);
    }
  });
});

Deno.test("serve() changes nothing for a test with iperf3's parameters", async () => {
  await withServer(async (server) => {
    for (const params of [TCP_PARAMS]) {
      const { control, data, cookie } = await rawTest(server.port, params);
      try {
        // No hold: TEST_START follows the last stream at once.
        const ms = await msUntil(control, STATES.TEST_START);
        assert.ok(ms < 300, `TEST_START after ${ms.toFixed(0)} ms`);
        // No echo (a TCP test does not even open the UDP port).
        const got = await replies(server.port, [probe(cookie)]);
        assert.equal(got.length, 0);
      } finally {
        close(control, data);
      }
    }
  });
});

Deno.test("serve() answers no probe of a UDP test with iperf3's parameters", async () => {
  await withServer(async (server) => {
    const { conn: control, cookie } = await afterParams(server.port, {
      udp: true,
      omit: 0,
      time: 0,
      num: 4096,
      parallel: 1,
      len: 1024,
      bandwidth: 1 << 20,
    });
    const stream = Deno.listenDatagram({
      hostname: HOST,
      port: 0,
      transport: "udp",
    });
    try {
      assert.equal(await readState(control), STATES.CREATE_STREAMS);
      const to = {
        transport: "udp" as const,
        hostname: HOST,
        port: server.port,
      };
      await stream.send(new TextEncoder().encode("9876"), to);
      const [reply] = await stream.receive();
      assert.equal(new TextDecoder().decode(reply), "6789");
      const ms = await msUntil(control, STATES.TEST_START);
      assert.ok(ms < 300, `TEST_START after ${ms.toFixed(0)} ms`);
      // The port is open (the stream uses it), and probes get nothing.
      const got = await replies(server.port, [probe(cookie)]);
      assert.equal(got.length, 0);
    } finally {
      stream.close();
      close(control);
    }
  });
});
