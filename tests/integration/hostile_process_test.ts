/**
 * The hostile campaign against a real server process (`main.ts -s` in a
 * child Deno), so its descriptors and RSS can be read from /proc before and
 * after: resets, a descriptor limit with 150 idle connections, stalls at
 * every handshake step, wrong-typed parameter documents, results bombs.
 * After each class a real client must be served, and at the end the server
 * must hold the descriptors it started with.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { writeAll } from "../../lib/net/io.ts";
import { encodeCookie, makeCookie } from "../../lib/protocol/codec.ts";
import { runClientSession } from "../../lib/session/client.ts";
import { MAX_CLIENT_RESULTS_SIZE } from "../../lib/session/server.ts";
import {
  closeLibc,
  resetConnection,
  resetUnavailable,
} from "../_support/reset.ts";
import {
  afterParams,
  atResults,
  closeAll,
  HOST,
  nestedFrame,
} from "../_support/raw_peer.ts";
import { tcpParams } from "../_support/server.ts";

const MAIN = fileURLToPath(new URL("../../main.ts", import.meta.url));

/** The child's descriptor limit: low enough that 150 idle connections exhaust it. */
const NOFILE = 64;

function skipReason(): string | undefined {
  if (Deno.build.os !== "linux") return "needs Linux (/proc, prlimit)";
  try {
    new Deno.Command("prlimit", { args: ["--version"] }).outputSync();
  } catch {
    return "prlimit (util-linux) is not on PATH";
  }
  return resetUnavailable();
}

const skip = skipReason();
if (skip) {
  // deno-lint-ignore no-console
  console.log(`hostile_process_test: skipped: ${skip}`);
}

function freePort(): number {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

/**
 * The process's RSS and open descriptors. Deno reads another Deno process's
 * /proc entries only with --allow-all, so `cat` and `ls` read them.
 */
function usage(pid: number): { rssMib: number; fds: number } {
  const text = (command: string, path: string) =>
    new TextDecoder().decode(
      new Deno.Command(command, { args: [path] }).outputSync().stdout,
    );
  const status = text("cat", `/proc/${pid}/status`);
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? "NaN");
  const fds = text("ls", `/proc/${pid}/fd`).split("\n").filter((l) => l);
  return { rssMib: kb / 1024, fds: fds.length };
}

async function serves(port: number, parallel = 1): Promise<void> {
  const outcome = await runClientSession({
    host: HOST,
    port,
    interval: 0,
    params: tcpParams({ bytes: 4 << 20, parallel }),
  });
  const received = outcome.summary.streams.reduce(
    (sum, s) => sum + s.bytesReceived,
    0,
  );
  assert.ok(received >= 4 << 20, `received ${received}`);
}

/** Connects, retrying while the server is not listening yet (bounded). */
async function waitListening(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      (await Deno.connect({ hostname: HOST, port })).close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  throw new Error(`server on ${port} did not start`);
}

/** Reads whatever the server says until it closes (bounded by `ms`). */
async function drain(conn: Deno.TcpConn, ms: number): Promise<void> {
  const buf = new Uint8Array(1024);
  const timer = setTimeout(() => closeAll([conn]), ms);
  try {
    while (await conn.read(buf) !== null) { /* discard */ }
  } catch {
    // Closed by the timer or reset by the server.
  } finally {
    clearTimeout(timer);
    closeAll([conn]);
  }
}

/** Waits (at most `ms`) for the server's first answer byte, then closes. */
async function firstByte(conn: Deno.TcpConn, ms: number): Promise<void> {
  const timer = setTimeout(() => closeAll([conn]), ms);
  try {
    await conn.read(new Uint8Array(1));
  } catch {
    // Closed by the timer or reset by the server.
  } finally {
    clearTimeout(timer);
    closeAll([conn]);
  }
}

/** Wrong-typed and out-of-range parameter documents, from a fixed seed. */
function paramDocuments(count: number): Record<string, unknown>[] {
  const keys = [
    "tcp",
    "udp",
    "time",
    "num",
    "blockcount",
    "parallel",
    "len",
    "bandwidth",
    "omit",
    "window",
    "MSS",
    "TOS",
    "title",
    "extra_data",
    "congestion",
    "reverse",
    "bidirectional",
    "authtoken",
    "pacing_timer",
    "burst",
  ];
  const values: unknown[] = [
    null,
    true,
    -1,
    0,
    2 ** 31,
    2 ** 53,
    1e308,
    0.5,
    "x",
    "x".repeat(3000),
    [],
    {},
    [1, [2, [3]]],
    { a: { b: 1 } },
  ];
  let seed = 12345;
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  return Array.from({ length: count }, () => {
    const doc: Record<string, unknown> = {
      tcp: true,
      time: 1,
      parallel: 1,
      len: 131072,
    };
    for (let k = 0; k <= next(3); k++) {
      doc[keys[next(keys.length)] as string] = values[next(values.length)];
    }
    return doc;
  });
}

/** A raw test through EXCHANGE_RESULTS, then `frame` as its results. */
async function resultsBomb(port: number, frame: Uint8Array): Promise<void> {
  const { control, data } = await atResults(port);
  try {
    await writeAll(control, frame).catch(() => {});
    await drain(control, 5000);
  } finally {
    closeAll([control, data]);
  }
}

Deno.test({
  name:
    "main.ts -s under a descriptor limit survives the hostile campaign and ends with the descriptors it started with",
  ignore: skip !== undefined,
  async fn() {
    const port = freePort();
    const child = new Deno.Command("prlimit", {
      args: [
        `--nofile=${NOFILE}`,
        "deno",
        "run",
        "--quiet",
        "--no-prompt",
        "--unstable-net",
        "--allow-net=127.0.0.1",
        "--allow-ffi",
        MAIN,
        "-s",
        "--data-threads",
        "2",
        "-B",
        HOST,
        "-p",
        String(port),
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    const figures: string[] = [];
    let failure: unknown;
    try {
      await waitListening(port);
      // Both data-plane threads start with the first test of two streams;
      // their descriptors belong to the baseline.
      await serves(port, 2);
      // prlimit runs its command in its own process (exec): the pid is deno's.
      const pid = child.pid;
      const before = usage(pid);
      const fdsBefore = before.fds;
      const rssBefore = before.rssMib;
      let rssPeak = rssBefore;
      const sample = () => {
        rssPeak = Math.max(rssPeak, usage(pid).rssMib);
      };

      // Resets before and after the cookie.
      const cookie = encodeCookie(makeCookie());
      for (let i = 0; i < 100; i++) {
        resetConnection(port);
        resetConnection(port, cookie);
        if (i % 20 === 0) await new Promise((r) => setTimeout(r, 1));
      }
      await new Promise((r) => setTimeout(r, 100));
      await serves(port);
      sample();

      // 150 idle connections against a limit of 64 descriptors.
      const idle: Deno.TcpConn[] = [];
      try {
        for (let i = 0; i < 150; i++) {
          idle.push(await Deno.connect({ hostname: HOST, port }));
        }
        await new Promise((r) => setTimeout(r, 200));
        await serves(port);
        sample();
      } finally {
        closeAll(idle);
      }
      await serves(port);

      // Stalls after the cookie and after the parameters.
      const stalled: Deno.TcpConn[] = [];
      try {
        for (let i = 0; i < 8; i++) {
          const c = await Deno.connect({ hostname: HOST, port });
          await writeAll(c, encodeCookie(makeCookie()));
          stalled.push(c);
          stalled.push(
            (await afterParams(port, { tcp: true, time: 5, parallel: 1 })).conn,
          );
        }
        await serves(port);
      } finally {
        closeAll(stalled);
      }

      // Wrong-typed parameter documents, eight at a time.
      const docs = paramDocuments(240);
      for (let i = 0; i < docs.length; i += 8) {
        await Promise.all(
          docs.slice(i, i + 8).map(async (doc) => {
            const { conn } = await afterParams(port, doc);
            // SERVER_ERROR, or CREATE_STREAMS for a document that passed;
            // either way the peer then goes.
            await firstByte(conn, 2000);
          }),
        );
      }
      sample();
      await serves(port);

      // Results bombs: eight at once, deep within the cap and over it.
      await Promise.all(
        Array.from(
          { length: 8 },
          (_, i) =>
            resultsBomb(
              port,
              nestedFrame(
                i % 2 ? MAX_CLIENT_RESULTS_SIZE : 4 << 20,
                i % 2 ? 100_000 : 1_000_000,
              ),
            ),
        ),
      );
      sample();
      await serves(port);

      // The last test's descriptors close a moment after it is served, later
      // on a busy machine: the count is read until it is back (at most 5 s).
      // A server that leaks keeps them, and fails after that.
      const deadline = performance.now() + 5000;
      let after = usage(pid);
      while (after.fds > fdsBefore + 2 && performance.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        after = usage(pid);
      }
      const fdsAfter = after.fds;
      const rssAfter = after.rssMib;
      figures.push(
        `server descriptors ${fdsBefore} -> ${fdsAfter}`,
        `server RSS ${rssBefore.toFixed(1)} -> ${
          rssAfter.toFixed(1)
        } MiB (peak seen ${rssPeak.toFixed(1)} MiB)`,
      );
      // deno-lint-ignore no-console
      console.log(`hostile campaign: ${figures.join("; ")}`);
      assert.ok(
        fdsAfter <= fdsBefore + 2,
        `descriptors ${fdsBefore} -> ${fdsAfter}`,
      );
      assert.ok(rssPeak - rssBefore < 150, figures.join("; "));
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      closeLibc();
      try {
        child.kill("SIGTERM");
      } catch {
        // Gone already.
      }
      const status = await child.status;
      const text = await stderr;
      if (failure === undefined) {
        // It never stopped on its own: SIGTERM ended it.
        assert.equal(status.signal === null ? status.code : 0, 0, text);
        assert.match(
          text,
          /warning: unable to accept connection: Too many open files/,
        );
        assert.doesNotMatch(text, / {4}at /);
      } else {
        // deno-lint-ignore no-console
        console.log(`server stderr: ${text}`);
      }
    }
  },
});
