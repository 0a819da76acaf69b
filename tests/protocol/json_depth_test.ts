import assert from "node:assert/strict";
import {
  MAX_JSON_CONTAINERS_PER_KIB,
  MAX_JSON_DEPTH,
  MIN_JSON_CONTAINERS,
  readJsonFrame,
  type ReadJsonOptions,
} from "../../lib/protocol/codec.ts";
import { MAX_RESULTS_SIZE } from "../../lib/protocol/results.ts";
import { ERROR_CODES, ProtocolError } from "../../lib/errors.ts";
import { MemoryReader } from "../_support/memory.ts";

// readJsonFrame() scans every body for its nesting depth and its count of
// objects and arrays before JSON.parse sees it (lib/protocol/codec.ts).

function frameOf(text: string): Uint8Array {
  const body = new TextEncoder().encode(text);
  const frame = new Uint8Array(4 + body.byteLength);
  new DataView(frame.buffer).setUint32(0, body.byteLength);
  frame.set(body, 4);
  return frame;
}

function read(
  text: string,
  options: ReadJsonOptions = {},
): Promise<Record<string, unknown>> {
  return readJsonFrame(new MemoryReader(frameOf(text)), {
    maxSize: MAX_RESULTS_SIZE,
    code: ERROR_CODES.IERECVRESULTS,
    ...options,
  });
}

/** An object `levels` deep in all: `{"a":{"a":...{}...}}`. */
function deepObjects(levels: number): string {
  return '{"a":'.repeat(levels - 1) + "{}" + "}".repeat(levels - 1);
}

/** An object holding arrays, `levels` deep in all: `{"a":[[...[]...]]}`. */
function deepArrays(levels: number): string {
  return '{"a":' + "[".repeat(levels - 1) + "]".repeat(levels - 1) + "}";
}

/** Asserts the promise rejects with the frame's ProtocolError and a detail containing `detail`. */
async function assertRefused(
  promise: Promise<unknown>,
  detail: string,
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ProtocolError, String(error));
    assert.equal(error.code, ERROR_CODES.IERECVRESULTS);
    assert.ok(error.detail?.includes(detail), error.detail);
    return true;
  });
}

/** Levels of objects and arrays in a parsed value, counted without recursion. */
function depthOf(value: unknown): number {
  const isContainer = (v: unknown): v is object =>
    typeof v === "object" && v !== null;
  let depth = 0;
  let level = [value].filter(isContainer);
  while (level.length > 0) {
    depth++;
    level = level.flatMap((v) => Object.values(v)).filter(isContainer);
  }
  return depth;
}

Deno.test("readJsonFrame() accepts objects nested exactly MAX_JSON_DEPTH levels", async () => {
  assert.equal(MAX_JSON_DEPTH, 64);
  const value = await read(deepObjects(MAX_JSON_DEPTH));
  assert.equal(depthOf(value), MAX_JSON_DEPTH);
});

Deno.test("readJsonFrame() accepts arrays nested exactly MAX_JSON_DEPTH levels", async () => {
  const value = await read(deepArrays(MAX_JSON_DEPTH));
  assert.equal(depthOf(value), MAX_JSON_DEPTH);
});

Deno.test("readJsonFrame() refuses objects one level deeper than MAX_JSON_DEPTH", async () => {
  await assertRefused(
    read(deepObjects(MAX_JSON_DEPTH + 1)),
    "JSON nesting deeper than 64 levels",
  );
});

Deno.test("readJsonFrame() refuses arrays one level deeper than MAX_JSON_DEPTH", async () => {
  await assertRefused(
    read(deepArrays(MAX_JSON_DEPTH + 1)),
    "JSON nesting deeper than 64 levels",
  );
});

Deno.test("readJsonFrame() refuses mixed nesting and reports the frame's error code", async () => {
  const text = '{"a":' + '[{"b":'.repeat(40) + "1" + "}]".repeat(40) + "}";
  await assertRefused(read(text), "JSON nesting deeper than 64 levels");
  await assert.rejects(
    readJsonFrame(new MemoryReader(frameOf(text)), { maxSize: 1 << 20 }),
    (error: unknown) =>
      error instanceof ProtocolError &&
      error.code === ERROR_CODES.IERECVPARAMS &&
      error.message ===
        "Unable to receive parameters from client: JSON nesting deeper than 64 levels",
  );
});

Deno.test("readJsonFrame() counts depth, not brackets: siblings do not add up", async () => {
  const wide = '{"a":[' + Array(1000).fill(deepArrays(60)).join(",") + "]}";
  // 60,000 arrays in 120 KB: dense, so the container cap is lifted here.
  const value = await read(wide, { maxContainersPerKib: 1024 });
  assert.equal((value["a"] as unknown[]).length, 1000);
});

Deno.test("readJsonFrame() honours maxDepth", async () => {
  assert.deepEqual(await read('{"a":{"b":1}}', { maxDepth: 2 }), {
    a: { b: 1 },
  });
  await assertRefused(
    read('{"a":{"b":[]}}', { maxDepth: 2 }),
    "JSON nesting deeper than 2 levels",
  );
  const deep = deepObjects(1000);
  assert.equal(depthOf(await read(deep, { maxDepth: 1000 })), 1000);
});

Deno.test("readJsonFrame() does not count brackets inside strings", async () => {
  const brackets = "[[[[{{{{".repeat(100);
  const value = await read(JSON.stringify({ [brackets]: brackets }));
  assert.equal(value[brackets], brackets);
});

Deno.test("readJsonFrame() skips escaped quotes and backslashes inside strings", async () => {
  // `\"` does not end the string: the brackets after it are still text.
  const quoted = '"[' + "[".repeat(200);
  assert.equal((await read(JSON.stringify({ s: quoted })))["s"], quoted);
  // `\\` is a whole escape, so the quote after it does end the string ...
  const slashes = "\\\\" + '\\"' + "\\" + "{".repeat(200);
  assert.equal((await read(JSON.stringify({ s: slashes })))["s"], slashes);
  // ... and brackets after that quote count again.
  await assertRefused(
    read('{"s":"\\\\","t":' + deepArrays(MAX_JSON_DEPTH) + "}"),
    "JSON nesting deeper than 64 levels",
  );
  await assertRefused(
    read('{"s":"\\\\\\\\","t":' + deepArrays(MAX_JSON_DEPTH) + "}"),
    "JSON nesting deeper than 64 levels",
  );
});

Deno.test("readJsonFrame() is not confused by multi-byte UTF-8", async () => {
  const text = "ü€😀[".repeat(50);
  const value = await read(JSON.stringify({ [text]: [text] }));
  assert.deepEqual(value[text], [text]);
  await assertRefused(
    read('{"ü€😀":' + deepArrays(MAX_JSON_DEPTH) + "}"),
    "JSON nesting deeper than 64 levels",
  );
});

Deno.test("readJsonFrame() leaves unbalanced brackets to JSON.parse", async () => {
  await assertRefused(read('{"a":]]]]}'), "malformed JSON");
  await assertRefused(read('{"a":"[[[[}'), "malformed JSON");
});

Deno.test("readJsonFrame() refuses a 4 MiB nesting bomb fast", async (t) => {
  const half = MAX_RESULTS_SIZE / 2;
  const bombs: Record<string, string> = {
    arrays: "[".repeat(half) + "]".repeat(half),
    objects: '{"a":'.repeat(Math.floor((MAX_RESULTS_SIZE - 2) / 6)) + "{}" +
      "}".repeat(Math.floor((MAX_RESULTS_SIZE - 2) / 6)),
  };
  for (const [name, text] of Object.entries(bombs)) {
    await t.step(name, async () => {
      const frame = frameOf(text);
      assert.ok(frame.byteLength > MAX_RESULTS_SIZE - 8);
      const started = performance.now();
      await assert.rejects(
        readJsonFrame(new MemoryReader(frame), {
          maxSize: MAX_RESULTS_SIZE,
          code: ERROR_CODES.IERECVRESULTS,
        }),
        (error: unknown) =>
          error instanceof ProtocolError &&
          error.detail === "JSON nesting deeper than 64 levels",
      );
      // JSON.parse takes 0.3 to 1 s on these; reading and refusing, a few ms.
      const elapsed = performance.now() - started;
      assert.ok(elapsed < 250, `took ${elapsed.toFixed(0)} ms`);
    });
  }
});

Deno.test("readJsonFrame() caps objects and arrays at MIN_JSON_CONTAINERS plus MAX_JSON_CONTAINERS_PER_KIB", async () => {
  // `{"a":[{},...]}`: 2 + n containers.
  const flat = (n: number) => '{"a":[' + Array(n).fill("{}").join(",") + "]}";
  const exact = flat(MIN_JSON_CONTAINERS - 2);
  assert.equal(
    ((await read(exact, { maxContainersPerKib: 0 }))["a"] as unknown[])
      .length,
    MIN_JSON_CONTAINERS - 2,
  );
  await assertRefused(
    read(flat(MIN_JSON_CONTAINERS - 1), { maxContainersPerKib: 0 }),
    `JSON holds more than ${MIN_JSON_CONTAINERS} objects and arrays`,
  );
  // 4 MiB of `{}`: 341 per KiB, parsing costs about 140 MiB.
  const bomb = "[" + "{},".repeat(MAX_RESULTS_SIZE / 3 - 2) + "{}]";
  const limit = MIN_JSON_CONTAINERS +
    Math.floor(bomb.length * MAX_JSON_CONTAINERS_PER_KIB / 1024);
  const started = performance.now();
  await assertRefused(
    read(bomb),
    `JSON holds more than ${limit} objects and arrays in ${bomb.length} bytes`,
  );
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 250, `took ${elapsed.toFixed(0)} ms`);
});

Deno.test("readJsonFrame() accepts a 4 MiB document as dense as iperf3's own", async () => {
  // One interval of a `-P 2` client document from iperf3 3.12, compact:
  // 4 containers in about 600 bytes.
  const stream = {
    socket: 5,
    start: 0,
    end: 1.000068,
    seconds: 1.000068,
    bytes: 3915120640,
    "bits_per_second": 31318834720.3,
    retransmits: 0,
    "snd_cwnd": 3670480,
    rtt: 33,
    omitted: false,
    sender: true,
  };
  const interval = JSON.stringify({
    streams: [stream, { ...stream, socket: 7 }],
    sum: stream,
  });
  const count = Math.floor((MAX_RESULTS_SIZE - 1000) / (interval.length + 1));
  const text = '{"server_output_json":{"intervals":[' +
    Array(count).fill(interval).join(",") + "]}}";
  assert.ok(text.length > MAX_RESULTS_SIZE - 2000);
  const value = await read(text);
  const output = value["server_output_json"] as { intervals: unknown[] };
  assert.equal(output.intervals.length, count);
});
