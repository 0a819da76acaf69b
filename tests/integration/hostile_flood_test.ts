import assert from "node:assert/strict";
import { ProtocolError } from "../../lib/errors.ts";
import { writeAll } from "../../lib/net/io.ts";
import {
  COOKIE_SIZE,
  encodeCookie,
  encodeJsonFrame,
  makeCookie,
  readState,
} from "../../lib/protocol/codec.ts";
import { encodeParams } from "../../lib/protocol/params.ts";
import { STATES } from "../../lib/protocol/states.ts";
import { runClientSession } from "../../lib/session/client.ts";
import { HANDSHAKE_TIMEOUT_MS } from "../../lib/session/server.ts";
import { tcpParams, type TestServer, withServer } from "../_support/server.ts";

// Many hostile connections at once against our in-process server: a request
// cut at every byte offset, and dozens of connections that never say
// anything. Each time the server must keep serving real clients.

const HOST = "127.0.0.1";

/** Connections opened at the same time in the prefix sweep. */
const CONCURRENCY = 10;

/** How long the server may take to close a connection we half-closed. */
const CLOSE_WAIT_MS = 5000;

/** A normal 4 MiB test must pass after (or during) whatever the hostile peers did. */
async function assertServes(server: TestServer): Promise<void> {
  const outcome = await runClientSession({
    host: HOST,
    port: server.port,
    interval: 0,
    params: tcpParams({ bytes: 4 << 20 }),
  });
  assert.ok((outcome.summary.streams[0]?.bytesReceived ?? 0) >= 4 << 20);
}

/** Cookie, then the parameters frame: what a client sends before CREATE_STREAMS. */
function requestBytes(): Uint8Array {
  const cookie = encodeCookie(makeCookie());
  const frame = encodeJsonFrame(encodeParams(tcpParams({ time: 1 })));
  const bytes = new Uint8Array(cookie.byteLength + frame.byteLength);
  bytes.set(cookie);
  bytes.set(frame, cookie.byteLength);
  return bytes;
}

/** Reads until the server closes; fails after `ms`. Returns every byte it sent. */
async function readToEnd(conn: Deno.TcpConn, ms: number): Promise<number[]> {
  const received: number[] = [];
  const buf = new Uint8Array(64);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
  });
  try {
    while (true) {
      const read = conn.read(buf);
      const n = await Promise.race([read, timeout]);
      if (n === "timeout") {
        // Closing the socket ends the pending read; let it settle.
        conn.close();
        await read.catch(() => {});
        throw new Error(`The server did not close the connection in ${ms} ms`);
      }
      if (n === null) return received;
      received.push(...buf.subarray(0, n));
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `work` over `items`, at most `limit` at a time. */
async function pool<T, R>(
  items: T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: limit }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i] as T);
    }
  });
  await Promise.all(workers);
  return results;
}

async function waitUntil(
  condition: () => boolean,
  what: () => string,
): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`Timed out waiting: ${what()}`);
}

function errorCodes(errors: unknown[]): string {
  const counts = new Map<string, number>();
  for (const e of errors) {
    const key = e instanceof ProtocolError
      ? `ProtocolError ${e.code}`
      : e instanceof Error
      ? `${e.name}: ${e.message}`
      : String(e);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return JSON.stringify(Object.fromEntries(counts));
}

Deno.test("serve() survives a parameters frame cut at every offset", async (t) => {
  await withServer(async (server) => {
    const length = requestBytes().byteLength;
    const offsets = Array.from({ length: length + 1 }, (_, i) => i);

    await t.step(
      `half-close after each of ${length + 1} prefixes and read the answer`,
      async () => {
        const before = server.errors.length;
        const send = async (i: number) => {
          const bytes = requestBytes().subarray(0, i);
          const conn = await Deno.connect({
            hostname: HOST,
            port: server.port,
          });
          try {
            await writeAll(conn, bytes);
            conn.closeWrite();
            return { i, reply: await readToEnd(conn, CLOSE_WAIT_MS) };
          } finally {
            try {
              conn.close();
            } catch {
              // readToEnd closed it on a timeout.
            }
          }
        };
        const replies = await pool(offsets, CONCURRENCY, send);
        // Ten at once against eight test slots: some are refused as busy
        // (ACCESS_DENIED alone). Send those again, one at a time, so that
        // every offset is seen by a test.
        let denied = 0;
        for (const entry of replies) {
          for (
            let attempt = 0;
            attempt < 50 && entry.reply[0] === (STATES.ACCESS_DENIED & 0xff);
            attempt++
          ) {
            assert.deepEqual(entry.reply, [0xff], `prefix of ${entry.i} bytes`);
            denied++;
            await new Promise((resolve) => setTimeout(resolve, 10));
            entry.reply = (await send(entry.i)).reply;
          }
        }
        let sessions = 0;
        for (const { i, reply } of replies) {
          const where = `prefix of ${i} bytes: server sent [${reply}]`;
          if (i < COOKIE_SIZE) {
            // No complete cookie: dropped without a word.
            assert.deepEqual(reply, [], where);
          } else {
            // A test was started; PARAM_EXCHANGE, and CREATE_STREAMS only
            // once the whole frame is there. Then the server closes.
            assert.deepEqual(
              reply,
              i === length
                ? [STATES.PARAM_EXCHANGE, STATES.CREATE_STREAMS]
                : [STATES.PARAM_EXCHANGE],
              where,
            );
            sessions++;
          }
        }
        assert.equal(
          sessions,
          length + 1 - COOKIE_SIZE,
          `cut requests that became tests (${denied} refusals as busy)`,
        );
        // Every test that was started ended in a reported error.
        await waitUntil(
          () => server.errors.length - before >= sessions,
          () =>
            `${sessions} errors, have ${server.errors.length - before}: ${
              errorCodes(server.errors.slice(before))
            }`,
        );
        const errors = server.errors.slice(before);
        assert.equal(errors.length, sessions, errorCodes(errors));
        for (const error of errors) {
          assert.ok(
            error instanceof ProtocolError,
            `expected ProtocolError, got ${errorCodes([error])}`,
          );
        }
        await assertServes(server);
      },
    );

    await t.step(
      `close at once after each of ${length + 1} prefixes`,
      async () => {
        const before = server.errors.length;
        await pool(offsets, CONCURRENCY, async (i) => {
          const bytes = requestBytes().subarray(0, i);
          using conn = await Deno.connect({
            hostname: HOST,
            port: server.port,
          });
          await writeAll(conn, bytes);
        });
        // The abrupt closes race the server's PARAM_EXCHANGE (reset or end of
        // stream); either way each started test ends in a reported error.
        await waitUntil(
          () => server.errors.length > before,
          () => "no error reported",
        );
        await assertServes(server);
      },
    );
  });
});

Deno.test("serve() is not blocked by 50 silent connections held open", async () => {
  const rssBefore = Deno.memoryUsage().rss;
  let rssOpen = 0;
  await withServer(async (server) => {
    const held: Deno.TcpConn[] = [];
    try {
      const started = performance.now();
      for (let i = 0; i < 50; i++) {
        held.push(await Deno.connect({ hostname: HOST, port: server.port }));
      }
      for (let i = 0; i < 10; i++) {
        const conn = await Deno.connect({ hostname: HOST, port: server.port });
        held.push(conn);
        await writeAll(conn, encodeCookie(makeCookie()).subarray(0, 18));
      }
      for (let i = 0; i < 3; i++) await assertServes(server);
      rssOpen = Deno.memoryUsage().rss;
      // The server still holds the silent ones (its handshake timer has not
      // run out): one of them can still become a test.
      const elapsed = performance.now() - started;
      assert.ok(
        elapsed < HANDSHAKE_TIMEOUT_MS - 1000,
        `the three tests took ${Math.round(elapsed)} ms, too long to prove ` +
          "anything about the silent connections",
      );
      const late = held[0] as Deno.TcpConn;
      await writeAll(late, encodeCookie(makeCookie()));
      assert.equal(await readState(late), STATES.PARAM_EXCHANGE);
      assert.deepEqual(server.errors, []);
    } finally {
      for (const conn of held) conn.close();
    }
    await assertServes(server);
  });
  const rssAfter = Deno.memoryUsage().rss;
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  assert.ok(
    rssAfter - rssBefore < 64 * 2 ** 20 && rssOpen - rssBefore < 64 * 2 ** 20,
    `RSS grew too much: before ${mib(rssBefore)}, with 60 connections open ` +
      `${mib(rssOpen)}, after ${mib(rssAfter)}`,
  );
});
