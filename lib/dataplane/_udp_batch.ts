/**
 * A batch of UDP messages for one `sendmmsg`/`recvmmsg` call: the
 * datagrams' bytes, and the `struct mmsghdr` array and `struct iovec`s that
 * point at them (and, for UDP_GRO, one control buffer per message), all in
 * one ArrayBuffer that never moves. Linux LP64 layout (x86_64, aarch64):
 * `msghdr` is 56 bytes (name 0, namelen 8, iov 16, iovlen 24, control 32,
 * controllen 40, flags 48) and `mmsghdr` adds `msg_len` at 56, 64 in all.
 *
 * @module
 */

import { addressOf } from "../net/libc_io.ts";

const MMSGHDR = 64;
const IOVEC = 16;
const MSG_IOV = 16;
const MSG_IOVLEN = 24;
const MSG_CONTROL = 32;
const MSG_CONTROLLEN = 40;
const MSG_FLAGS = 48;
const MSG_LEN = 56;

/** `SOL_UDP` and `UDP_GRO`: the control message that carries a GRO read's segment size. */
const SOL_UDP = 17;
const UDP_GRO = 104;

/** Control bytes per message when UDP_GRO is on (one `cmsghdr` with an int fits in 24). */
export const GRO_CONTROL_BYTES = 64;

const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Messages, each with its own slice of `data`, ready for `sendmmsg`/`recvmmsg`. */
export class MsgBatch {
  /** How many messages. */
  readonly messages: number;
  /** Bytes of each message's slice of `data`. */
  readonly messageBytes: number;
  /** The messages' bytes: message `i` at `i * messageBytes`. */
  readonly data: Uint8Array;
  /** Big-endian reads and writes of `data` (the datagram headers). */
  readonly view: DataView;
  /** The `mmsghdr` array, the argument of `sendmmsg`/`recvmmsg`. */
  readonly vector: Uint8Array;
  readonly #vector: DataView;
  readonly #iov: DataView;
  readonly #control: DataView | undefined;
  readonly #controlBytes: number;

  /**
   * Allocates the batch and points every header at its slice.
   *
   * @param messages how many messages
   * @param messageBytes bytes of each
   * @param controlBytes control buffer bytes per message, 0 for none
   */
  constructor(messages: number, messageBytes: number, controlBytes = 0) {
    this.messages = messages;
    this.messageBytes = messageBytes;
    this.#controlBytes = controlBytes;
    const dataBytes = messages * messageBytes;
    const vectorAt = align(dataBytes);
    const iovAt = vectorAt + messages * MMSGHDR;
    const controlAt = iovAt + messages * IOVEC;
    // At least 128 bytes, so V8 keeps it off its heap (it never moves).
    const all = new Uint8Array(
      Math.max(128, controlAt + messages * controlBytes),
    );
    const base = addressOf(all);
    this.data = all.subarray(0, dataBytes);
    this.view = new DataView(all.buffer, 0, dataBytes);
    this.vector = all.subarray(vectorAt, iovAt);
    this.#vector = new DataView(all.buffer, vectorAt, messages * MMSGHDR);
    this.#iov = new DataView(all.buffer, iovAt, messages * IOVEC);
    this.#control = controlBytes
      ? new DataView(all.buffer, controlAt, messages * controlBytes)
      : undefined;
    for (let i = 0; i < messages; i++) {
      const iov = i * IOVEC;
      this.#iov.setBigUint64(
        iov,
        base + BigInt(i * messageBytes),
        LITTLE,
      );
      this.#iov.setBigUint64(iov + 8, BigInt(messageBytes), LITTLE);
      const h = i * MMSGHDR;
      this.#vector.setBigUint64(
        h + MSG_IOV,
        base + BigInt(iovAt + iov),
        LITTLE,
      );
      this.#vector.setBigUint64(h + MSG_IOVLEN, 1n, LITTLE);
      if (controlBytes) {
        this.#vector.setBigUint64(
          h + MSG_CONTROL,
          base + BigInt(controlAt + i * controlBytes),
          LITTLE,
        );
      }
    }
    this.resetControl(messages);
  }

  /**
   * Sets how many bytes message `i` sends.
   *
   * @param i the message
   * @param bytes at most `messageBytes`
   */
  setLength(i: number, bytes: number): void {
    this.#iov.setBigUint64(i * IOVEC + 8, BigInt(bytes), LITTLE);
  }

  /**
   * The bytes message `i` received (`msg_len`; with MSG_TRUNC the datagram's
   * full length, which may exceed `messageBytes`).
   *
   * @param i the message
   * @returns bytes
   */
  received(i: number): number {
    return this.#vector.getUint32(i * MMSGHDR + MSG_LEN, LITTLE);
  }

  /**
   * Gives the first `count` messages their whole control buffers again (the
   * kernel shrinks `msg_controllen` to what it wrote) before a receive.
   *
   * @param count messages to reset
   */
  resetControl(count: number): void {
    if (!this.#controlBytes) return;
    for (let i = 0; i < count; i++) {
      const h = i * MMSGHDR;
      this.#vector.setBigUint64(
        h + MSG_CONTROLLEN,
        BigInt(this.#controlBytes),
        LITTLE,
      );
      this.#vector.setInt32(h + MSG_FLAGS, 0, LITTLE);
    }
  }

  /**
   * The segment size in message `i`'s UDP_GRO control message: every
   * datagram the kernel coalesced into it has this size but the last.
   *
   * @param i the message
   * @returns the size, or 0 when the read holds one datagram
   */
  groSize(i: number): number {
    const control = this.#control;
    if (!control) return 0;
    const length = Number(
      this.#vector.getBigUint64(i * MMSGHDR + MSG_CONTROLLEN, LITTLE),
    );
    const start = i * this.#controlBytes;
    const end = start + Math.min(length, this.#controlBytes);
    for (let at = start; at + 20 <= end;) {
      const cmsgLength = Number(control.getBigUint64(at, LITTLE));
      if (cmsgLength < 16) return 0;
      const level = control.getInt32(at + 8, LITTLE);
      const type = control.getInt32(at + 12, LITTLE);
      if (level === SOL_UDP && type === UDP_GRO) {
        return control.getInt32(at + 16, LITTLE);
      }
      at += align(cmsgLength);
    }
    return 0;
  }
}

function align(n: number): number {
  return Math.ceil(n / 8) * 8;
}
