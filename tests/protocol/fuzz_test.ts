import assert from "node:assert/strict";
import { ProtocolError } from "../../lib/errors.ts";
import {
  COOKIE_ALPHABET,
  COOKIE_SIZE,
  DEFAULT_MAX_JSON_SIZE,
  encodeJsonFrame,
  readCookie,
  readJsonFrame,
  readServerErrorPayload,
  readState,
} from "../../lib/protocol/codec.ts";
import {
  decodeParams,
  encodeParams,
  LIMITS,
  tcpTestParams,
  type TestParams,
} from "../../lib/protocol/params.ts";
import {
  decodeResults,
  encodeResults,
  type TestResults,
} from "../../lib/protocol/results.ts";
import { MemoryReader } from "../_support/memory.ts";

// A seeded fuzz of the control-message decoders. Every input is built from
// its own seed (base seed mixed with the input's index), and every failure
// message prints that seed and the input bytes, so one failing case can be
// replayed with `new Rng(seed)` alone.
//
// The properties checked for every input:
// - the decoder resolves or rejects with a ProtocolError (ParamError is one),
//   never another error type, and within TIMEOUT_MS;
// - what it resolves with has the right shape and agrees with a small
//   independent model of the frame format (the "oracle");
// - on success it consumed exactly the bytes of its message (the control
//   channel is a byte stream: over-reading would eat the next message).

/** Base seeds; each test runs every one of them. */
const SEEDS = [0x1badb002, 0xdecafbad, 20_240_601];

/** Inputs per base seed and test. */
const RUNS = 1000;

/** A single decode that takes longer than this counts as a hang. */
const TIMEOUT_MS = 1000;

/** mulberry32: a tiny, fast, seedable PRNG (not for cryptography). */
class Rng {
  #a: number;

  constructor(seed: number) {
    this.#a = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#a = (this.#a + 0x6d2b79f5) >>> 0;
    let t = this.#a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)] as T;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(0, 255);
    return out;
  }

  /** A read chunk size for MemoryReader: mostly short reads, sometimes whole. */
  chunk(): number {
    return this.chance(0.2) ? Infinity : this.pick([1, 2, 3, 4, 7, 64]);
  }
}

/** The seed of input `i` under base seed `base`. */
function inputSeed(base: number, i: number): number {
  return (Math.imul(base ^ 0x9e3779b9, 0x85ebca6b) +
    Math.imul(i, 0xc2b2ae35)) >>>
    0;
}

function hexOf(data: Uint8Array): string {
  const shown = Array.from(
    data.subarray(0, 400),
    (b) => b.toString(16).padStart(2, "0"),
  ).join(" ");
  return data.byteLength > 400
    ? `${shown} ... (${data.byteLength} bytes)`
    : shown;
}

function label(seed: number, what: string, data?: Uint8Array): string {
  const seedText = `0x${seed.toString(16).padStart(8, "0")}`;
  return data === undefined
    ? `seed ${seedText}: ${what}`
    : `seed ${seedText}: ${what} on [${hexOf(data)}]`;
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: ProtocolError };

/**
 * Runs one decode: it must settle within TIMEOUT_MS, and a rejection must be
 * a ProtocolError. Anything else fails the test with `where` in the message.
 */
async function attempt<T>(
  where: string,
  work: () => Promise<T>,
): Promise<Outcome<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new HangError(`${where}: did not settle in ${TIMEOUT_MS} ms`)),
      TIMEOUT_MS,
    );
  });
  try {
    return { ok: true, value: await Promise.race([work(), hang]) };
  } catch (error) {
    if (error instanceof HangError) assert.fail(error.message);
    assert.ok(
      error instanceof ProtocolError,
      `${where}: rejected with ${
        error instanceof Error ? error.stack : String(error)
      }, expected a ProtocolError`,
    );
    return { ok: false, error };
  } finally {
    clearTimeout(timer);
  }
}

class HangError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HangError";
  }
}

/** The same for synchronous decoders (decodeParams, decodeResults). */
function attemptSync<T>(where: string, work: () => T): Outcome<T> {
  try {
    return { ok: true, value: work() };
  } catch (error) {
    assert.ok(
      error instanceof ProtocolError,
      `${where}: threw ${
        error instanceof Error ? error.stack : String(error)
      }, expected a ProtocolError`,
    );
    return { ok: false, error };
  }
}

/** Accept/reject counts per decoder, to prove both paths ran. */
class Tally {
  readonly counts = new Map<string, { accepted: number; rejected: number }>();

  add(name: string, outcome: Outcome<unknown>): void {
    const c = this.counts.get(name) ?? { accepted: 0, rejected: 0 };
    if (outcome.ok) c.accepted++;
    else c.rejected++;
    this.counts.set(name, c);
  }

  assertBothPaths(...names: string[]): void {
    for (const name of names) {
      const c = this.counts.get(name);
      assert.ok(
        c && c.accepted > 0 && c.rejected > 0,
        `${name}: both paths must run, got ${JSON.stringify(c ?? {})} (all: ${
          JSON.stringify(Object.fromEntries(this.counts))
        })`,
      );
    }
  }
}

// ---------------------------------------------------------------------------
// Oracles: independent models of what each reader must do with `data`.

type Expected<T> = { ok: true; value: T; consumed: number } | { ok: false };

function cookieOracle(data: Uint8Array): Expected<string> {
  if (data.byteLength < COOKIE_SIZE) return { ok: false };
  let text = "";
  for (let i = 0; i < COOKIE_SIZE - 1; i++) {
    const b = data[i] as number;
    if (b < 0x21 || b > 0x7e) return { ok: false };
    text += String.fromCharCode(b);
  }
  if (data[COOKIE_SIZE - 1] !== 0) return { ok: false };
  return { ok: true, value: text, consumed: COOKIE_SIZE };
}

function stateOracle(data: Uint8Array): Expected<number> {
  if (data.byteLength < 1) return { ok: false };
  const b = data[0] as number;
  return { ok: true, value: b >= 128 ? b - 256 : b, consumed: 1 };
}

function serverErrorOracle(
  data: Uint8Array,
): Expected<{ code: number; errno?: number }> {
  if (data.byteLength < 4) return { ok: false };
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const code = view.getInt32(0);
  if (data.byteLength < 8) {
    return { ok: true, value: { code }, consumed: data.byteLength };
  }
  return { ok: true, value: { code, errno: view.getInt32(4) }, consumed: 8 };
}

function jsonOracle(
  data: Uint8Array,
  maxSize: number,
): Expected<Record<string, unknown>> {
  if (data.byteLength < 4) return { ok: false };
  const length = new DataView(data.buffer, data.byteOffset, 4).getUint32(0);
  if (length === 0 || length > maxSize) return { ok: false };
  if (data.byteLength < 4 + length) return { ok: false };
  let value: unknown;
  try {
    value = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(
        data.subarray(4, 4 + length),
      ),
    );
  } catch {
    return { ok: false };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false };
  }
  return {
    ok: true,
    value: value as Record<string, unknown>,
    consumed: 4 + length,
  };
}

/** Checks a reader's outcome against the oracle, including bytes consumed. */
function agree<T>(
  where: string,
  data: Uint8Array,
  reader: MemoryReader,
  got: Outcome<T>,
  expected: Expected<T>,
): void {
  if (!expected.ok) {
    assert.ok(
      !got.ok,
      `${where}: resolved with ${
        JSON.stringify(got.ok ? got.value : undefined)
      }, expected a rejection`,
    );
    return;
  }
  assert.ok(
    got.ok,
    `${where}: rejected with "${got.ok ? "" : got.error.message}", expected ${
      JSON.stringify(expected.value)
    }`,
  );
  assert.deepEqual(got.value, expected.value, `${where}: wrong value`);
  assert.equal(
    reader.remaining,
    data.byteLength - expected.consumed,
    `${where}: consumed the wrong number of bytes`,
  );
}

// ---------------------------------------------------------------------------
// Inputs.

/** Bytes JSON is made of, to give random frames a chance to parse. */
const JSON_TOKENS = [
  "{",
  "}",
  "[",
  "]",
  '"',
  ":",
  ",",
  "0",
  "1",
  "-",
  ".",
  "e",
  "true",
  "false",
  "null",
  '"tcp"',
  '"a"',
  "\\",
  "\\u00",
  " ",
  "\u00e9",
  "\ud83d",
];

/** A random input of 0 to 300 bytes, sometimes with a plausible prefix. */
function randomInput(rng: Rng): Uint8Array {
  const kind = rng.int(0, 9);
  if (kind <= 5) return rng.bytes(rng.int(0, 300));
  if (kind <= 7) {
    // A (possibly mutated) valid cookie, then random bytes.
    const cookie = new Uint8Array(COOKIE_SIZE);
    for (let i = 0; i < COOKIE_SIZE - 1; i++) {
      cookie[i] = COOKIE_ALPHABET.charCodeAt(rng.int(0, 31));
    }
    if (rng.chance(0.5)) cookie[rng.int(0, COOKIE_SIZE - 1)] = rng.int(0, 255);
    const tail = rng.bytes(rng.int(0, 300 - COOKIE_SIZE));
    const kept = rng.chance(0.6) ? COOKIE_SIZE : rng.int(0, COOKIE_SIZE);
    return concat(cookie.subarray(0, kept), tail);
  }
  // A small length field and JSON-ish tokens (some of them are objects).
  let text = rng.chance(0.7) ? "{" : "";
  const tokens = rng.int(0, 30);
  for (let i = 0; i < tokens; i++) text += rng.pick(JSON_TOKENS);
  if (rng.chance(0.5)) text = rng.pick(["{}", '{"a":1}', "[]", "1", '""']);
  const body = new TextEncoder().encode(text).subarray(0, 290);
  const header = new Uint8Array(4);
  new DataView(header.buffer).setUint32(
    0,
    rng.chance(0.8) ? body.byteLength : rng.int(0, 400),
  );
  return concat(header, body, rng.bytes(rng.int(0, 5)));
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

/** Interesting values for a frame's 4-byte length field. */
function lengthFieldValue(rng: Rng, actual: number): number {
  return rng.pick([
    0,
    1,
    actual - 1,
    actual + 1,
    actual * 2,
    DEFAULT_MAX_JSON_SIZE,
    DEFAULT_MAX_JSON_SIZE + 1,
    0x7fffffff,
    0x80000000,
    0xffffffff,
    rng.int(0, 0xffffffff),
    rng.int(0, 300),
  ]) >>> 0;
}

const SPECIAL_BYTES = [
  0x00,
  0xff,
  0x22,
  0x7b,
  0x7d,
  0x5b,
  0x5d,
  0x2c,
  0x3a,
  0x5c,
  0x80,
  0xc0,
  0xed,
  0x30,
  0x2d,
];

/**
 * 1 to 3 byte-level mutations of a frame: bit flips, truncation, a changed
 * length field, inserted, deleted, duplicated or replaced bytes.
 */
function mutateFrame(rng: Rng, frame: Uint8Array): Uint8Array {
  let data = frame.slice();
  const rounds = rng.int(1, 3);
  for (let r = 0; r < rounds; r++) {
    const op = rng.int(0, 6);
    if (op === 0) {
      for (let k = rng.int(1, 8); k > 0 && data.byteLength > 0; k--) {
        const i = rng.int(0, data.byteLength - 1);
        data[i] = (data[i] as number) ^ (1 << rng.int(0, 7));
      }
    } else if (op === 1) {
      data = data.slice(0, rng.int(0, data.byteLength));
    } else if (op === 2 && data.byteLength >= 4) {
      const view = new DataView(data.buffer, data.byteOffset, 4);
      view.setUint32(0, lengthFieldValue(rng, view.getUint32(0)));
    } else if (op === 3) {
      const at = rng.int(0, data.byteLength);
      data = concat(
        data.subarray(0, at),
        rng.bytes(rng.int(1, 8)),
        data.subarray(at),
      );
    } else if (op === 4 && data.byteLength > 0) {
      const at = rng.int(0, data.byteLength - 1);
      const end = Math.min(data.byteLength, at + rng.int(1, 8));
      data = concat(data.subarray(0, at), data.subarray(end));
    } else if (op === 5 && data.byteLength > 0) {
      const at = rng.int(0, data.byteLength - 1);
      const end = Math.min(data.byteLength, at + rng.int(1, 16));
      data = concat(data.subarray(0, end), data.subarray(at));
    } else if (data.byteLength > 0) {
      data[rng.int(0, data.byteLength - 1)] = rng.pick(SPECIAL_BYTES);
    }
  }
  return data;
}

/** Values that probe every type and range check of the decoders. */
const ODD_VALUES: unknown[] = [
  true,
  false,
  null,
  0,
  1,
  -1,
  -0,
  0.5,
  1.5,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  2 ** 53 - 1,
  2 ** 63,
  2 ** 64,
  1e308,
  -1e308,
  "",
  "x",
  "1",
  "3.12",
  "\u0000",
  [],
  [1],
  {},
  { a: 1 },
  15,
  16,
  128,
  129,
  255,
  256,
  600,
  601,
  1000,
  1001,
  1460,
  32767,
  32768,
  65507,
  65508,
  86400,
  86401,
  0xfffff,
  0x100000,
  1048576,
  1048577,
  536870912,
  536870913,
];

/** Every key `decodeParams` reads, plus one it must ignore. */
const PARAM_KEYS = [
  "tcp",
  "udp",
  "sctp",
  "omit",
  "time",
  "num",
  "blockcount",
  "MSS",
  "nodelay",
  "parallel",
  "reverse",
  "bidirectional",
  "window",
  "len",
  "bandwidth",
  "fqrate",
  "pacing_timer",
  "burst",
  "TOS",
  "flowlabel",
  "title",
  "extra_data",
  "congestion",
  "get_server_output",
  "udp_counters_64bit",
  "repeating_payload",
  "zerocopy",
  "dont_fragment",
  "authtoken",
  "client_version",
  "unknown_key",
  "__proto__",
];

/** A valid test with some random settings. */
function randomParams(rng: Rng): TestParams {
  const udp = rng.chance(0.3);
  const overrides: Partial<TestParams> = {
    protocol: udp ? "udp" : "tcp",
    time: rng.int(0, 30),
    parallel: rng.int(1, 8),
    length: udp ? rng.int(16, 65507) : rng.int(1, 1 << 20),
    bandwidth: rng.chance(0.5) ? rng.int(0, 1e9) : 0,
    reverse: rng.chance(0.3),
  };
  if (rng.chance(0.3)) overrides.title = "t\u00e9st";
  if (rng.chance(0.3)) overrides.congestion = "cubic";
  if (rng.chance(0.2)) overrides.window = rng.int(1, 1 << 20);
  if (rng.chance(0.2)) overrides.mss = rng.int(1, LIMITS.MAX_MSS);
  return tcpTestParams(overrides);
}

function mutateParamsObject(
  rng: Rng,
  wire: Record<string, unknown>,
): Record<string, unknown> {
  const out = { ...wire };
  for (let k = rng.int(1, 4); k > 0; k--) {
    const key = rng.pick(PARAM_KEYS);
    if (rng.chance(0.25)) delete out[key];
    else {
      Object.defineProperty(out, key, {
        value: structuredClone(rng.pick(ODD_VALUES)),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return out;
}

/** Results like a client's at the end of a test, with random figures. */
function randomResults(rng: Rng): TestResults {
  const streams = Array.from({ length: rng.int(0, 4) }, (_, i) => ({
    id: i === 0 ? 1 : i + 2,
    bytes: rng.int(0, 2 ** 40),
    retransmits: rng.pick([-1, 0, rng.int(0, 1000)]),
    jitter: rng.next() / 100,
    errors: rng.int(0, 100),
    packets: rng.int(0, 1e6),
    startTime: 0,
    endTime: rng.next() * 10,
  }));
  const r: TestResults = {
    cpuUtilTotal: rng.next() * 100,
    cpuUtilUser: rng.next() * 50,
    cpuUtilSystem: rng.next() * 50,
    senderHasRetransmits: rng.pick([-1, 0, 1]),
    streams,
  };
  if (rng.chance(0.5)) r.congestionUsed = rng.pick(["cubic", "bbr"]);
  if (rng.chance(0.2)) r.serverOutputText = "Accepted connection\n";
  if (rng.chance(0.2)) r.serverOutputJson = { start: {}, end: {} };
  return r;
}

const RESULT_KEYS = [
  "cpu_util_total",
  "cpu_util_user",
  "cpu_util_system",
  "sender_has_retransmits",
  "congestion_used",
  "server_output_text",
  "server_output_json",
  "streams",
];

const STREAM_KEYS = [
  "id",
  "bytes",
  "retransmits",
  "jitter",
  "errors",
  "packets",
  "start_time",
  "end_time",
];

function setOrDelete(
  rng: Rng,
  o: Record<string, unknown>,
  keys: string[],
): void {
  const key = rng.pick(keys);
  if (rng.chance(0.3)) delete o[key];
  else o[key] = structuredClone(rng.pick(ODD_VALUES));
}

function mutateResultsObject(
  rng: Rng,
  wire: Record<string, unknown>,
): Record<string, unknown> {
  const out = structuredClone(wire);
  for (let k = rng.int(1, 3); k > 0; k--) {
    const streams = out["streams"];
    const op = rng.int(0, 3);
    if (op === 0) setOrDelete(rng, out, RESULT_KEYS);
    else if (op === 1 && Array.isArray(streams) && streams.length > 0) {
      const i = rng.int(0, streams.length - 1);
      const s = streams[i];
      if (typeof s === "object" && s !== null && !Array.isArray(s)) {
        setOrDelete(rng, s as Record<string, unknown>, STREAM_KEYS);
      } else streams[i] = structuredClone(rng.pick(ODD_VALUES));
    } else if (op === 2 && Array.isArray(streams)) {
      streams.push(structuredClone(rng.pick(ODD_VALUES)));
    } else {
      out["streams"] = structuredClone(rng.pick(ODD_VALUES));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Shape checks for what the decoders resolve with.

function assertParamsShape(where: string, p: TestParams): void {
  const msg = `${where}: decodeParams() returned ${JSON.stringify(p)}`;
  assert.ok(p.protocol === "tcp" || p.protocol === "udp", msg);
  for (
    const key of [
      "omit",
      "time",
      "bytes",
      "blocks",
      "parallel",
      "length",
      "bandwidth",
      "burst",
      "pacingTimer",
      "window",
      "mss",
      "tos",
      "fqRate",
      "flowLabel",
    ] as const
  ) {
    assert.ok(Number.isSafeInteger(p[key]) && p[key] >= 0, `${msg} (${key})`);
  }
  for (
    const key of [
      "reverse",
      "bidirectional",
      "noDelay",
      "getServerOutput",
      "udpCounters64bit",
      "repeatingPayload",
      "zeroCopy",
      "dontFragment",
    ] as const
  ) {
    assert.equal(typeof p[key], "boolean", `${msg} (${key})`);
  }
  for (
    const key of [
      "title",
      "extraData",
      "congestion",
      "authToken",
      "clientVersion",
    ] as const
  ) {
    if (key in p) assert.equal(typeof p[key], "string", `${msg} (${key})`);
  }
  assert.ok(p.parallel >= 1 && p.parallel <= LIMITS.MAX_STREAMS, msg);
  assert.ok(p.time <= LIMITS.MAX_TIME && p.omit <= LIMITS.MAX_OMIT, msg);
  assert.ok(
    p.protocol === "tcp"
      ? p.length >= 1 && p.length <= LIMITS.MAX_BLOCKSIZE
      : p.length >= LIMITS.MIN_UDP_BLOCKSIZE &&
        p.length <= LIMITS.MAX_UDP_BLOCKSIZE,
    `${msg} (length)`,
  );
  assert.ok(!(p.reverse && p.bidirectional), msg);
  // What was accepted must survive our own encoding unchanged (the client
  // version defaults to "3.12" on the way out).
  const again = decodeParams(encodeParams(p));
  assert.deepEqual(
    again,
    { ...p, clientVersion: p.clientVersion ?? again.clientVersion },
    `${msg}: does not round-trip through encodeParams()`,
  );
}

function assertResultsShape(where: string, r: TestResults): void {
  const msg = `${where}: decodeResults() returned ${JSON.stringify(r)}`;
  for (
    const key of [
      "cpuUtilTotal",
      "cpuUtilUser",
      "cpuUtilSystem",
      "senderHasRetransmits",
    ] as const
  ) {
    assert.ok(Number.isFinite(r[key]), `${msg} (${key})`);
  }
  assert.ok(Array.isArray(r.streams), msg);
  for (const s of r.streams) {
    for (const value of Object.values(s)) {
      assert.ok(Number.isFinite(value), msg);
    }
    assert.equal(Object.keys(s).length, 8, msg);
  }
  if ("congestionUsed" in r) {
    assert.equal(typeof r.congestionUsed, "string", msg);
  }
  if ("serverOutputText" in r) {
    assert.equal(typeof r.serverOutputText, "string", msg);
  }
  assert.deepEqual(
    decodeResults(encodeResults(r)),
    r,
    `${msg}: does not round-trip through encodeResults()`,
  );
}

// ---------------------------------------------------------------------------
// Tests.

Deno.test("readCookie(), readState(), readJsonFrame(), readServerErrorPayload() take random bytes in random chunks", async () => {
  const tally = new Tally();
  for (const base of SEEDS) {
    for (let i = 0; i < RUNS; i++) {
      const seed = inputSeed(base, i);
      const rng = new Rng(seed);
      const data = randomInput(rng);
      const chunk = rng.chunk();
      const run = async <T>(
        name: string,
        read: (r: MemoryReader) => Promise<T>,
        oracle: (d: Uint8Array) => Expected<T>,
        shape?: (value: T) => boolean,
      ) => {
        const where = label(seed, `${name}() with chunk ${chunk}`, data);
        const reader = new MemoryReader(data, chunk);
        const got = await attempt(where, () => read(reader));
        tally.add(name, got);
        if (got.ok && shape) {
          assert.ok(
            shape(got.value),
            `${where}: wrong shape ${JSON.stringify(got.value)}`,
          );
        }
        agree(where, data, reader, got, oracle(data));
      };
      await run(
        "readCookie",
        readCookie,
        cookieOracle,
        (v) => typeof v === "string" && v.length === COOKIE_SIZE - 1,
      );
      await run(
        "readState",
        readState,
        stateOracle,
        (v) => Number.isInteger(v) && v >= -128 && v <= 127,
      );
      await run(
        "readJsonFrame",
        (r) => readJsonFrame(r, { maxSize: DEFAULT_MAX_JSON_SIZE }),
        (d) => jsonOracle(d, DEFAULT_MAX_JSON_SIZE),
        (v) => typeof v === "object" && v !== null && !Array.isArray(v),
      );
      await run(
        "readServerErrorPayload",
        readServerErrorPayload,
        serverErrorOracle,
        (v) =>
          Number.isInteger(v.code) &&
          (v.errno === undefined || Number.isInteger(v.errno)),
      );
    }
  }
  tally.assertBothPaths(
    "readCookie",
    "readState",
    "readJsonFrame",
    "readServerErrorPayload",
  );
});

Deno.test("readJsonFrame() and decodeParams() take mutated parameter frames", async () => {
  const tally = new Tally();
  const golden = encodeJsonFrame(encodeParams(tcpTestParams()));
  for (const base of SEEDS) {
    for (let i = 0; i < RUNS; i++) {
      const seed = inputSeed(base ^ 0x5a5a5a5a, i);
      const rng = new Rng(seed);
      // Byte mutations of iperf3's default request or of a random valid one,
      // or a frame whose JSON object was mutated key by key.
      const source = rng.chance(0.5)
        ? golden
        : encodeJsonFrame(encodeParams(randomParams(rng)));
      const data = rng.chance(0.6) ? mutateFrame(rng, source) : encodeJsonFrame(
        mutateParamsObject(rng, encodeParams(randomParams(rng))),
      );
      const chunk = rng.chunk();
      const where = label(seed, `readJsonFrame() with chunk ${chunk}`, data);
      const reader = new MemoryReader(data, chunk);
      const frame = await attempt(
        where,
        () => readJsonFrame(reader, { maxSize: DEFAULT_MAX_JSON_SIZE }),
      );
      tally.add("readJsonFrame", frame);
      agree(
        where,
        data,
        reader,
        frame,
        jsonOracle(data, DEFAULT_MAX_JSON_SIZE),
      );
      if (!frame.ok) continue;
      const decoded = attemptSync(
        `${where} then decodeParams()`,
        () => decodeParams(frame.value),
      );
      tally.add("decodeParams", decoded);
      if (decoded.ok) assertParamsShape(where, decoded.value);
    }
  }
  tally.assertBothPaths("readJsonFrame", "decodeParams");
});

Deno.test("decodeResults() takes mutated results JSON", async () => {
  const tally = new Tally();
  for (const base of SEEDS) {
    for (let i = 0; i < RUNS; i++) {
      const seed = inputSeed(base ^ 0x0f0f0f0f, i);
      const rng = new Rng(seed);
      const wire = encodeResults(randomResults(rng));
      let candidate: Record<string, unknown>;
      let where: string;
      if (rng.chance(0.5)) {
        // Byte mutations of the JSON text: keep only what still parses to an
        // object (readJsonFrame refuses the rest, as checked above).
        const body = mutateFrame(
          rng,
          new TextEncoder().encode(JSON.stringify(wire)),
        );
        where = label(seed, "decodeResults()", body);
        const frame = new Uint8Array(4 + body.byteLength);
        new DataView(frame.buffer).setUint32(0, body.byteLength);
        frame.set(body, 4);
        const read = await attempt(
          where,
          () =>
            readJsonFrame(new MemoryReader(frame, rng.chunk()), {
              maxSize: 1 << 20,
            }),
        );
        tally.add("readJsonFrame", read);
        if (!read.ok) continue;
        candidate = read.value;
      } else {
        candidate = mutateResultsObject(rng, wire);
        where = label(seed, `decodeResults(${JSON.stringify(candidate)})`);
      }
      const decoded = attemptSync(where, () => decodeResults(candidate));
      tally.add("decodeResults", decoded);
      if (decoded.ok) assertResultsShape(where, decoded.value);
    }
  }
  tally.assertBothPaths("readJsonFrame", "decodeResults");
});

Deno.test("Rng is deterministic, so a printed seed replays its input", () => {
  const a = new Rng(inputSeed(SEEDS[0] as number, 7));
  const b = new Rng(inputSeed(SEEDS[0] as number, 7));
  assert.deepEqual(randomInput(a), randomInput(b));
  assert.notDeepEqual(
    randomInput(new Rng(inputSeed(1, 1))),
    randomInput(new Rng(inputSeed(1, 2))),
  );
});
