/**
 * A raw peer for hostile tests: a client that speaks the control protocol by
 * hand as far as a case needs, then stalls or misbehaves.
 *
 * @module
 */

import assert from "node:assert/strict";
import { writeAll } from "../../lib/net/io.ts";
import {
  encodeCookie,
  encodeJsonFrame,
  encodeState,
  makeCookie,
  readState,
} from "../../lib/protocol/codec.ts";
import { STATES } from "../../lib/protocol/states.ts";

/** Where the test servers listen. */
export const HOST = "127.0.0.1";

/** Connects and sends a fresh cookie; returns the connection and the cookie. */
export async function withCookie(
  port: number,
  hostname = HOST,
): Promise<{ conn: Deno.TcpConn; cookie: string }> {
  const cookie = makeCookie();
  const conn = await Deno.connect({ hostname, port });
  await writeAll(conn, encodeCookie(cookie));
  return { conn, cookie };
}

/** Cookie, PARAM_EXCHANGE, the parameters: then the peer says nothing more. */
export async function afterParams(
  port: number,
  params: Record<string, unknown>,
  hostname = HOST,
): Promise<{ conn: Deno.TcpConn; cookie: string }> {
  const opened = await withCookie(port, hostname);
  assert.equal(await readState(opened.conn), STATES.PARAM_EXCHANGE);
  await writeAll(opened.conn, encodeJsonFrame(params));
  return opened;
}

/** Whether the server has closed `conn` (read ends within `ms`). */
export async function closedWithin(
  conn: Deno.TcpConn,
  ms: number,
): Promise<boolean> {
  const buf = new Uint8Array(64);
  const timer = setTimeout(() => conn.close(), ms);
  try {
    while (true) {
      if (await conn.read(buf) === null) return true;
    }
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

export function closeAll(conns: Deno.TcpConn[]): void {
  for (const conn of conns) {
    try {
      conn.close();
    } catch {
      // Closed by a check already.
    }
  }
}

/** A raw test through TEST_END; the control connection then awaits the client's results. */
export async function atResults(
  port: number,
): Promise<{ control: Deno.TcpConn; data: Deno.TcpConn }> {
  const { conn: control, cookie } = await afterParams(port, {
    tcp: true,
    time: 0,
    num: 1 << 20,
    parallel: 1,
    len: 131072,
  });
  assert.equal(await readState(control), STATES.CREATE_STREAMS);
  const data = await Deno.connect({ hostname: HOST, port });
  await writeAll(data, encodeCookie(cookie));
  assert.equal(await readState(control), STATES.TEST_START);
  assert.equal(await readState(control), STATES.TEST_RUNNING);
  await writeAll(data, new Uint8Array(1 << 20));
  await writeAll(control, encodeState(STATES.TEST_END));
  assert.equal(await readState(control), STATES.EXCHANGE_RESULTS);
  return { control, data };
}

/** A results frame of `size` bytes nested `depth` deep: `[[[...0...]]]` padded with spaces. */
export function nestedFrame(size: number, depth: number): Uint8Array {
  const frame = new Uint8Array(4 + size).fill(0x20);
  new DataView(frame.buffer).setUint32(0, size);
  frame[4] = 0x7b; // {
  frame.set(new TextEncoder().encode('"streams":'), 5);
  const open = 15;
  frame.fill(0x5b, open, open + depth); // [
  frame[open + depth] = 0x30; // 0
  frame.fill(0x5d, open + depth + 1, open + 2 * depth + 1); // ]
  frame[3 + size] = 0x7d; // }
  return frame;
}
