/**
 * One data-plane thread: moves the bytes of the TCP streams it is given
 * with non-blocking libc `send`/`recv` on descriptors it owns (UDP streams
 * in `sendmmsg`/`recvmmsg` batches, see `_udp_send.ts` and
 * `_udp_receive.ts`), waiting in `ppoll` when none can move, and counts
 * them in the test's shared buffer.
 * It reads the control words (counting, stop, budget) with Atomics; nothing
 * crosses threads per block. Messages carry only the rare events: a test's
 * streams arrive, a test is released, a budget is used up, a stream fails.
 *
 * Ownership: every descriptor here is a duplicate made for this thread by
 * the control plane; this thread closes it when the test is released, and
 * never touches the original, which the session closes.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { makePayload } from "../stream/payload.ts";
import { setImmediate } from "node:timers";
import {
  ERRNO,
  type LibcIo,
  MSG_FLAGS,
  MSG_TRUNC,
  openLibcIo,
  POLLIN,
  POLLOUT,
  PR_SET_TIMERSLACK,
} from "../net/libc_io.ts";
import { UdpReceiver } from "./_udp_receive.ts";
import { type UdpHost, UdpSender } from "./_udp_send.ts";
import {
  COUNTING,
  type FromThread,
  LIMIT_BASE,
  LIMIT_BLOCKS,
  LIMIT_BYTES,
  STATE,
  STOP_SENDING,
  type StreamPlan,
  streamWords,
  type ToThread,
} from "./_layout.ts";

/**
 * The longest the thread moves bytes before it lets its messages in, ms;
 * it does at once when its mailbox says a message is waiting.
 */
const SLICE_MS = 100;

/**
 * The same while a UDP stream is live: a turn of the event loop takes 0.2 to
 * 1.5 ms now and then (V8's tasks run there), and a UDP receiver's socket
 * buffer holds about 1 ms at 1 Gbit/s. Messages still come in at once (the
 * mailbox).
 */
const UDP_SLICE_MS = 10_000;

/** The longest `poll` wait, ms (control words are read at least this often). */
const POLL_MAX_MS = 2;

/** Calls on one stream before the next stream gets its turn. */
const TURN_CALLS = 8;

/** Most descriptors one poll call waits on. */
const MAX_POLL = 1024;

/**
 * This thread's timer slack, ns: a paced sender's sleep ends within this
 * of its due time (Linux's default is 50 µs, four datagrams at 1 Gbit/s).
 */
const TIMER_SLACK_NS = 50000;

interface Test {
  id: number;
  big: BigInt64Array;
  int: Int32Array;
  streams: number;
  /** Which of the test's streams send. */
  sending: boolean[];
  /** Whether this thread already said the budget is used up. */
  limitSaid: boolean;
  /** The block senders of this test write (one per test and thread). */
  block?: Uint8Array;
}

interface Slot {
  test: Test;
  plan: StreamPlan;
  words: ReturnType<typeof streamWords>;
  /** Bytes of the current block already sent (whole blocks count as one). */
  offset: number;
  /** Bytes sent since the stream started, for `-b`. */
  sentForRate: number;
  startMs: number;
  /** What it waits for in poll; 0 when it is done. */
  events: number;
  done: boolean;
  /** A UDP stream's sender or receiver (TCP streams have none). */
  udp?: UdpSender | UdpReceiver;
}

let io: LibcIo;
const tests = new Map<number, Test>();
let slots: Slot[] = [];
let receiveBuffer = new Uint8Array(0);
const pollBuffer = new Uint8Array(8 * MAX_POLL);
const pollView = new DataView(pollBuffer.buffer);
let wake: (() => void) | undefined;
/** Messages posted to this thread (written by the control plane), and those read. */
let mailbox: Int32Array<ArrayBufferLike> = new Int32Array(1);
let read = 0;

function post(message: FromThread): void {
  self.postMessage(message);
}

self.onmessage = (event: MessageEvent<ToThread>) => {
  const message = event.data;
  if (message.kind === "init") {
    mailbox = new Int32Array(message.mailbox);
    return;
  }
  read++;
  if (message.kind === "add") add(message);
  else release(message.test);
  wake?.();
};

function add(message: Extract<ToThread, { kind: "add" }>): void {
  const test: Test = {
    id: message.test,
    big: new BigInt64Array(message.shared),
    int: new Int32Array(message.shared),
    streams: message.streams,
    sending: message.sending,
    limitSaid: false,
  };
  tests.set(test.id, test);
  const now = performance.now();
  for (const plan of message.plans) {
    const words = streamWords(plan.index);
    const slot: Slot = {
      test,
      plan,
      words,
      offset: 0,
      sentForRate: 0,
      startMs: now,
      events: plan.send ? POLLOUT : POLLIN,
      done: false,
    };
    if (plan.udp) {
      const host = udpHost(test, words);
      slot.udp = plan.send
        ? new UdpSender(io, plan, host)
        : new UdpReceiver(io, plan, host);
    } else if (plan.send) {
      test.block ??= makePayload(plan.length, plan.repeating);
    } else if (receiveBuffer.byteLength < plan.length) {
      receiveBuffer = new Uint8Array(plan.length);
    }
    slots.push(slot);
  }
}

/** What a UDP slot sees of its test. */
function udpHost(test: Test, words: ReturnType<typeof streamWords>): UdpHost {
  return {
    big: test.big,
    int: test.int,
    words,
    counting: () => Atomics.load(test.int, COUNTING) === 1,
    stopping: () =>
      Atomics.load(test.int, STOP_SENDING) === 1 || test.limitSaid,
    allowance: (length) => allowance(test, length),
    counted: () => {
      budgetUsed(test);
    },
  };
}

/** Datagrams of `length` bytes the test's `-n`/`-k` budget still allows (summed over all its streams). */
function allowance(test: Test, length: number): number {
  const maxBytes = Atomics.load(test.big, LIMIT_BYTES);
  const maxBlocks = Atomics.load(test.big, LIMIT_BLOCKS);
  if (maxBytes === 0n && maxBlocks === 0n) return Infinity;
  const sent = moved(test, true);
  let left = Infinity;
  if (maxBytes > 0n) left = Math.ceil(Number(maxBytes - sent.bytes) / length);
  if (maxBlocks > 0n) left = Math.min(left, Number(maxBlocks - sent.blocks));
  return left;
}

/** What the test's sending (or receiving) streams moved since the budget was armed, summed over all threads. */
function moved(
  test: Test,
  sending: boolean,
): { bytes: bigint; blocks: bigint } {
  let bytes = -Atomics.load(
    test.big,
    sending ? LIMIT_BASE.sentBytes : LIMIT_BASE.receivedBytes,
  );
  let blocks = -Atomics.load(
    test.big,
    sending ? LIMIT_BASE.sentBlocks : LIMIT_BASE.receivedBlocks,
  );
  for (let i = 0; i < test.streams; i++) {
    if (test.sending[i] !== sending) continue;
    const w = streamWords(i);
    bytes += Atomics.load(test.big, w.bytes);
    blocks += Atomics.load(test.big, w.blocks);
  }
  return { bytes, blocks };
}

function release(id: number): void {
  const kept: Slot[] = [];
  for (const slot of slots) {
    if (slot.test.id === id) io.symbols.close(slot.plan.fd);
    else kept.push(slot);
  }
  slots = kept;
  tests.delete(id);
  post({ kind: "released", test: id });
}

/** Whether the test's `-n`/`-k` budget is used up (summed over all its streams). */
function budgetUsed(test: Test): boolean {
  const maxBytes = Atomics.load(test.big, LIMIT_BYTES);
  const maxBlocks = Atomics.load(test.big, LIMIT_BLOCKS);
  if (maxBytes === 0n && maxBlocks === 0n) return false;
  // Each direction on its own: a --bidir test ends when either reaches it.
  const reached = (m: { bytes: bigint; blocks: bigint }) =>
    (maxBytes > 0n && m.bytes >= maxBytes) ||
    (maxBlocks > 0n && m.blocks >= maxBlocks);
  const used = reached(moved(test, true)) || reached(moved(test, false));
  if (used && !test.limitSaid) {
    test.limitSaid = true;
    post({ kind: "limit", test: test.id });
  }
  return used;
}

function fail(slot: Slot, errno: number): void {
  slot.done = true;
  slot.events = 0;
  Atomics.store(slot.test.int, slot.words.errno, errno);
  Atomics.store(slot.test.int, slot.words.state, STATE.FAILED);
  post({
    kind: "failed",
    test: slot.test.id,
    index: slot.plan.index,
    errno,
    text: io.strerror(errno),
  });
}

function stopSender(slot: Slot): void {
  slot.done = true;
  slot.events = 0;
  Atomics.store(slot.test.int, slot.words.state, STATE.STOPPED);
}

/** One turn of a sending stream; returns whether bytes moved and when it is next due (rate). */
function sendTurn(slot: Slot, now: number): { moved: boolean; dueMs: number } {
  const { test, plan, words } = slot;
  const block = test.block as Uint8Array;
  let moved = false;
  for (let k = 0; k < TURN_CALLS; k++) {
    if (Atomics.load(test.int, STOP_SENDING) === 1 || test.limitSaid) {
      stopSender(slot);
      return { moved, dueMs: Infinity };
    }
    if (plan.bitsPerSecond > 0) {
      // iperf3's iperf_check_throttle: average rate since the start.
      const dueMs = slot.startMs +
        slot.sentForRate * 8 / plan.bitsPerSecond * 1000;
      if (dueMs > now) {
        slot.events = 0;
        return { moved, dueMs };
      }
    }
    const view = slot.offset === 0 ? block : block.subarray(slot.offset);
    const n = Number(
      io.symbols.send(plan.fd, view, BigInt(view.byteLength), MSG_FLAGS),
    );
    if (n < 0) {
      const errno = io.errno();
      if (errno === ERRNO.EINTR) continue;
      if (errno === ERRNO.EAGAIN) {
        slot.events = POLLOUT;
        return { moved, dueMs: Infinity };
      }
      fail(slot, errno);
      return { moved, dueMs: Infinity };
    }
    moved = true;
    slot.sentForRate += n;
    slot.offset += n;
    const whole = slot.offset >= block.byteLength;
    if (whole) slot.offset = 0;
    if (Atomics.load(test.int, COUNTING) === 1) {
      Atomics.add(test.big, words.bytes, BigInt(n));
      // A block counts once it is out whole, as iperf3's Nwrite.
      if (whole) {
        Atomics.add(test.big, words.blocks, 1n);
        budgetUsed(test);
      }
    }
  }
  slot.events = POLLOUT;
  return { moved, dueMs: Infinity };
}

/** One turn of a receiving stream; returns whether bytes moved. */
function receiveTurn(slot: Slot): boolean {
  const { test, plan, words } = slot;
  const buffer = plan.length === receiveBuffer.byteLength
    ? receiveBuffer
    : receiveBuffer.subarray(0, plan.length);
  let moved = false;
  for (let k = 0; k < TURN_CALLS; k++) {
    const n = Number(
      io.symbols.recv(
        plan.fd,
        buffer,
        BigInt(buffer.byteLength),
        plan.truncate ? MSG_FLAGS | MSG_TRUNC : MSG_FLAGS,
      ),
    );
    if (n === 0) {
      slot.done = true;
      slot.events = 0;
      Atomics.store(test.int, words.state, STATE.EOF);
      return moved;
    }
    if (n < 0) {
      const errno = io.errno();
      if (errno === ERRNO.EINTR) continue;
      if (errno === ERRNO.EAGAIN) break;
      fail(slot, errno);
      return moved;
    }
    moved = true;
    if (Atomics.load(test.int, COUNTING) === 1) {
      Atomics.add(test.big, words.bytes, BigInt(n));
      Atomics.add(test.big, words.blocks, 1n);
      budgetUsed(test);
    }
  }
  slot.events = POLLIN;
  return moved;
}

/** Moves bytes for up to SLICE_MS. */
function slice(): void {
  const udp = slots.some((s) => s.udp && !s.done);
  const end = performance.now() + (udp ? UDP_SLICE_MS : SLICE_MS);
  while (true) {
    const now = performance.now();
    if (now >= end || Atomics.load(mailbox, 0) !== read) return;
    let moved = false;
    let dueMs = Infinity;
    let live = 0;
    for (const slot of slots) {
      if (slot.done) continue;
      live++;
      if (slot.udp) {
        const turn = slot.udp instanceof UdpSender
          ? slot.udp.turn(now)
          : slot.udp.turn();
        // A receiver that read all there was waits for poll, not a turn.
        moved ||= turn.moved && !turn.drained;
        dueMs = Math.min(dueMs, turn.dueMs);
        slot.events = turn.events;
        if (turn.end === "failed") fail(slot, turn.errno);
        else if (turn.end === "stopped") stopSender(slot);
      } else if (slot.plan.send) {
        const turn = sendTurn(slot, now);
        moved ||= turn.moved;
        dueMs = Math.min(dueMs, turn.dueMs);
      } else {
        moved = receiveTurn(slot) || moved;
      }
    }
    if (live === 0) return;
    if (moved) continue;
    // Nothing could move: wait for a socket, a rate's next due time, or
    // the next look at the control words.
    let count = 0;
    for (const slot of slots) {
      if (slot.done || slot.events === 0 || count >= MAX_POLL) continue;
      pollView.setInt32(count * 8, slot.plan.fd, true);
      pollView.setInt16(count * 8 + 4, slot.events, true);
      pollView.setInt16(count * 8 + 6, 0, true);
      count++;
    }
    const waitMs = Math.max(
      0,
      Math.min(POLL_MAX_MS, end - now, dueMs - now),
    );
    // To the microsecond: a paced sender's next datagram may be due sooner
    // than poll's milliseconds can say (at 1 Gbit/s, every 12 µs).
    io.wait(pollBuffer, count, waitMs * 1e6);
  }
}

/** Waits for the next message, or a short while when streams only wait on their rate. */
function idle(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    wake = done;
    function done() {
      clearTimeout(timer);
      wake = undefined;
      resolve();
    }
  });
}

async function main(): Promise<void> {
  try {
    io = openLibcIo();
  } catch (error) {
    post({ kind: "unavailable", reason: String(error) });
    return;
  }
  io.symbols.prctl(PR_SET_TIMERSLACK, BigInt(TIMER_SLACK_NS), 0n, 0n, 0n);
  post({ kind: "ready" });
  while (true) {
    const live = slots.some((s) => !s.done);
    if (!live) {
      // Nothing to move: sleep until a message arrives. Stopped senders
      // and finished receivers wait here for their release.
      await idle(1000);
      continue;
    }
    slice();
    // Let messages in (a release, new streams) between slices: setImmediate
    // costs microseconds where setTimeout(0) costs about 2 ms in a Worker,
    // a pause a receiver at 1 Gbit/s cannot afford (its socket buffer holds
    // about 2 ms of datagrams).
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

await main();
