import assert from "node:assert/strict";
import { cli, type CliRun } from "../_support/cli.ts";
import { ERROR_CODES } from "../../lib/errors.ts";
import { closeQuietly } from "../../lib/net/conn.ts";
import { writeAll } from "../../lib/net/io.ts";
import {
  encodeState,
  expectState,
  MAX_JSON_DEPTH,
  readCookie,
  readJsonFrame,
} from "../../lib/protocol/codec.ts";
import { MAX_RESULTS_SIZE } from "../../lib/protocol/results.ts";
import { STATES } from "../../lib/protocol/states.ts";

// A fake iperf3 server, written here with the codec, that answers
// `--get-server-output` with a `server_output_json` of any nesting: the
// attack of a hostile server on a `-J` client.

/** Arrays nested `levels` deep, as text (a value this deep cannot be built and stringified by recursion). */
function deepArraysText(levels: number): string {
  return "[".repeat(levels) + "]".repeat(levels);
}

/** Objects nested `levels` deep, built without recursion. */
function deepObjects(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { end: "here" };
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

/** The results frame of the fake server, with `serverOutputJson` spliced in as text. */
function resultsFrame(serverOutputJson: string): Uint8Array {
  const head = JSON.stringify({
    "cpu_util_total": 1.5,
    "cpu_util_user": 1,
    "cpu_util_system": 0.5,
    "sender_has_retransmits": -1,
    "streams": [{
      "id": 1,
      "bytes": 1000,
      "retransmits": -1,
      "jitter": 0,
      "errors": 0,
      "packets": 0,
      "start_time": 0,
      "end_time": 1,
    }],
  });
  const text = `${head.slice(0, -1)},"server_output_json":${serverOutputJson}}`;
  const body = new TextEncoder().encode(text);
  assert.ok(body.byteLength <= MAX_RESULTS_SIZE);
  const frame = new Uint8Array(4 + body.byteLength);
  new DataView(frame.buffer).setUint32(0, body.byteLength);
  frame.set(body, 4);
  return frame;
}

/**
 * Serves one test on 127.0.0.1 as an iperf3 server would, answering with
 * `results`; closes everything and awaits the session after `body`.
 */
async function withFakeServer(
  results: Uint8Array,
  body: (port: number) => Promise<void>,
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const drains: Promise<void>[] = [];
  const session = (async () => {
    const control = await listener.accept();
    conns.push(control);
    const cookie = await readCookie(control);
    await writeAll(control, encodeState(STATES.PARAM_EXCHANGE));
    const params = await readJsonFrame(control);
    assert.equal(params["get_server_output"], 1);
    await writeAll(control, encodeState(STATES.CREATE_STREAMS));
    const data = await listener.accept();
    conns.push(data);
    assert.equal(await readCookie(data), cookie);
    drains.push(drain(data));
    await writeAll(control, encodeState(STATES.TEST_START));
    await writeAll(control, encodeState(STATES.TEST_RUNNING));
    await expectState(control, STATES.TEST_END);
    await writeAll(control, encodeState(STATES.EXCHANGE_RESULTS));
    await readJsonFrame(control, {
      maxSize: MAX_RESULTS_SIZE,
      code: ERROR_CODES.IERECVRESULTS,
    });
    await writeAll(control, results);
    // A client that refused the results closes without reading on; one that
    // took them says IPERF_DONE. Either ends the test.
    try {
      await writeAll(control, encodeState(STATES.DISPLAY_RESULTS));
      await expectState(control, STATES.IPERF_DONE);
    } catch {
      // The client has gone.
    }
  })();
  try {
    await body(listener.addr.port);
  } catch (error) {
    await stop();
    throw error;
  }
  const outcome = await stop();
  if (outcome?.status === "rejected") throw outcome.reason;

  /**
   * The client has finished: whatever the session still waits for is not
   * coming, so closing unblocks it.
   */
  async function stop(): Promise<PromiseSettledResult<void> | undefined> {
    closeQuietly(listener);
    for (const conn of conns) closeQuietly(conn);
    const [settled] = await Promise.allSettled([session]);
    for (const conn of conns) closeQuietly(conn);
    await Promise.allSettled(drains);
    return settled;
  }
}

/** Reads and drops a stream's bytes until it closes. */
async function drain(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(128 * 1024);
  try {
    while (await conn.read(buf) !== null) { /* drop */ }
  } catch {
    // Closed by the test's cleanup.
  }
}

function clientRun(port: number): Promise<CliRun> {
  return cli([
    "-c",
    "127.0.0.1",
    "-p",
    String(port),
    "-t",
    "1",
    "-J",
    "--get-server-output",
  ]);
}

function assertNoStackTrace(text: string): void {
  assert.doesNotMatch(text, /^\s+at /m);
  assert.doesNotMatch(text, /Maximum call stack/);
  assert.doesNotMatch(text, /RangeError/);
}

Deno.test("runCli() -J --get-server-output refuses a server_output_json nested 100000 levels with one JSON document", async () => {
  await withFakeServer(resultsFrame(deepArraysText(100_000)), async (port) => {
    const { code, stdout, stderr } = await clientRun(port);
    assertNoStackTrace(stdout);
    assertNoStackTrace(stderr);
    assert.equal(code, 1);
    const doc = JSON.parse(stdout);
    assert.equal(
      doc.error,
      `unable to receive results: JSON nesting deeper than ${MAX_JSON_DEPTH} levels`,
    );
    assert.equal(doc["server_output_json"], undefined);
    assert.ok(typeof doc.start === "object");
  });
});

Deno.test("runCli() -J --get-server-output prints a server_output_json nested just within the limit", async () => {
  // The results frame is level 1, so its member may nest MAX_JSON_DEPTH - 1.
  const output = deepObjects(MAX_JSON_DEPTH - 1);
  await withFakeServer(
    resultsFrame(JSON.stringify(output)),
    async (port) => {
      const { code, stdout, stderr } = await clientRun(port);
      assertNoStackTrace(stdout);
      assertNoStackTrace(stderr);
      assert.equal(code, 0, stdout);
      const doc = JSON.parse(stdout);
      assert.equal(doc.error, undefined);
      assert.deepEqual(doc["server_output_json"], output);
      assert.ok(typeof doc.end === "object");
    },
  );
});
