import assert from "node:assert/strict";
import {
  decodeLatencyProbe,
  encodeLatencyProbe,
  type LatencyProbe,
  PROBE_MAX_SIZE,
  PROBE_SIZE,
  probeCookieOf,
  probeKindOf,
} from "../../lib/protocol/latency_probe.ts";

const COOKIE = "abcdefghijklmnopqrstuvwxyz2345672345";

const PROBE: LatencyProbe = {
  kind: "loaded",
  cookie: COOKIE,
  seq: 0x01020304,
  sentMs: 1234.5,
};

Deno.test("encodeLatencyProbe() round-trips through decodeLatencyProbe()", () => {
  for (const kind of ["idle", "idle-last", "loaded"] as const) {
    const probe = { ...PROBE, kind };
    const bytes = encodeLatencyProbe(probe);
    assert.equal(bytes.length, PROBE_SIZE);
    assert.deepEqual(decodeLatencyProbe(bytes), probe);
    assert.equal(probeCookieOf(bytes), COOKIE);
    assert.equal(probeKindOf(bytes), kind);
  }
});

Deno.test("encodeLatencyProbe() lays the fields out as documented", () => {
  const bytes = encodeLatencyProbe(PROBE);
  assert.equal(PROBE_SIZE, 55);
  // Magic "ITSL", version 1, kind 3 (loaded).
  assert.deepEqual([...bytes.subarray(0, 6)], [0x49, 0x54, 0x53, 0x4c, 1, 3]);
  assert.equal(new TextDecoder().decode(bytes.subarray(6, 42)), COOKIE);
  assert.equal(bytes[42], 0);
  assert.deepEqual([...bytes.subarray(43, 47)], [1, 2, 3, 4]);
  // 1234.5 as a big-endian IEEE 754 double.
  assert.deepEqual(
    [...bytes.subarray(47, 55)],
    [0x40, 0x93, 0x4a, 0x00, 0, 0, 0, 0],
  );
});

Deno.test("encodeLatencyProbe() refuses a bad cookie or sequence number", () => {
  assert.throws(
    () => encodeLatencyProbe({ ...PROBE, cookie: "short" }),
    RangeError,
  );
  assert.throws(() => encodeLatencyProbe({ ...PROBE, seq: -1 }), RangeError);
  assert.throws(
    () => encodeLatencyProbe({ ...PROBE, seq: 2 ** 32 }),
    RangeError,
  );
  assert.throws(() => encodeLatencyProbe({ ...PROBE, seq: 1.5 }), RangeError);
});

Deno.test("decodeLatencyProbe() takes no truncated prefix or longer datagram for a probe", () => {
  const bytes = encodeLatencyProbe(PROBE);
  for (let n = 0; n < bytes.length; n++) {
    assert.equal(decodeLatencyProbe(bytes.subarray(0, n)), undefined, `${n}`);
  }
  const longer = new Uint8Array(PROBE_SIZE + 1);
  longer.set(bytes);
  assert.equal(decodeLatencyProbe(longer), undefined);
});

Deno.test("decodeLatencyProbe() takes nothing else for a probe", () => {
  const bytes = encodeLatencyProbe(PROBE);
  const changed = (at: number, value: number) => {
    const copy = bytes.slice();
    copy[at] = value;
    return copy;
  };
  assert.equal(decodeLatencyProbe(changed(0, 0x48)), undefined, "magic");
  assert.equal(decodeLatencyProbe(changed(4, 2)), undefined, "version");
  assert.equal(decodeLatencyProbe(changed(5, 0)), undefined, "kind 0");
  assert.equal(decodeLatencyProbe(changed(5, 4)), undefined, "kind 4");
  assert.equal(decodeLatencyProbe(changed(10, 0x20)), undefined, "cookie");
  assert.equal(decodeLatencyProbe(changed(42, 0x61)), undefined, "NUL");
  const nan = bytes.slice();
  new DataView(nan.buffer).setFloat64(47, NaN);
  assert.equal(decodeLatencyProbe(nan), undefined, "time");
  // iperf3's UDP hello and a data datagram are not probes.
  assert.equal(decodeLatencyProbe(new TextEncoder().encode("9876")), undefined);
  assert.equal(decodeLatencyProbe(new Uint8Array(PROBE_SIZE)), undefined);
});

Deno.test("probeCookieOf() reads the cookie of any probe-like datagram up to 64 bytes", () => {
  const bytes = encodeLatencyProbe(PROBE);
  // A later version, longer, is still answered by cookie.
  const later = new Uint8Array(PROBE_MAX_SIZE);
  later.set(bytes);
  later[4] = 9;
  assert.equal(probeCookieOf(later), COOKIE);
  assert.equal(probeKindOf(later), "loaded");
  const tooLong = new Uint8Array(PROBE_MAX_SIZE + 1);
  tooLong.set(bytes);
  assert.equal(probeCookieOf(tooLong), undefined);
  for (let n = 0; n < 43; n++) {
    assert.equal(probeCookieOf(bytes.subarray(0, n)), undefined, `${n}`);
  }
  assert.equal(probeCookieOf(bytes.subarray(0, 43)), COOKIE);
  const wrongMagic = bytes.slice();
  wrongMagic[3] = 0;
  assert.equal(probeCookieOf(wrongMagic), undefined);
});
