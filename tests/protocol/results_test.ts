import assert from "node:assert/strict";
import {
  decodeResults,
  encodeResults,
  MAX_RESULTS_SIZE,
  type TestResults,
} from "../../lib/protocol/results.ts";
import { encodeJsonFrame, readJsonFrame } from "../../lib/protocol/codec.ts";
import { ERROR_CODES, ProtocolError } from "../../lib/errors.ts";
import { MemoryReader } from "../_support/memory.ts";

// Results texts come from tcpdump captures of iperf3 3.12 (reference doc §2.4
// and §4). 3.12 prints -1 as 18446744073709551615 (cJSON's unsigned
// conversion); JSON.parse reads that as 2^64.

/** A 3.12 client's results, `-P 2 -O 1 --get-server-output` (§4), complete. */
const CLIENT_RESULTS_TEXT =
  '{"cpu_util_total":4.4438884235959932,"cpu_util_user":3.14999128512233,"cpu_util_system":1.293847196481287,"sender_has_retransmits":1,"congestion_used":"cubic","streams":[{"id":1,"bytes":12451840,"retransmits":0,"jitter":0,"errors":0,"packets":0,"start_time":0,"end_time":0.99999},{"id":3,"bytes":12451840,"retransmits":0,"jitter":0,"errors":0,"packets":0,"start_time":0,"end_time":1}]}';

const CLIENT_RESULTS: TestResults = {
  cpuUtilTotal: 4.4438884235959932,
  cpuUtilUser: 3.14999128512233,
  cpuUtilSystem: 1.293847196481287,
  senderHasRetransmits: 1,
  congestionUsed: "cubic",
  streams: [
    {
      id: 1,
      bytes: 12451840,
      retransmits: 0,
      jitter: 0,
      errors: 0,
      packets: 0,
      startTime: 0,
      endTime: 0.99999,
    },
    {
      id: 3,
      bytes: 12451840,
      retransmits: 0,
      jitter: 0,
      errors: 0,
      packets: 0,
      startTime: 0,
      endTime: 1,
    },
  ],
};

/**
 * A 3.12 server's results (§2.4). The capture elides the three CPU figures,
 * so those are stand-ins; every other byte is as captured.
 */
const SERVER_RESULTS_TEXT =
  '{"cpu_util_total":0.03,"cpu_util_user":0.01,"cpu_util_system":0.02,"sender_has_retransmits":18446744073709551615,"congestion_used":"bbr","streams":[{"id":1,"bytes":131072,"retransmits":18446744073709551615,"jitter":0,"errors":0,"packets":0,"start_time":0,"end_time":1.000368}]}';

const SERVER_RESULTS: TestResults = {
  cpuUtilTotal: 0.03,
  cpuUtilUser: 0.01,
  cpuUtilSystem: 0.02,
  senderHasRetransmits: -1,
  congestionUsed: "bbr",
  streams: [
    {
      id: 1,
      bytes: 131072,
      retransmits: -1,
      jitter: 0,
      errors: 0,
      packets: 0,
      startTime: 0,
      endTime: 1.000368,
    },
  ],
};

/** The ProtocolError `decodeResults(wire)` throws; fails the test if it returns. */
function resultsError(wire: unknown): ProtocolError {
  let result: TestResults;
  try {
    result = decodeResults(wire as Record<string, unknown>);
  } catch (error) {
    assert.ok(
      error instanceof ProtocolError,
      `expected ProtocolError, got ${String(error)}`,
    );
    return error;
  }
  assert.fail(
    `expected ${JSON.stringify(wire)} to be refused, got ${
      JSON.stringify(result)
    }`,
  );
}

function parsed(text: string): Record<string, unknown> {
  return JSON.parse(text);
}

Deno.test("decodeResults() maps 18446744073709551615 to -1", () => {
  const wire = parsed(SERVER_RESULTS_TEXT);
  assert.equal(wire["sender_has_retransmits"], 18446744073709552000);
  const r = decodeResults(wire);
  assert.equal(r.senderHasRetransmits, -1);
  assert.equal(r.streams[0]?.retransmits, -1);
  assert.deepEqual(r, SERVER_RESULTS);
});

Deno.test("decodeResults() maps any value at or above 2^63 to -1", () => {
  for (const text of ["9223372036854775808", "18446744073709551614", "1e20"]) {
    const wire = parsed(
      SERVER_RESULTS_TEXT.replaceAll("18446744073709551615", text),
    );
    const r = decodeResults(wire);
    assert.equal(r.senderHasRetransmits, -1, text);
    assert.equal(r.streams[0]?.retransmits, -1, text);
  }
});

Deno.test("decodeResults() keeps -1 as 3.14+ sends it", () => {
  const wire = parsed(
    SERVER_RESULTS_TEXT.replaceAll("18446744073709551615", "-1"),
  );
  assert.deepEqual(decodeResults(wire), SERVER_RESULTS);
});

Deno.test("decodeResults() keeps ordinary retransmit counts", () => {
  const wire = parsed(
    SERVER_RESULTS_TEXT.replace(
      '"retransmits":18446744073709551615',
      '"retransmits":4242',
    ).replace(
      '"sender_has_retransmits":18446744073709551615',
      '"sender_has_retransmits":1',
    ),
  );
  const r = decodeResults(wire);
  assert.equal(r.senderHasRetransmits, 1);
  assert.equal(r.streams[0]?.retransmits, 4242);
});

Deno.test("decodeResults() reads a 3.12 client's results", () => {
  assert.deepEqual(decodeResults(parsed(CLIENT_RESULTS_TEXT)), CLIENT_RESULTS);
});

Deno.test("decodeResults() reads a 3.12 results frame off the wire through readJsonFrame()", async () => {
  const body = new TextEncoder().encode(SERVER_RESULTS_TEXT);
  const bytes = new Uint8Array(4 + body.byteLength);
  new DataView(bytes.buffer).setUint32(0, body.byteLength);
  bytes.set(body, 4);
  for (const chunk of [1, 3, Infinity]) {
    const wire = await readJsonFrame(new MemoryReader(bytes, chunk), {
      code: ERROR_CODES.IERECVRESULTS,
      maxSize: MAX_RESULTS_SIZE,
    });
    assert.deepEqual(decodeResults(wire), SERVER_RESULTS);
  }
});

Deno.test("decodeResults() rejects a missing top-level key with IERECVRESULTS", () => {
  for (
    const key of [
      "cpu_util_total",
      "cpu_util_user",
      "cpu_util_system",
      "sender_has_retransmits",
      "streams",
    ]
  ) {
    const wire = parsed(CLIENT_RESULTS_TEXT);
    delete wire[key];
    assert.equal(resultsError(wire).code, ERROR_CODES.IERECVRESULTS, key);
  }
});

Deno.test("decodeResults() rejects a stream without a required key with IERECVRESULTS", () => {
  for (
    const key of ["id", "bytes", "retransmits", "jitter", "errors", "packets"]
  ) {
    const wire = parsed(CLIENT_RESULTS_TEXT);
    const streams = wire["streams"] as Record<string, unknown>[];
    delete streams[1]?.[key];
    assert.equal(resultsError(wire).code, ERROR_CODES.IERECVRESULTS, key);
  }
});

Deno.test("decodeResults() rejects wrongly typed values with IERECVRESULTS", () => {
  const cases: [string, string][] = [
    ['"cpu_util_total":4.4438884235959932', '"cpu_util_total":"4.4"'],
    ['"sender_has_retransmits":1', '"sender_has_retransmits":true'],
    ['"sender_has_retransmits":1', '"sender_has_retransmits":null'],
    ['"bytes":12451840', '"bytes":"12451840"'],
    ['"id":3', '"id":[3]'],
    ['"jitter":0', '"jitter":{}'],
  ];
  for (const [from, to] of cases) {
    assert.ok(CLIENT_RESULTS_TEXT.includes(from), from);
    const wire = parsed(CLIENT_RESULTS_TEXT.replace(from, to));
    assert.equal(resultsError(wire).code, ERROR_CODES.IERECVRESULTS, to);
  }
});

Deno.test("decodeResults() rejects streams that are not an array of objects", () => {
  const base = parsed(CLIENT_RESULTS_TEXT);
  for (const streams of [{}, "[]", 1, null, [null], [1], ["stream"]]) {
    assert.equal(
      resultsError({ ...base, streams }).code,
      ERROR_CODES.IERECVRESULTS,
      JSON.stringify(streams),
    );
  }
});

Deno.test("decodeResults() accepts an empty stream list", () => {
  const r = decodeResults({ ...parsed(CLIENT_RESULTS_TEXT), streams: [] });
  assert.deepEqual(r.streams, []);
});

Deno.test("decodeResults() defaults absent start_time and end_time to 0", () => {
  // Peers older than 3.2 send neither.
  const wire = parsed(CLIENT_RESULTS_TEXT);
  for (const stream of wire["streams"] as Record<string, unknown>[]) {
    delete stream["start_time"];
    delete stream["end_time"];
  }
  const r = decodeResults(wire);
  for (const stream of r.streams) {
    assert.equal(stream.startTime, 0);
    assert.equal(stream.endTime, 0);
  }
  assert.equal(r.streams[0]?.bytes, 12451840);
});

Deno.test("decodeResults() leaves out congestion_used and server output when absent", () => {
  const wire = parsed(CLIENT_RESULTS_TEXT);
  delete wire["congestion_used"];
  const r = decodeResults(wire);
  assert.equal("congestionUsed" in r, false);
  assert.equal("serverOutputText" in r, false);
  assert.equal("serverOutputJson" in r, false);
});

Deno.test("decodeResults() carries congestion_used, server_output_text and server_output_json", () => {
  const text =
    "Accepted connection from 127.0.0.1, port 50564\n[  5] local 127.0.0.1 port 5638 connected to 127.0.0.1 port 50572\n";
  const json = { start: { version: "iperf 3.12" }, intervals: [], end: {} };
  const r = decodeResults({
    ...parsed(SERVER_RESULTS_TEXT),
    "congestion_used": "cubic",
    "server_output_text": text,
    "server_output_json": json,
  });
  assert.equal(r.congestionUsed, "cubic");
  assert.equal(r.serverOutputText, text);
  assert.deepEqual(r.serverOutputJson, json);
});

Deno.test("decodeResults() ignores unknown keys", () => {
  const wire = parsed(CLIENT_RESULTS_TEXT);
  wire["future"] = { a: 1 };
  for (const stream of wire["streams"] as Record<string, unknown>[]) {
    stream["future"] = 2;
  }
  assert.deepEqual(decodeResults(wire), CLIENT_RESULTS);
});

/**
 * A UDP stream's results as iperf3 3.14+ send them (3.21's `send_results`,
 * `-u -R -O 1` sender): `omitted_errors` after `errors`, `omitted_packets`
 * after `packets`, both always present.
 */
const UDP_321_STREAM_TEXT =
  '{"id":1,"bytes":1460000,"retransmits":-1,"jitter":0,"errors":0,"omitted_errors":0,"packets":1200,"omitted_packets":200,"start_time":0,"end_time":1.000112}';

Deno.test("decodeResults() reads omitted_errors and omitted_packets of a 3.14+ peer", () => {
  const wire = parsed(SERVER_RESULTS_TEXT);
  wire["streams"] = [JSON.parse(UDP_321_STREAM_TEXT)];
  const stream = decodeResults(wire).streams[0];
  assert.equal(stream?.packets, 1200);
  assert.equal(stream?.omittedPackets, 200);
  assert.equal(stream?.omittedErrors, 0);
  // 3.12 sends neither: nothing is made up.
  const old = decodeResults(parsed(SERVER_RESULTS_TEXT)).streams[0];
  assert.equal(old !== undefined && "omittedPackets" in old, false);
  assert.equal(old !== undefined && "omittedErrors" in old, false);
});

Deno.test("encodeResults() writes omitted_errors and omitted_packets where iperf3 3.14+ puts them", () => {
  const w = encodeResults({
    ...SERVER_RESULTS,
    streams: [{
      id: 1,
      bytes: 1460000,
      retransmits: -1,
      jitter: 0,
      errors: 0,
      omittedErrors: 0,
      packets: 1200,
      omittedPackets: 200,
      startTime: 0,
      endTime: 1.000112,
    }],
  });
  assert.equal(
    JSON.stringify((w["streams"] as unknown[])[0]),
    UDP_321_STREAM_TEXT,
  );
});

Deno.test("encodeResults() puts keys in iperf3's order", () => {
  const w = encodeResults({
    ...SERVER_RESULTS,
    serverOutputText: "x",
    serverOutputJson: { y: 1 },
  });
  assert.deepEqual(Object.keys(w), [
    "cpu_util_total",
    "cpu_util_user",
    "cpu_util_system",
    "sender_has_retransmits",
    "congestion_used",
    "server_output_text",
    "server_output_json",
    "streams",
  ]);
  const streams = w["streams"] as Record<string, unknown>[];
  assert.deepEqual(Object.keys(streams[0] ?? {}), [
    "id",
    "bytes",
    "retransmits",
    "jitter",
    "errors",
    "packets",
    "start_time",
    "end_time",
  ]);
});

Deno.test("encodeResults() reproduces a 3.12 client's results JSON", () => {
  // Byte for byte, apart from the shortest round-trip form of one double
  // (4.4438884235959932 prints as 4.443888423595993 in JavaScript).
  assert.equal(
    JSON.stringify(encodeResults(CLIENT_RESULTS)),
    JSON.stringify(JSON.parse(CLIENT_RESULTS_TEXT)),
  );
  assert.equal(
    JSON.stringify(encodeResults(CLIENT_RESULTS)),
    CLIENT_RESULTS_TEXT.replace("4.4438884235959932", "4.443888423595993"),
  );
});

Deno.test("encodeResults() writes -1 as -1 like iperf3 3.14+", () => {
  assert.equal(
    JSON.stringify(encodeResults(SERVER_RESULTS)),
    SERVER_RESULTS_TEXT.replaceAll("18446744073709551615", "-1"),
  );
});

Deno.test("encodeResults() leaves out congestion_used and server output when absent", () => {
  const { congestionUsed: _, ...rest } = CLIENT_RESULTS;
  const w = encodeResults(rest);
  assert.equal("congestion_used" in w, false);
  assert.equal("server_output_text" in w, false);
  assert.equal("server_output_json" in w, false);
});

Deno.test("decodeResults() round-trips encodeResults()", async () => {
  const rich: TestResults[] = [
    CLIENT_RESULTS,
    SERVER_RESULTS,
    {
      cpuUtilTotal: 0,
      cpuUtilUser: 0,
      cpuUtilSystem: 0,
      senderHasRetransmits: 0,
      streams: [],
    },
    {
      cpuUtilTotal: 12.5,
      cpuUtilUser: 7.25,
      cpuUtilSystem: 5.25,
      senderHasRetransmits: -1,
      congestionUsed: "bbr",
      serverOutputText: "Server output \u2713\nline 2\n",
      serverOutputJson: {
        start: { connected: [{ socket: 5 }] },
        end: { "sum_received": { bytes: 2 ** 40, "bits_per_second": 1.5e9 } },
      },
      streams: [1, 3, 4, 5].map((id) => ({
        id,
        bytes: id * 1e9,
        retransmits: id === 4 ? -1 : id * 7,
        jitter: 0.000123 * id,
        errors: id * 3,
        packets: id * 1000,
        startTime: 0,
        endTime: 10.000042,
      })),
    },
  ];
  for (const r of rich) {
    assert.deepEqual(decodeResults(encodeResults(r)), r);
    // And through a frame, as it travels.
    const frame = encodeJsonFrame(encodeResults(r));
    const wire = await readJsonFrame(new MemoryReader(frame, 3), {
      code: ERROR_CODES.IERECVRESULTS,
      maxSize: MAX_RESULTS_SIZE,
    });
    assert.deepEqual(decodeResults(wire), r);
  }
});
