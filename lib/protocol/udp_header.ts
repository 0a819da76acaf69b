/**
 * UDP test datagrams: the 4-byte connect handshake and the header at the
 * front of every data datagram (seconds, microseconds, sequence number; all
 * big-endian; the sequence number 32- or 64-bit). See iperf3's
 * `iperf_udp_send` / `iperf_udp_recv`.
 *
 * The functions read and write through a `DataView` over a buffer the
 * caller owns, so the data path allocates nothing per datagram.
 *
 * @module
 */

/** What a client sends to open a UDP stream: ASCII "9876". */
export const UDP_CONNECT_MSG: Uint8Array = new Uint8Array([
  0x39,
  0x38,
  0x37,
  0x36,
]);

/** What the server answers: ASCII "6789". */
export const UDP_CONNECT_REPLY: Uint8Array = new Uint8Array([
  0x36,
  0x37,
  0x38,
  0x39,
]);

/** The reply of iperf3 releases before 3.1 (987654321 little-endian); clients accept it too. */
export const UDP_CONNECT_REPLY_LEGACY: Uint8Array = new Uint8Array([
  0xb1,
  0x68,
  0xde,
  0x3a,
]);

/**
 * Every 4-byte hello iperf3 clients send, in both byte orders: the textual
 * "9876" (the int 0x36373839 written in host order, so "6789" from
 * big-endian hosts of releases that did not swap it) and the legacy int
 * 123456789. Wireshark's iperf3 dissector accepts the same four.
 */
const UDP_CONNECT_MSGS: readonly Uint8Array[] = [
  UDP_CONNECT_MSG,
  new Uint8Array([0x36, 0x37, 0x38, 0x39]),
  new Uint8Array([0x15, 0xcd, 0x5b, 0x07]),
  new Uint8Array([0x07, 0x5b, 0xcd, 0x15]),
];

/**
 * Whether a datagram is a client's hello that opens a UDP stream: exactly 4
 * bytes, one of iperf3's `UDP_CONNECT_MSG` values (`iperf_udp_connect`). A
 * server that took any datagram as a hello would give a stream to whatever
 * stray sender came first.
 *
 * @param data the datagram
 * @returns true for a hello
 */
export function isConnectMessage(data: Uint8Array): boolean {
  if (data.byteLength !== 4) return false;
  return UDP_CONNECT_MSGS.some((hello) => equal(data, hello));
}

/**
 * The header size: 12 bytes with 32-bit counters, 16 with 64-bit ones.
 *
 * @param counters64 whether `--udp-counters-64bit` was negotiated
 * @returns bytes
 */
export function udpHeaderSize(counters64: boolean): number {
  return counters64 ? 16 : 12;
}

/**
 * Writes a datagram header in place.
 *
 * @param view a view over the datagram buffer (at least the header size)
 * @param sec sender clock seconds (wraps at 2^32)
 * @param usec microseconds, 0 to 999999
 * @param seq the sequence number, from 1 (wraps at 2^32 with 32-bit counters)
 * @param counters64 whether the sequence number is 64-bit
 * @param at where the datagram starts in `view` (a batch of datagrams)
 */
export function writeUdpHeader(
  view: DataView,
  sec: number,
  usec: number,
  seq: number,
  counters64: boolean,
  at = 0,
): void {
  view.setUint32(at, sec >>> 0);
  view.setUint32(at + 4, usec >>> 0);
  if (counters64) {
    view.setUint32(at + 8, Math.floor(seq / 0x1_0000_0000) >>> 0);
    view.setUint32(at + 12, seq >>> 0);
  } else {
    view.setUint32(at + 8, seq >>> 0);
  }
}

/**
 * The sender's clock seconds from a header.
 *
 * @param view a view over the datagram
 * @param at where the datagram starts in `view`
 * @returns seconds
 */
export function readUdpSec(view: DataView, at = 0): number {
  return view.getUint32(at);
}

/**
 * The sender's clock microseconds from a header.
 *
 * @param view a view over the datagram
 * @param at where the datagram starts in `view`
 * @returns microseconds
 */
export function readUdpUsec(view: DataView, at = 0): number {
  return view.getUint32(at + 4);
}

/**
 * The sequence number from a header.
 *
 * @param view a view over the datagram
 * @param counters64 whether the sequence number is 64-bit
 * @param at where the datagram starts in `view`
 * @returns the sequence number (exact up to 2^53)
 */
export function readUdpSeq(
  view: DataView,
  counters64: boolean,
  at = 0,
): number {
  if (!counters64) return view.getUint32(at + 8);
  return view.getUint32(at + 8) * 0x1_0000_0000 + view.getUint32(at + 12);
}

/**
 * Whether a datagram is the server's connect reply ("6789", or the legacy one).
 *
 * @param data the datagram
 * @returns true for a 4-byte reply
 */
export function isConnectReply(data: Uint8Array): boolean {
  if (data.byteLength !== 4) return false;
  return equal(data, UDP_CONNECT_REPLY) ||
    equal(data, UDP_CONNECT_REPLY_LEGACY);
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < b.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
