/**
 * Real `iperf3 -c -J` clients against our server (`serve()`, in-process)
 * while dozens of hostile connections press on it: silent ones, half a
 * cookie, random bytes, an unknown cookie followed by garbage, an absurd
 * JSON length and broken JSON. The real clients run one after another, then
 * 2 and 8 at the same time with mixed flags, and must all complete with
 * plausible figures.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ERROR_CODES, ProtocolError } from "../../lib/errors.ts";
import { writeAll } from "../../lib/net/io.ts";
import { encodeCookie, makeCookie } from "../../lib/protocol/codec.ts";
import {
  endStreams,
  endSum,
  interopTest,
  type Iperf3Json,
  LOOPBACK,
  type OurServer,
  runIperf3Client,
  withOurServer,
} from "./_iperf3.ts";

/** Connections that connect and never send a byte, per round of pressure. */
const SILENT = 50;

/** Hostile connections that start a test and break it (see `pressure`). */
const BROKEN_TESTS = 3;

/** A frame header and body, as raw bytes. */
function frame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.byteLength);
  new DataView(out.buffer).setUint32(0, body.byteLength);
  out.set(body, 4);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

/**
 * Opens one round of hostile connections and leaves them open (they go into
 * `held`, which the caller closes):
 * - `SILENT` connections that send nothing;
 * - 5 that send half a cookie;
 * - random bytes (never a cookie: the first byte is not printable);
 * - an unknown cookie, then garbage (its length field 0xdeadbeef);
 * - a cookie and the JSON length 0xffffffff;
 * - a cookie and a frame of broken JSON.
 *
 * The last three are taken for new tests (a cookie nobody knows starts one)
 * and each must end in a reported error; the others are dropped silently.
 *
 * @returns how many hostile connections were opened
 */
async function pressure(port: number, held: Deno.TcpConn[]): Promise<number> {
  const open = async (bytes?: Uint8Array) => {
    const conn = await Deno.connect({ hostname: LOOPBACK, port });
    held.push(conn);
    if (bytes) await writeAll(conn, bytes);
  };
  for (let i = 0; i < SILENT; i++) await open();
  for (let i = 0; i < 5; i++) {
    await open(encodeCookie(makeCookie()).subarray(0, 18));
  }
  const random = crypto.getRandomValues(new Uint8Array(200));
  random[0] = 0x01;
  await open(random);
  await open(
    concat(
      encodeCookie("w".repeat(36)),
      new Uint8Array([0xde, 0xad, 0xbe, 0xef]),
      crypto.getRandomValues(new Uint8Array(100)),
    ),
  );
  await open(
    concat(
      encodeCookie(makeCookie()),
      new Uint8Array([0xff, 0xff, 0xff, 0xff]),
    ),
  );
  await open(
    concat(
      encodeCookie(makeCookie()),
      frame(new TextEncoder().encode('{"tcp":true,"time":1,"parallel":')),
    ),
  );
  return SILENT + 5 + 4;
}

/**
 * Counts the tests our server has numbered so far, to wait for "listening
 * for test #n", which the server emits once every earlier test has ended.
 */
class TestCounter {
  #started = 0;
  readonly #server: OurServer;

  constructor(server: OurServer) {
    this.#server = server;
  }

  /** `n` more tests were (or are being) started. */
  add(n: number): void {
    this.#started += n;
  }

  /** Resolves once every test counted so far has ended. */
  idle(): Promise<void> {
    return this.#server.listeningFor(this.#started + 1, 20_000);
  }
}

/** Checks the errors our server reported: only the hostile tests, all refused parameters. */
function assertOnlyHostileErrors(server: OurServer, rounds: number): void {
  const describe = server.errors.map(String).join("; ");
  assert.equal(server.errors.length, rounds * BROKEN_TESTS, describe);
  for (const error of server.errors) {
    assert.ok(
      error instanceof ProtocolError &&
        error.code === ERROR_CODES.IERECVPARAMS,
      describe,
    );
  }
}

function what(flags: string[], doc: Iperf3Json): string {
  return `iperf3 ${flags.join(" ")}: end ${JSON.stringify(doc.end)}`;
}

/** The checks every finished client gets: no error, data moved both ways of the count. */
function assertPlausible(flags: string[], doc: Iperf3Json): void {
  const sent = endSum(doc, "sum_sent");
  const received = endSum(doc, "sum_received");
  assert.ok(sent.bytes > 0, `${what(flags, doc)}: nothing sent`);
  assert.ok(received.bytes > 0, `${what(flags, doc)}: nothing received`);
  assert.ok(
    received.bytes <= sent.bytes,
    `${what(flags, doc)}: received more than sent`,
  );
  const parallel = flags.includes("-P")
    ? Number(flags[flags.indexOf("-P") + 1])
    : 1;
  assert.equal(endStreams(doc).length, parallel, what(flags, doc));
  if (flags.includes("-u")) {
    const udp = received as unknown as Record<string, number>;
    assert.ok((udp["packets"] ?? 0) > 0, `${what(flags, doc)}: no packets`);
    assert.ok(
      (udp["lost_percent"] ?? 100) < 5,
      `${what(flags, doc)}: lost ${udp["lost_percent"]}%`,
    );
    // iperf3 paces the sending side at -b 10M.
    assert.ok(
      sent.bits_per_second > 7e6 && sent.bits_per_second < 13e6,
      `${what(flags, doc)}: sent at ${sent.bits_per_second} bit/s`,
    );
  } else {
    // TCP: the receiver got most of what was sent within the test time.
    assert.ok(
      received.bytes >= sent.bytes * 0.5,
      `${what(flags, doc)}: received ${received.bytes} of ${sent.bytes}`,
    );
  }
}

/** Runs the clients at the same time; every one must complete. */
async function runTogether(
  port: number,
  cases: string[][],
): Promise<void> {
  const docs = await Promise.all(
    cases.map((flags) => runIperf3Client(port, flags)),
  );
  docs.forEach((doc, i) => assertPlausible(cases[i] as string[], doc));
}

interopTest(
  "serve() completes real iperf3 clients while hostile connections press on it",
  async (t) => {
    await withOurServer(async (server) => {
      const held: Deno.TcpConn[] = [];
      const tests = new TestCounter(server);
      let rounds = 0;
      let hostile = 0;
      // The server drops a connection that sends no cookie in 10 s, so each
      // phase gets a fresh round of pressure (the old rounds stay open too).
      const press = async () => {
        hostile += await pressure(server.port, held);
        rounds++;
        tests.add(BROKEN_TESTS);
        await tests.idle();
        assertOnlyHostileErrors(server, rounds);
      };
      try {
        await t.step("3 iperf3 -c -t 1, one after another", async () => {
          await press();
          for (let i = 0; i < 3; i++) {
            const flags = ["-t", "1"];
            const doc = await runIperf3Client(server.port, flags);
            assertPlausible(flags, doc);
            tests.add(1);
            await tests.idle();
          }
        });

        await t.step("2 iperf3 clients at the same time", async () => {
          await press();
          const cases = [["-t", "2"], ["-t", "2", "-R"]];
          await runTogether(server.port, cases);
          tests.add(cases.length);
          await tests.idle();
        });

        await t.step("8 iperf3 clients at the same time", async () => {
          await press();
          const mixed = [
            ["-t", "2"],
            ["-t", "2", "-R"],
            ["-t", "2", "-P", "2"],
            ["-t", "2", "-u", "-b", "10M"],
          ];
          const cases = [...mixed, ...mixed];
          await runTogether(server.port, cases);
          tests.add(cases.length);
          await tests.idle();
        });

        assertOnlyHostileErrors(server, rounds);
        assert.equal(hostile, 3 * (SILENT + 9));
      } finally {
        for (const conn of held) conn.close();
      }
    });
  },
);
