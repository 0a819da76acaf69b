import assert from "node:assert/strict";
import {
  type Reader,
  readFull,
  writeAll,
  type Writer,
} from "../../lib/net/io.ts";
import { MemoryReader, MemoryWriter } from "../_support/memory.ts";

function bytes(length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 7 + 1) & 0xff);
}

/** A Reader that counts the calls made to it. */
class CountingReader implements Reader {
  calls = 0;
  readonly #inner: Reader;

  constructor(inner: Reader) {
    this.#inner = inner;
  }

  read(p: Uint8Array): Promise<number | null> {
    this.calls++;
    return this.#inner.read(p);
  }
}

/** A Writer that counts the calls made to it and the sizes offered. */
class CountingWriter implements Writer {
  readonly offered: number[] = [];
  readonly #inner: Writer;

  constructor(inner: Writer) {
    this.#inner = inner;
  }

  write(p: Uint8Array): Promise<number> {
    this.offered.push(p.byteLength);
    return this.#inner.write(p);
  }
}

Deno.test("readFull() fills the buffer across short reads", async () => {
  const data = bytes(37);
  for (const chunk of [1, 3, 36, 37, Infinity]) {
    const reader = new CountingReader(new MemoryReader(data, chunk));
    const p = new Uint8Array(37);
    assert.equal(await readFull(reader, p), 37, `chunk ${chunk}`);
    assert.deepEqual(p, data);
    assert.equal(reader.calls, Math.ceil(37 / Math.min(chunk, 37)));
  }
});

Deno.test("readFull() reads no more than the buffer holds", async () => {
  for (const chunk of [1, 3, Infinity]) {
    const reader = new MemoryReader(bytes(10), chunk);
    const p = new Uint8Array(4);
    assert.equal(await readFull(reader, p), 4);
    assert.deepEqual(p, bytes(4));
    assert.equal(reader.remaining, 6);
    const rest = new Uint8Array(6);
    assert.equal(await readFull(reader, rest), 6);
    assert.deepEqual(rest, bytes(10).subarray(4));
  }
});

Deno.test("readFull() returns the count read when the stream ends early", async () => {
  for (const chunk of [1, 3, Infinity]) {
    const p = new Uint8Array(8).fill(0xaa);
    assert.equal(await readFull(new MemoryReader(bytes(5), chunk), p), 5);
    assert.deepEqual(p.subarray(0, 5), bytes(5));
    // Bytes past the end are left alone.
    assert.deepEqual(p.subarray(5), new Uint8Array([0xaa, 0xaa, 0xaa]));
  }
});

Deno.test("readFull() returns 0 at immediate end of stream", async () => {
  for (const chunk of [1, 3, Infinity]) {
    const p = new Uint8Array(4);
    assert.equal(
      await readFull(new MemoryReader(new Uint8Array(0), chunk), p),
      0,
    );
  }
});

Deno.test("readFull() does not read into an empty buffer", async () => {
  const reader = new CountingReader(new MemoryReader(bytes(3)));
  assert.equal(await readFull(reader, new Uint8Array(0)), 0);
  assert.equal(reader.calls, 0);
});

Deno.test("readFull() fills a view without touching the bytes around it", async () => {
  const backing = new Uint8Array(10).fill(0xee);
  const view = backing.subarray(3, 7);
  assert.equal(await readFull(new MemoryReader(bytes(20), 3), view), 4);
  assert.deepEqual(
    backing,
    new Uint8Array([0xee, 0xee, 0xee, ...bytes(4), 0xee, 0xee, 0xee]),
  );
});

Deno.test("readFull() passes on a reader's error", async () => {
  const boom = new Error("connection reset");
  let calls = 0;
  const reader: Reader = {
    read(p: Uint8Array): Promise<number | null> {
      if (calls++ === 0) {
        p[0] = 1;
        return Promise.resolve(1);
      }
      return Promise.reject(boom);
    },
  };
  await assert.rejects(readFull(reader, new Uint8Array(4)), (error) => {
    assert.equal(error, boom);
    return true;
  });
  assert.equal(calls, 2);
});

Deno.test("writeAll() writes everything through a writer that takes 3 bytes per call", async () => {
  for (const length of [1, 2, 3, 4, 37, 147]) {
    const data = bytes(length);
    const memory = new MemoryWriter(3);
    const writer = new CountingWriter(memory);
    await writeAll(writer, data);
    assert.deepEqual(memory.bytes(), data, `length ${length}`);
    // One call per 3 bytes, each offered exactly what was still unwritten.
    const expected: number[] = [];
    for (let left = length; left > 0; left -= 3) expected.push(left);
    assert.deepEqual(writer.offered, expected, `length ${length}`);
  }
});

Deno.test("writeAll() writes in one call when the writer takes everything", async () => {
  const memory = new MemoryWriter();
  const writer = new CountingWriter(memory);
  await writeAll(writer, bytes(143));
  assert.deepEqual(memory.bytes(), bytes(143));
  assert.deepEqual(writer.offered, [143]);
});

Deno.test("writeAll() does not call the writer for no bytes", async () => {
  const memory = new MemoryWriter(3);
  const writer = new CountingWriter(memory);
  await writeAll(writer, new Uint8Array(0));
  assert.deepEqual(writer.offered, []);
  assert.equal(memory.bytes().byteLength, 0);
});

Deno.test("writeAll() writes a view and nothing around it", async () => {
  const backing = bytes(20);
  const memory = new MemoryWriter(3);
  await writeAll(memory, backing.subarray(5, 12));
  assert.deepEqual(memory.bytes(), bytes(20).subarray(5, 12));
});

Deno.test("writeAll() passes on a writer's error", async () => {
  const boom = new Error("broken pipe");
  let calls = 0;
  const writer: Writer = {
    write(): Promise<number> {
      return calls++ === 0 ? Promise.resolve(2) : Promise.reject(boom);
    },
  };
  await assert.rejects(writeAll(writer, bytes(5)), (error) => {
    assert.equal(error, boom);
    return true;
  });
  assert.equal(calls, 2);
});
