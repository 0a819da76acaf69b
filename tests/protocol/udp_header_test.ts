import assert from "node:assert/strict";
import {
  isConnectMessage,
  isConnectReply,
  readUdpSec,
  readUdpSeq,
  readUdpUsec,
  UDP_CONNECT_MSG,
  UDP_CONNECT_REPLY,
  UDP_CONNECT_REPLY_LEGACY,
  udpHeaderSize,
  writeUdpHeader,
} from "../../lib/protocol/udp_header.ts";

// Golden bytes come from the iperf3 3.12 capture in reference doc §5.2
// (`-u -l 100`, then `-u -R --udp-counters-64bit -l 100`).

/** Datagram #1 of `-u -l 100`: sec 0x2dd = 733, usec 0x6d1f3 = 446963, seq 1. */
const GOLDEN_32 = hex("000002dd 0006d1f3 00000001");

/** First `-R --udp-counters-64bit` datagram: sec 734, usec 0xc10af = 790703, seq 1. */
const GOLDEN_64 = hex("000002de 000c10af 00000000 00000001");

Deno.test("udpHeaderSize() is 12 bytes with 32-bit and 16 with 64-bit counters", () => {
  assert.equal(udpHeaderSize(false), 12);
  assert.equal(udpHeaderSize(true), 16);
});

Deno.test("writeUdpHeader() round-trips through the readers with 32-bit counters", () => {
  for (const seq of [1, 2, 1000, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff]) {
    const view = datagram(100);
    writeUdpHeader(view, 733, 446963, seq, false);
    assert.equal(readUdpSec(view), 733);
    assert.equal(readUdpUsec(view), 446963);
    assert.equal(readUdpSeq(view, false), seq);
  }
});

Deno.test("writeUdpHeader() round-trips through the readers with 64-bit counters", () => {
  for (
    const seq of [
      1,
      0xffff_ffff,
      2 ** 32,
      2 ** 32 + 5,
      2 ** 40 + 123,
      Number.MAX_SAFE_INTEGER,
    ]
  ) {
    const view = datagram(100);
    writeUdpHeader(view, 734, 999999, seq, true);
    assert.equal(readUdpSec(view), 734);
    assert.equal(readUdpUsec(view), 999999);
    assert.equal(readUdpSeq(view, true), seq);
  }
});

Deno.test("readUdpSeq() reads a 64-bit counter past 2^32", () => {
  const view = datagram(16);
  writeUdpHeader(view, 0, 0, 2 ** 32 + 5, true);
  assert.deepEqual(bytes(view, 8, 16), hex("00000001 00000005"));
  assert.equal(readUdpSeq(view, true), 2 ** 32 + 5);
});

Deno.test("readUdpSeq() reads 2^53 - 1 exactly with 64-bit counters", () => {
  const view = datagram(16);
  writeUdpHeader(view, 0, 0, 2 ** 53 - 1, true);
  assert.deepEqual(bytes(view, 8, 16), hex("001fffff ffffffff"));
  assert.equal(readUdpSeq(view, true), 2 ** 53 - 1);
});

Deno.test("writeUdpHeader() wraps the sequence number at 2^32 with 32-bit counters", () => {
  const view = datagram(12);
  writeUdpHeader(view, 0, 0, 2 ** 32 + 5, false);
  assert.deepEqual(bytes(view, 8, 12), hex("00000005"));
  assert.equal(readUdpSeq(view, false), 5);
  writeUdpHeader(view, 0, 0, 2 ** 32, false);
  assert.equal(readUdpSeq(view, false), 0);
});

Deno.test("writeUdpHeader() wraps the seconds at 2^32", () => {
  const view = datagram(12);
  writeUdpHeader(view, 2 ** 32 + 7, 0, 1, false);
  assert.deepEqual(bytes(view, 0, 4), hex("00000007"));
  assert.equal(readUdpSec(view), 7);
});

Deno.test("writeUdpHeader() writes the 32-bit golden header of iperf3 3.12", () => {
  const view = datagram(100);
  writeUdpHeader(view, 733, 446963, 1, false);
  assert.deepEqual(bytes(view, 0, 12), GOLDEN_32);
});

Deno.test("writeUdpHeader() writes the 64-bit golden header of iperf3 3.12", () => {
  const view = datagram(100);
  writeUdpHeader(view, 734, 790703, 1, true);
  assert.deepEqual(bytes(view, 0, 16), GOLDEN_64);
});

Deno.test("writeUdpHeader() leaves the payload after the header alone", () => {
  for (const counters64 of [false, true]) {
    const buf = new Uint8Array(100).fill(0xaa);
    writeUdpHeader(new DataView(buf.buffer), 1, 2, 3, counters64);
    const size = udpHeaderSize(counters64);
    assert.ok(buf.subarray(size).every((b) => b === 0xaa));
  }
});

Deno.test("readUdpSeq() reads the 32-bit golden header of iperf3 3.12", () => {
  const view = golden(GOLDEN_32, 100);
  assert.equal(readUdpSec(view), 733);
  assert.equal(readUdpUsec(view), 446963);
  assert.equal(readUdpSeq(view, false), 1);
});

Deno.test("readUdpSeq() reads the 64-bit golden header of iperf3 3.12", () => {
  const view = golden(GOLDEN_64, 100);
  assert.equal(readUdpSec(view), 734);
  assert.equal(readUdpUsec(view), 790703);
  assert.equal(readUdpSeq(view, true), 1);
});

Deno.test("readUdpSeq() reads a view that starts inside a larger buffer", () => {
  const buf = new Uint8Array(64);
  buf.set(GOLDEN_32, 20);
  const view = new DataView(buf.buffer, 20, 12);
  assert.equal(readUdpSec(view), 733);
  assert.equal(readUdpUsec(view), 446963);
  assert.equal(readUdpSeq(view, false), 1);
});

Deno.test("readUdpSeq() throws rather than read past a truncated header", () => {
  // The readers go through DataView, which throws RangeError out of bounds.
  for (
    const [frame, counters64] of [[GOLDEN_32, false], [
      GOLDEN_64,
      true,
    ]] as const
  ) {
    for (let i = 0; i < frame.byteLength; i++) {
      const view = new DataView(frame.slice(0, i).buffer);
      assert.throws(
        () => readUdpSeq(view, counters64),
        RangeError,
        `prefix ${i}`,
      );
    }
  }
});

Deno.test("writeUdpHeader() throws rather than write past a short buffer", () => {
  assert.throws(() => writeUdpHeader(datagram(11), 0, 0, 1, false), RangeError);
  assert.throws(() => writeUdpHeader(datagram(15), 0, 0, 1, true), RangeError);
});

Deno.test("UDP_CONNECT_MSG is ASCII 9876 as iperf3 3.12 sends it", () => {
  assert.deepEqual(UDP_CONNECT_MSG, hex("39383736"));
  assert.equal(new TextDecoder().decode(UDP_CONNECT_MSG), "9876");
});

Deno.test("UDP_CONNECT_REPLY is ASCII 6789 as iperf3 3.12 answers", () => {
  assert.deepEqual(UDP_CONNECT_REPLY, hex("36373839"));
  assert.equal(new TextDecoder().decode(UDP_CONNECT_REPLY), "6789");
  assert.deepEqual(UDP_CONNECT_REPLY_LEGACY, hex("b168de3a"));
});

Deno.test("isConnectReply() accepts 6789", () => {
  assert.equal(isConnectReply(new TextEncoder().encode("6789")), true);
  assert.equal(isConnectReply(hex("36373839")), true);
  assert.equal(isConnectReply(UDP_CONNECT_REPLY), true);
});

Deno.test("isConnectReply() accepts the legacy reply b1 68 de 3a", () => {
  assert.equal(isConnectReply(hex("b168de3a")), true);
  // 987654321 little-endian, as pre-3.1 servers wrote it.
  const legacy = new Uint8Array(4);
  new DataView(legacy.buffer).setUint32(0, 987654321, true);
  assert.equal(isConnectReply(legacy), true);
});

Deno.test("isConnectReply() accepts a reply viewed inside a larger buffer", () => {
  const buf = new Uint8Array(16).fill(0xff);
  buf.set(UDP_CONNECT_REPLY, 5);
  assert.equal(isConnectReply(buf.subarray(5, 9)), true);
});

Deno.test("isConnectReply() rejects wrong content", () => {
  for (
    const text of [
      "9876",
      "6788",
      "7789",
      "6798",
      "0000",
    ]
  ) {
    assert.equal(isConnectReply(new TextEncoder().encode(text)), false, text);
  }
  assert.equal(isConnectReply(hex("3ade68b1")), false); // legacy, byte-swapped
  assert.equal(isConnectReply(hex("b168de3b")), false);
  assert.equal(isConnectReply(new Uint8Array(4)), false);
});

Deno.test("isConnectReply() rejects wrong lengths", () => {
  assert.equal(isConnectReply(new Uint8Array(0)), false);
  assert.equal(isConnectReply(hex("363738")), false);
  assert.equal(isConnectReply(hex("3637383900")), false);
  assert.equal(isConnectReply(hex("b168de")), false);
  assert.equal(isConnectReply(hex("b168de3a00")), false);
  // A data datagram that happens to start with "6789".
  const data = new Uint8Array(100);
  data.set(UDP_CONNECT_REPLY);
  assert.equal(isConnectReply(data), false);
});

function datagram(size: number): DataView {
  return new DataView(new ArrayBuffer(size));
}

function golden(header: Uint8Array, size: number): DataView {
  const buf = new Uint8Array(size).fill(0x5a);
  buf.set(header);
  return new DataView(buf.buffer);
}

function bytes(view: DataView, start: number, end: number): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset + start, end - start);
}

function hex(text: string): Uint8Array {
  const digits = text.replaceAll(" ", "");
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  }
  return out;
}

Deno.test("isConnectMessage() accepts iperf3's 4-byte hellos: 9876, 6789 and the legacy 123456789 either way round", () => {
  assert.equal(isConnectMessage(UDP_CONNECT_MSG), true);
  assert.equal(isConnectMessage(new TextEncoder().encode("9876")), true);
  assert.equal(isConnectMessage(new TextEncoder().encode("6789")), true);
  for (const littleEndian of [true, false]) {
    const legacy = new Uint8Array(4);
    new DataView(legacy.buffer).setUint32(0, 123456789, littleEndian);
    assert.equal(isConnectMessage(legacy), true);
  }
  // A hello viewed inside a larger receive buffer.
  const buf = new Uint8Array(16).fill(0xff);
  buf.set(UDP_CONNECT_MSG, 4);
  assert.equal(isConnectMessage(buf.subarray(4, 8)), true);
});

Deno.test("isConnectMessage() refuses anything else: other lengths, other bytes, data datagrams", () => {
  for (
    const data of [
      new Uint8Array(0),
      hex("39"),
      hex("393837"),
      hex("3938373600"),
      hex("39383737"),
      hex("00000000"),
      GOLDEN_32,
      new Uint8Array(1460),
    ]
  ) {
    assert.equal(isConnectMessage(data), false, `${data.byteLength} bytes`);
  }
});
