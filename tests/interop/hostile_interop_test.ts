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
  HAVE_IPERF3,
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

/** The clients run at the same time: iperf3's plain, reverse, parallel and UDP modes. */
const MIXED = [
  ["-t", "2"],
  ["-t", "2", "-R"],
  ["-t", "2", "-P", "2"],
  ["-t", "2", "-u", "-b", "10M"],
];

/**
 * A finished client's document (runIperf3Client already checked exit code 0
 * and no "error"): data moved, one entry per stream, UDP datagrams arrived.
 */
function assertCompleted(flags: string[], doc: Iperf3Json): void {
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
  }
}

/**
 * `assertCompleted`, and figures a loopback test should reach even with 8
 * tests and the hostile connections on 2 cores: TCP delivers at least half
 * of what was sent within the test time (the sender is ahead only by what
 * the socket buffers hold, a few MB, so only a receiver starved to that
 * little fails); UDP at -b 10M is sent at 5 to 13 Mbit/s and loses under
 * 20 %. A server that serialises its tests or starves some (the bug below:
 * 40-70 % UDP loss) fails these; a busy CI machine's late timers and
 * short stalls do not.
 */
function assertPlausible(flags: string[], doc: Iperf3Json): void {
  assertCompleted(flags, doc);
  const sent = endSum(doc, "sum_sent");
  const received = endSum(doc, "sum_received");
  if (flags.includes("-u")) {
    const udp = received as unknown as Record<string, number>;
    assert.ok(
      (udp["lost_percent"] ?? 100) < 20,
      `${what(flags, doc)}: lost ${udp["lost_percent"]}%`,
    );
    assert.ok(
      sent.bits_per_second >= 5e6 && sent.bits_per_second < 13e6,
      `${what(flags, doc)}: sent at ${sent.bits_per_second} bit/s`,
    );
  } else {
    assert.ok(
      received.bytes >= sent.bytes * 0.5,
      `${what(flags, doc)}: received ${received.bytes} of ${sent.bytes}`,
    );
  }
}

/** Runs the clients at the same time and checks every document. */
async function runTogether(
  port: number,
  cases: string[][],
  check: (flags: string[], doc: Iperf3Json) => void,
): Promise<void> {
  const docs = await Promise.all(
    cases.map((flags) => runIperf3Client(port, flags)),
  );
  docs.forEach((doc, i) => check(cases[i] as string[], doc));
}

/** Our server under hostile pressure, for one test function. */
interface Siege {
  /** Opens a fresh round of hostile connections and waits until its broken tests have ended. */
  press(): Promise<void>;
  /** Counts `n` real tests that ran, and waits until the server has finished them. */
  ran(n: number): Promise<void>;
  /** Checks the server reported errors for the hostile tests only. */
  check(): void;
}

/**
 * Runs `fn` against our server; every hostile connection is closed
 * afterwards, before the server stops.
 */
async function underSiege(
  fn: (server: OurServer, siege: Siege) => Promise<void>,
): Promise<void> {
  await withOurServer(async (server) => {
    const held: Deno.TcpConn[] = [];
    const tests = new TestCounter(server);
    let rounds = 0;
    const siege: Siege = {
      press: async () => {
        const opened = await pressure(server.port, held);
        assert.equal(opened, SILENT + 9);
        rounds++;
        tests.add(BROKEN_TESTS);
        await tests.idle();
        assertOnlyHostileErrors(server, rounds);
      },
      ran: async (n) => {
        tests.add(n);
        await tests.idle();
      },
      check: () => assertOnlyHostileErrors(server, rounds),
    };
    try {
      await fn(server, siege);
    } finally {
      for (const conn of held) conn.close();
    }
  });
}

interopTest(
  "serve() completes real iperf3 clients while hostile connections press on it",
  async (t) => {
    // The server drops a connection that sends no cookie in 10 s, so each
    // phase gets a fresh round of pressure (the old rounds stay open too).
    await underSiege(async (server, siege) => {
      await t.step("3 iperf3 -c -t 1, one after another", async () => {
        await siege.press();
        for (let i = 0; i < 3; i++) {
          const flags = ["-t", "1"];
          assertPlausible(flags, await runIperf3Client(server.port, flags));
          await siege.ran(1);
        }
      });

      await t.step("2 iperf3 clients at the same time", async () => {
        await siege.press();
        const cases = [["-t", "2"], ["-t", "2", "-R"]];
        await runTogether(server.port, cases, assertPlausible);
        await siege.ran(cases.length);
      });

      await t.step("8 iperf3 clients at the same time complete", async () => {
        await siege.press();
        const cases = [...MIXED, ...MIXED];
        // Only completion here; the figures of 8 clients at once are checked
        // by the next test, on a fresh server.
        await runTogether(server.port, cases, assertCompleted);
        await siege.ran(cases.length);
      });

      siege.check();
    });
  },
);

// Eight tests at once on one event loop. This failed (40-70 % UDP loss,
// -R tests at 30-100 MB against about 1 GB for the others) until the TCP
// receive loop, like the send loop, yielded to the event loop every 0.5 ms:
// a read of buffered data completes without returning to Deno's event loop,
// so receivers that never wait starved the shared UDP socket and the senders.
Deno.test({
  name:
    "serve() gives 8 real iperf3 clients at once plausible figures under hostile pressure",
  ignore: !HAVE_IPERF3,
  fn: async () => {
    await underSiege(async (server, siege) => {
      await siege.press();
      const cases = [...MIXED, ...MIXED];
      await runTogether(server.port, cases, assertPlausible);
      await siege.ran(cases.length);
      siege.check();
    });
  },
});
