import assert from "node:assert/strict";
import {
  COOKIE_ALPHABET,
  COOKIE_SIZE,
  DEFAULT_MAX_JSON_SIZE,
  encodeCookie,
  encodeJsonFrame,
  encodeServerError,
  encodeState,
  expectState,
  makeCookie,
  readCookie,
  readJsonFrame,
  readServerErrorPayload,
  readState,
} from "../../lib/protocol/codec.ts";
import { STATES } from "../../lib/protocol/states.ts";
import { ERROR_CODES, ProtocolError } from "../../lib/errors.ts";
import { MemoryReader } from "../_support/memory.ts";

// Golden bytes come from tcpdump captures of iperf3 3.12 talking to itself on
// loopback (reference doc §2.1, §2.4, §2.9). Every reader is also run over
// MemoryReader with 1- and 3-byte chunks to prove short reads are handled.

/** Read chunk sizes every reader is exercised with: whole, 1 byte, 3 bytes. */
const CHUNKS = [Infinity, 1, 3];

/** `iperf3 -c 127.0.0.1 -t 1 -b 1M`: the cookie (§2.4). */
const GOLDEN_COOKIE = "wdzshohd7ensa7s3uptsqh4q6gmgtotgowyu";

/** `iperf3 -c 127.0.0.1 -t 1 -b 1M`: the 143-byte parameters JSON (§2.4). */
const GOLDEN_PARAMS_TEXT =
  '{"tcp":true,"omit":0,"time":1,"num":0,"blockcount":0,"parallel":1,"len":131072,"bandwidth":1000000,"pacing_timer":1000,"client_version":"3.12"}';

/** The same request as a frame: `00 00 00 8f` and the JSON. */
const GOLDEN_PARAMS_FRAME = concat(
  hex("00 00 00 8f"),
  utf8(GOLDEN_PARAMS_TEXT),
);

/**
 * A 3.12 server's results (§2.4). The capture elides the CPU figures, so the
 * three `cpu_util_*` values here are stand-ins; every other byte, including
 * the unsigned -1 (18446744073709551615), is as captured.
 */
const GOLDEN_SERVER_RESULTS_TEXT =
  '{"cpu_util_total":0.03,"cpu_util_user":0.01,"cpu_util_system":0.02,"sender_has_retransmits":18446744073709551615,"congestion_used":"bbr","streams":[{"id":1,"bytes":131072,"retransmits":18446744073709551615,"jitter":0,"errors":0,"packets":0,"start_time":0,"end_time":1.000368}]}';

function hex(text: string): Uint8Array {
  const bytes = text.split(" ").filter((s) => s !== "").map((s) =>
    parseInt(s, 16)
  );
  return new Uint8Array(bytes);
}

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

function frame(body: Uint8Array): Uint8Array {
  const header = new Uint8Array(4);
  new DataView(header.buffer).setUint32(0, body.byteLength);
  return concat(header, body);
}

/** The error a promise rejects with; fails the test if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    const value = await promise;
    assert.fail(`expected a rejection, resolved with ${JSON.stringify(value)}`);
  } catch (error) {
    if (error instanceof assert.AssertionError) throw error;
    return error;
  }
}

/** Asserts that `promise` rejects with a ProtocolError carrying `code`. */
async function assertProtocolError(
  promise: Promise<unknown>,
  code: number,
  what: string,
): Promise<ProtocolError> {
  const error = await rejection(promise);
  assert.ok(
    error instanceof ProtocolError,
    `${what}: expected ProtocolError, got ${String(error)}`,
  );
  assert.equal(error.code, code, `${what}: error code`);
  return error;
}

// --- cookie -----------------------------------------------------------------

Deno.test("makeCookie() returns 36 characters of [a-z2-7]", () => {
  assert.equal(COOKIE_ALPHABET, "abcdefghijklmnopqrstuvwxyz234567");
  for (let i = 0; i < 200; i++) {
    const cookie = makeCookie();
    assert.equal(cookie.length, 36);
    assert.match(cookie, /^[a-z2-7]{36}$/);
  }
});

Deno.test("makeCookie() returns a different cookie each time", () => {
  const cookies = new Set<string>();
  for (let i = 0; i < 50; i++) cookies.add(makeCookie());
  assert.equal(cookies.size, 50);
});

Deno.test("encodeCookie() produces the 37 bytes iperf3 3.12 sends", () => {
  assert.equal(COOKIE_SIZE, 37);
  const bytes = encodeCookie(GOLDEN_COOKIE);
  assert.deepEqual(bytes, concat(utf8(GOLDEN_COOKIE), hex("00")));
  // §2.1: `63 79 34 35 … 69 71 67 35 00`.
  const example = encodeCookie("cy45d4ucgpbiiuqobzxtfos7zedljqn2iqg5");
  assert.equal(example.byteLength, 37);
  assert.deepEqual(example.subarray(0, 4), hex("63 79 34 35"));
  assert.deepEqual(example.subarray(32), hex("69 71 67 35 00"));
});

Deno.test("encodeCookie() rejects wrong lengths", () => {
  for (
    const cookie of ["", "a", "a".repeat(35), "a".repeat(37), "a".repeat(72)]
  ) {
    assert.throws(
      () => encodeCookie(cookie),
      RangeError,
      `length ${cookie.length}`,
    );
  }
});

Deno.test("encodeCookie() rejects characters that are not printable ASCII", () => {
  for (const bad of [" ", "\0", "\x7f", "\n", "é", "\u2713"]) {
    const cookie = "a".repeat(20) + bad + "a".repeat(15);
    assert.equal(cookie.length, 36);
    assert.throws(() => encodeCookie(cookie), RangeError, JSON.stringify(bad));
  }
});

Deno.test("readCookie() reads the cookie iperf3 3.12 sent", async () => {
  const wire = concat(utf8(GOLDEN_COOKIE), hex("00"));
  for (const chunk of CHUNKS) {
    assert.equal(
      await readCookie(new MemoryReader(wire, chunk)),
      GOLDEN_COOKIE,
      `chunk ${chunk}`,
    );
  }
});

Deno.test("readCookie() round-trips encodeCookie()", async () => {
  for (const chunk of CHUNKS) {
    for (let i = 0; i < 20; i++) {
      const cookie = makeCookie();
      const reader = new MemoryReader(encodeCookie(cookie), chunk);
      assert.equal(await readCookie(reader), cookie);
      assert.equal(reader.remaining, 0);
    }
  }
  // Any printable ASCII, not only the alphabet makeCookie() draws from.
  const odd = "!~ABCDEFGHIJKLMNOPQRSTUVWXYZ{}[]<>01";
  assert.equal(await readCookie(new MemoryReader(encodeCookie(odd), 3)), odd);
});

Deno.test("readCookie() reads exactly 37 bytes and leaves the rest", async () => {
  const wire = concat(encodeCookie(GOLDEN_COOKIE), hex("09 0a"));
  for (const chunk of CHUNKS) {
    const reader = new MemoryReader(wire, chunk);
    assert.equal(await readCookie(reader), GOLDEN_COOKIE);
    assert.equal(reader.remaining, 2);
    assert.equal(await readState(reader), STATES.PARAM_EXCHANGE);
  }
});

Deno.test("readCookie() rejects every truncated prefix of a cookie", async () => {
  const wire = encodeCookie(GOLDEN_COOKIE);
  for (const chunk of CHUNKS) {
    for (let i = 0; i < wire.byteLength; i++) {
      await assertProtocolError(
        readCookie(new MemoryReader(wire.subarray(0, i), chunk)),
        ERROR_CODES.IERECVCOOKIE,
        `prefix ${i}, chunk ${chunk}`,
      );
    }
  }
});

Deno.test("readCookie() rejects a cookie whose 37th byte is not NUL", async () => {
  for (const last of [0x01, 0x20, 0x61, 0xff]) {
    const wire = encodeCookie(GOLDEN_COOKIE);
    wire[36] = last;
    for (const chunk of CHUNKS) {
      await assertProtocolError(
        readCookie(new MemoryReader(wire, chunk)),
        ERROR_CODES.IERECVCOOKIE,
        `last byte ${last}, chunk ${chunk}`,
      );
    }
  }
});

Deno.test("readCookie() rejects a cookie with a non-printable byte", async () => {
  for (const position of [0, 17, 35]) {
    for (const bad of [0x00, 0x09, 0x20, 0x7f, 0x80, 0xff]) {
      const wire = encodeCookie(GOLDEN_COOKIE);
      wire[position] = bad;
      for (const chunk of CHUNKS) {
        await assertProtocolError(
          readCookie(new MemoryReader(wire, chunk)),
          ERROR_CODES.IERECVCOOKIE,
          `byte ${bad} at ${position}, chunk ${chunk}`,
        );
      }
    }
  }
});

// --- state byte -------------------------------------------------------------

/** Every state byte seen in the 3.12 captures (§2.3, §2.4, §2.8, §2.9). */
const GOLDEN_STATES: [string, number][] = [
  ["09", STATES.PARAM_EXCHANGE],
  ["0a", STATES.CREATE_STREAMS],
  ["01", STATES.TEST_START],
  ["02", STATES.TEST_RUNNING],
  ["04", STATES.TEST_END],
  ["0d", STATES.EXCHANGE_RESULTS],
  ["0e", STATES.DISPLAY_RESULTS],
  ["10", STATES.IPERF_DONE],
  ["ff", STATES.ACCESS_DENIED],
  ["fe", STATES.SERVER_ERROR],
];

Deno.test("encodeState() produces iperf3's signed state bytes", () => {
  for (const [byte, state] of GOLDEN_STATES) {
    assert.deepEqual(encodeState(state), hex(byte), `state ${state}`);
  }
  assert.deepEqual(encodeState(STATES.SERVER_TERMINATE), hex("0b"));
  assert.deepEqual(encodeState(STATES.CLIENT_TERMINATE), hex("0c"));
});

Deno.test("readState() decodes iperf3's state bytes", async () => {
  const wire = hex(GOLDEN_STATES.map(([byte]) => byte).join(" "));
  for (const chunk of CHUNKS) {
    const reader = new MemoryReader(wire, chunk);
    for (const [byte, state] of GOLDEN_STATES) {
      assert.equal(await readState(reader), state, `byte ${byte}`);
    }
    assert.equal(reader.remaining, 0);
  }
});

Deno.test("readState() round-trips every signed byte", async () => {
  for (let state = -128; state <= 127; state++) {
    const bytes = encodeState(state);
    assert.equal(bytes.byteLength, 1);
    assert.equal(await readState(new MemoryReader(bytes)), state);
  }
});

Deno.test("readState() rejects a closed connection", async () => {
  // The only truncated prefix of a 1-byte message is the empty one.
  for (const chunk of CHUNKS) {
    const error = await assertProtocolError(
      readState(new MemoryReader(new Uint8Array(0), chunk)),
      ERROR_CODES.IECTRLCLOSE,
      `chunk ${chunk}`,
    );
    assert.equal(error.received, "end of stream");
  }
});

Deno.test("expectState() accepts the state it wants", async () => {
  const reader = new MemoryReader(hex("09 0a"));
  await expectState(reader, STATES.PARAM_EXCHANGE);
  await expectState(reader, STATES.CREATE_STREAMS);
  assert.equal(reader.remaining, 0);
});

Deno.test("expectState() names the expected and the received state", async () => {
  const error = await assertProtocolError(
    expectState(new MemoryReader(hex("ff")), STATES.CREATE_STREAMS),
    ERROR_CODES.IEMESSAGE,
    "ACCESS_DENIED instead of CREATE_STREAMS",
  );
  assert.equal(error.expected, "CREATE_STREAMS");
  assert.equal(error.received, "ACCESS_DENIED");
  assert.match(error.message, /"CREATE_STREAMS"/);
  assert.match(error.message, /"ACCESS_DENIED"/);
  const unknown = await assertProtocolError(
    expectState(new MemoryReader(hex("03")), STATES.TEST_START),
    ERROR_CODES.IEMESSAGE,
    "unknown state 3",
  );
  assert.equal(unknown.received, "UNKNOWN(3)");
});

Deno.test("expectState() reports the error code it is given", async () => {
  await assertProtocolError(
    expectState(
      new MemoryReader(hex("0e")),
      STATES.EXCHANGE_RESULTS,
      ERROR_CODES.IERECVRESULTS,
    ),
    ERROR_CODES.IERECVRESULTS,
    "DISPLAY_RESULTS instead of EXCHANGE_RESULTS",
  );
});

Deno.test("expectState() rejects a closed connection", async () => {
  await assertProtocolError(
    expectState(new MemoryReader(new Uint8Array(0)), STATES.TEST_START),
    ERROR_CODES.IECTRLCLOSE,
    "empty",
  );
});

// --- JSON frame -------------------------------------------------------------

Deno.test("encodeJsonFrame() produces the 143-byte parameters frame iperf3 3.12 sent", () => {
  const value = JSON.parse(GOLDEN_PARAMS_TEXT);
  const bytes = encodeJsonFrame(value);
  assert.equal(bytes.byteLength, 4 + 143);
  assert.deepEqual(bytes.subarray(0, 4), hex("00 00 00 8f"));
  assert.deepEqual(bytes, GOLDEN_PARAMS_FRAME);
});

Deno.test("encodeJsonFrame() counts the length in UTF-8 bytes", () => {
  const bytes = encodeJsonFrame({ title: "\u00e9\u2713\u{1f680}" });
  // {"title":"é✓🚀"}: 12 ASCII + 2 + 3 + 4 bytes.
  assert.deepEqual(bytes.subarray(0, 4), hex("00 00 00 15"));
  assert.equal(bytes.byteLength, 4 + 21);
});

Deno.test("readJsonFrame() reads the parameters frame iperf3 3.12 sent", async () => {
  for (const chunk of CHUNKS) {
    const reader = new MemoryReader(GOLDEN_PARAMS_FRAME, chunk);
    assert.deepEqual(await readJsonFrame(reader), {
      tcp: true,
      omit: 0,
      time: 1,
      num: 0,
      blockcount: 0,
      parallel: 1,
      len: 131072,
      bandwidth: 1000000,
      "pacing_timer": 1000,
      "client_version": "3.12",
    });
    assert.equal(reader.remaining, 0);
  }
});

Deno.test("readJsonFrame() reads the results frame of a 3.12 server with 18446744073709551615", async () => {
  const wire = frame(utf8(GOLDEN_SERVER_RESULTS_TEXT));
  for (const chunk of CHUNKS) {
    const value = await readJsonFrame(new MemoryReader(wire, chunk), {
      code: ERROR_CODES.IERECVRESULTS,
      maxSize: 1 << 20,
    });
    // JSON.parse rounds 2^64 - 1 to the nearest double, 2^64.
    assert.equal(value["sender_has_retransmits"], 18446744073709552000);
    assert.equal(value["sender_has_retransmits"], 2 ** 64);
    assert.deepEqual(value, JSON.parse(GOLDEN_SERVER_RESULTS_TEXT));
  }
});

Deno.test("readJsonFrame() round-trips encodeJsonFrame()", async () => {
  const values: Record<string, unknown>[] = [
    {},
    { tcp: true },
    JSON.parse(GOLDEN_PARAMS_TEXT),
    {
      title: 't\u00edtulo \u2713 \u{1f680} "quoted" \\ \n\t',
      nested: { list: [1, -1, 2.5, null, true, "x"], empty: [] },
      big: 2 ** 53 - 1,
      negative: -2,
    },
  ];
  for (const chunk of CHUNKS) {
    for (const value of values) {
      const reader = new MemoryReader(encodeJsonFrame(value), chunk);
      assert.deepEqual(await readJsonFrame(reader), value);
      assert.equal(reader.remaining, 0);
    }
  }
});

Deno.test("readJsonFrame() leaves the bytes after the frame unread", async () => {
  // Results JSON and DISPLAY_RESULTS often arrive in one segment (§2.2).
  const wire = concat(frame(utf8(GOLDEN_SERVER_RESULTS_TEXT)), hex("0e"));
  for (const chunk of CHUNKS) {
    const reader = new MemoryReader(wire, chunk);
    await readJsonFrame(reader, { maxSize: 4096 });
    assert.equal(reader.remaining, 1);
    assert.equal(await readState(reader), STATES.DISPLAY_RESULTS);
  }
});

Deno.test("readJsonFrame() rejects every truncated prefix of a frame", async () => {
  const code = ERROR_CODES.IERECVRESULTS;
  for (const chunk of CHUNKS) {
    for (let i = 0; i < GOLDEN_PARAMS_FRAME.byteLength; i++) {
      const reader = new MemoryReader(
        GOLDEN_PARAMS_FRAME.subarray(0, i),
        chunk,
      );
      // Nothing at all is a closed control connection; anything more is a
      // broken frame and carries the caller's code.
      await assertProtocolError(
        readJsonFrame(reader, { code }),
        i === 0 ? ERROR_CODES.IECTRLCLOSE : code,
        `prefix ${i}, chunk ${chunk}`,
      );
    }
  }
});

Deno.test("readJsonFrame() rejects a length of 0", async () => {
  for (const chunk of CHUNKS) {
    const reader = new MemoryReader(
      concat(hex("00 00 00 00"), utf8("{}")),
      chunk,
    );
    await assertProtocolError(
      readJsonFrame(reader, { code: ERROR_CODES.IERECVPARAMS }),
      ERROR_CODES.IERECVPARAMS,
      `chunk ${chunk}`,
    );
    assert.equal(reader.remaining, 2);
  }
});

Deno.test("readJsonFrame() rejects a length over maxSize before reading the body", async () => {
  const body = utf8('{"a":"0123456789"}'); // 18 bytes
  for (const chunk of CHUNKS) {
    const reader = new MemoryReader(frame(body), chunk);
    const error = await assertProtocolError(
      readJsonFrame(reader, { maxSize: 17, code: ERROR_CODES.IERECVRESULTS }),
      ERROR_CODES.IERECVRESULTS,
      `chunk ${chunk}`,
    );
    assert.match(error.message, /18/);
    assert.equal(reader.remaining, body.byteLength, "body left unread");
  }
});

Deno.test("readJsonFrame() accepts a body of exactly maxSize bytes", async () => {
  const body = utf8('{"a":"0123456789"}');
  const value = await readJsonFrame(new MemoryReader(frame(body), 3), {
    maxSize: body.byteLength,
  });
  assert.deepEqual(value, { a: "0123456789" });
});

Deno.test("readJsonFrame() caps the length at DEFAULT_MAX_JSON_SIZE by default", async () => {
  assert.equal(DEFAULT_MAX_JSON_SIZE, 8192);
  const fits = `{"x":"${"y".repeat(8192 - 8)}"}`;
  assert.equal(fits.length, 8192);
  assert.deepEqual(
    await readJsonFrame(new MemoryReader(frame(utf8(fits)), 1000)),
    JSON.parse(fits),
  );
  const tooBig = `{"x":"${"y".repeat(8192 - 7)}"}`;
  const reader = new MemoryReader(frame(utf8(tooBig)));
  await assertProtocolError(
    readJsonFrame(reader),
    ERROR_CODES.IERECVPARAMS,
    "8193 bytes",
  );
  assert.equal(reader.remaining, 8193);
  // A 4 GiB length is refused without waiting for (or allocating) the body.
  const huge = new MemoryReader(concat(hex("ff ff ff ff"), utf8("{}")));
  await assertProtocolError(
    readJsonFrame(huge, { code: ERROR_CODES.IERECVRESULTS }),
    ERROR_CODES.IERECVRESULTS,
    "0xffffffff",
  );
  assert.equal(huge.remaining, 2);
});

Deno.test("readJsonFrame() rejects JSON that is not an object", async () => {
  for (const text of ["[]", '[{"tcp":true}]', "42", "null", '"tcp"', "true"]) {
    for (const code of [ERROR_CODES.IERECVPARAMS, ERROR_CODES.IERECVRESULTS]) {
      for (const chunk of CHUNKS) {
        await assertProtocolError(
          readJsonFrame(new MemoryReader(frame(utf8(text)), chunk), { code }),
          code,
          `${text}, code ${code}, chunk ${chunk}`,
        );
      }
    }
  }
});

Deno.test("readJsonFrame() rejects invalid UTF-8", async () => {
  const bodies = [
    concat(utf8('{"a":"'), hex("ff"), utf8('"}')),
    concat(utf8('{"a":"'), hex("c3 28"), utf8('"}')), // bad continuation
    concat(utf8('{"a":"'), hex("ed a0 80"), utf8('"}')), // lone surrogate
    concat(utf8('{"a":"'), hex("e2 9c"), utf8('"}')), // cut-off sequence
  ];
  for (const body of bodies) {
    for (const chunk of CHUNKS) {
      const error = await assertProtocolError(
        readJsonFrame(new MemoryReader(frame(body), chunk), {
          code: ERROR_CODES.IERECVRESULTS,
        }),
        ERROR_CODES.IERECVRESULTS,
        `chunk ${chunk}`,
      );
      assert.ok(error.cause instanceof TypeError, String(error.cause));
    }
  }
});

Deno.test("readJsonFrame() rejects malformed JSON", async () => {
  for (
    const text of [
      '{"tcp":true',
      "{'tcp':true}",
      '{"tcp":true}}',
      '{"tcp":true}\0',
      "{tcp:true}",
      " ",
    ]
  ) {
    for (const chunk of CHUNKS) {
      const error = await assertProtocolError(
        readJsonFrame(new MemoryReader(frame(utf8(text)), chunk), {
          code: ERROR_CODES.IERECVRESULTS,
        }),
        ERROR_CODES.IERECVRESULTS,
        `${JSON.stringify(text)}, chunk ${chunk}`,
      );
      assert.ok(error.cause instanceof SyntaxError, String(error.cause));
    }
  }
});

Deno.test("readJsonFrame() reports IERECVPARAMS when given no code", async () => {
  await assertProtocolError(
    readJsonFrame(new MemoryReader(frame(utf8("[]")))),
    ERROR_CODES.IERECVPARAMS,
    "array",
  );
  await assertProtocolError(
    readJsonFrame(new MemoryReader(hex("00 00"))),
    ERROR_CODES.IERECVPARAMS,
    "half a length",
  );
});

// --- SERVER_ERROR payload ---------------------------------------------------

Deno.test("encodeServerError() writes i_errno and errno as big-endian int32", () => {
  assert.deepEqual(
    encodeServerError(ERROR_CODES.IEAUTHTEST),
    hex("00 00 00 8e 00 00 00 00"),
  );
  assert.deepEqual(
    encodeServerError(ERROR_CODES.IESTREAMLISTEN, 98),
    hex("00 00 00 ca 00 00 00 62"),
  );
  assert.deepEqual(encodeServerError(-1, -2), hex("ff ff ff ff ff ff ff fe"));
  assert.deepEqual(
    encodeServerError(0x7fffffff, -0x80000000),
    hex("7f ff ff ff 80 00 00 00"),
  );
});

Deno.test("readServerErrorPayload() reads a 3.12 auth failure that has no errno", async () => {
  // §2.9: 3.12 sends `fe 00 00 00 8e` and closes.
  const wire = hex("fe 00 00 00 8e");
  for (const chunk of CHUNKS) {
    const reader = new MemoryReader(wire, chunk);
    assert.equal(await readState(reader), STATES.SERVER_ERROR);
    const payload = await readServerErrorPayload(reader);
    assert.deepEqual(payload, { code: ERROR_CODES.IEAUTHTEST });
    assert.equal("errno" in payload, false);
  }
});

Deno.test("readServerErrorPayload() reads i_errno and errno from 8 bytes", async () => {
  for (const chunk of CHUNKS) {
    const reader = new MemoryReader(hex("fe 00 00 00 ca 00 00 00 62"), chunk);
    assert.equal(await readState(reader), STATES.SERVER_ERROR);
    assert.deepEqual(await readServerErrorPayload(reader), {
      code: ERROR_CODES.IESTREAMLISTEN,
      errno: 98,
    });
    assert.equal(reader.remaining, 0);
  }
});

Deno.test("readServerErrorPayload() round-trips encodeServerError()", async () => {
  const cases: [number, number][] = [
    [ERROR_CODES.IEAUTHTEST, 0],
    [ERROR_CODES.IELISTEN, 98],
    [-1, -1],
    [0x7fffffff, -0x80000000],
    [160, 0],
  ];
  for (const chunk of CHUNKS) {
    for (const [code, errno] of cases) {
      const reader = new MemoryReader(encodeServerError(code, errno), chunk);
      assert.deepEqual(await readServerErrorPayload(reader), { code, errno });
    }
  }
});

Deno.test("readServerErrorPayload() returns the code without errno after 4 bytes and EOF", async () => {
  for (const chunk of CHUNKS) {
    const payload = await readServerErrorPayload(
      new MemoryReader(hex("00 00 00 8e"), chunk),
    );
    assert.deepEqual(payload, { code: 142 });
    assert.equal(payload.errno, undefined);
  }
});

Deno.test("readServerErrorPayload() rejects fewer than 4 bytes", async () => {
  const wire = encodeServerError(ERROR_CODES.IELISTEN, 98);
  for (const chunk of CHUNKS) {
    for (let i = 0; i < 4; i++) {
      await assertProtocolError(
        readServerErrorPayload(new MemoryReader(wire.subarray(0, i), chunk)),
        ERROR_CODES.IECTRLCLOSE,
        `prefix ${i}, chunk ${chunk}`,
      );
    }
  }
});
