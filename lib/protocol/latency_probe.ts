/**
 * The latency probe datagram of `--latency` (an iperf-ts extension; iperf3
 * has none): the client sends it to the server's UDP port, an iperf-ts
 * server that was asked for the test's latency sends it straight back.
 *
 * Layout (55 bytes, big-endian):
 *
 * | offset | size | field                                              |
 * | -----: | ---: | -------------------------------------------------- |
 * |      0 |    4 | magic `ITSL` (`49 54 53 4c`)                       |
 * |      4 |    1 | version, 1                                         |
 * |      5 |    1 | kind: 1 idle, 2 last idle, 3 loaded                |
 * |      6 |   37 | the test's cookie: 36 characters and a NUL         |
 * |     43 |    4 | sequence number                                    |
 * |     47 |    8 | the client's send time, ms of its monotonic clock  |
 *
 * @module
 */

import { COOKIE_SIZE, encodeCookie } from "./codec.ts";

/** The first four bytes of every probe: ASCII `ITSL` ("iperf-ts latency"). */
export const PROBE_MAGIC: Uint8Array = new Uint8Array([0x49, 0x54, 0x53, 0x4c]);

/** The layout's version. */
export const PROBE_VERSION = 1;

/** A probe's size on the wire. */
export const PROBE_SIZE = 4 + 1 + 1 + COOKIE_SIZE + 4 + 8;

/** The largest datagram a server echoes: room for later versions, never an amplifier. */
export const PROBE_MAX_SIZE = 64;

/** What a probe is for: before the load, the last of those, or during it. */
export type ProbeKind = "idle" | "idle-last" | "loaded";

const KIND_BYTES: Readonly<Record<ProbeKind, number>> = {
  idle: 1,
  "idle-last": 2,
  loaded: 3,
};

const KINDS: readonly (ProbeKind | undefined)[] = [
  undefined,
  "idle",
  "idle-last",
  "loaded",
];

/** One probe's fields. */
export interface LatencyProbe {
  /** Its purpose. */
  kind: ProbeKind;
  /** The test's cookie, 36 characters. */
  cookie: string;
  /** The sequence number, 0 to 2^32 - 1. */
  seq: number;
  /** The client's send time (its `performance.now()`, ms). */
  sentMs: number;
}

/**
 * The wire bytes of a probe.
 *
 * @param probe the fields
 * @returns {@linkcode PROBE_SIZE} bytes
 * @throws {RangeError} for a cookie that is not 36 printable characters or a
 *   sequence number out of range
 */
export function encodeLatencyProbe(probe: LatencyProbe): Uint8Array {
  if (!Number.isInteger(probe.seq) || probe.seq < 0 || probe.seq > 0xffffffff) {
    throw new RangeError(
      `Cannot encode probe: sequence number "${probe.seq}" is not 0 to 4294967295`,
    );
  }
  const bytes = new Uint8Array(PROBE_SIZE);
  const view = new DataView(bytes.buffer);
  bytes.set(PROBE_MAGIC, 0);
  view.setUint8(4, PROBE_VERSION);
  view.setUint8(5, KIND_BYTES[probe.kind]);
  bytes.set(encodeCookie(probe.cookie), 6);
  view.setUint32(6 + COOKIE_SIZE, probe.seq);
  view.setFloat64(10 + COOKIE_SIZE, probe.sentMs);
  return bytes;
}

/**
 * Reads a probe. Anything else (another size, magic, version or kind, a
 * cookie that is not 36 printable characters and a NUL) is not one, and the
 * caller treats it as it treats any datagram.
 *
 * @param data a datagram
 * @returns the fields, or undefined when it is not a probe
 */
export function decodeLatencyProbe(
  data: Uint8Array,
): LatencyProbe | undefined {
  if (data.byteLength !== PROBE_SIZE) return undefined;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (!hasMagic(view)) return undefined;
  if (view.getUint8(4) !== PROBE_VERSION) return undefined;
  const kind = KINDS[view.getUint8(5)];
  if (kind === undefined) return undefined;
  const cookie = probeCookie(view);
  if (cookie === undefined) return undefined;
  const sentMs = view.getFloat64(10 + COOKIE_SIZE);
  if (!Number.isFinite(sentMs)) return undefined;
  return { kind, cookie, seq: view.getUint32(6 + COOKIE_SIZE), sentMs };
}

/**
 * The cookie of a datagram that starts like a probe of any version (magic,
 * then a cookie at byte 6), at most {@linkcode PROBE_MAX_SIZE} bytes: what a
 * server checks before it echoes, so a later client's probes are answered
 * too.
 *
 * @param data a datagram
 * @returns the cookie, or undefined
 */
export function probeCookieOf(data: Uint8Array): string | undefined {
  if (data.byteLength < 6 + COOKIE_SIZE || data.byteLength > PROBE_MAX_SIZE) {
    return undefined;
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return hasMagic(view) ? probeCookie(view) : undefined;
}

/**
 * The kind byte of a datagram that {@linkcode probeCookieOf} accepted.
 *
 * @param data the datagram
 * @returns the kind, or undefined for a byte this version does not know
 */
export function probeKindOf(data: Uint8Array): ProbeKind | undefined {
  if (data.byteLength < 6) return undefined;
  return KINDS[new DataView(data.buffer, data.byteOffset).getUint8(5)];
}

function hasMagic(view: DataView): boolean {
  for (let i = 0; i < PROBE_MAGIC.length; i++) {
    if (view.getUint8(i) !== PROBE_MAGIC[i]) return false;
  }
  return true;
}

function probeCookie(view: DataView): string | undefined {
  let text = "";
  for (let i = 0; i < COOKIE_SIZE - 1; i++) {
    const b = view.getUint8(6 + i);
    if (b < 0x21 || b > 0x7e) return undefined;
    text += String.fromCharCode(b);
  }
  return view.getUint8(6 + COOKIE_SIZE - 1) === 0 ? text : undefined;
}
