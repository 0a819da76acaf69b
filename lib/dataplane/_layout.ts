/**
 * The shared memory of one test's threaded streams: a SharedArrayBuffer
 * with a control block and one block per stream, and the messages between
 * the control plane and the data-plane threads.
 *
 * One writer per word. The control block is written only by the control
 * plane (the session's TestRun) and read by the threads; a stream's block is
 * written only by the thread that moves that stream and read by the control
 * plane's interval clock. Every read and write goes through Atomics.
 *
 * @module
 */

/** Bytes of the control block. */
const CONTROL_BYTES = 64;

/** Bytes of one stream's block. */
const STREAM_BYTES = 64;

/** Int32 index: 1 while moved bytes are counted (TEST_RUNNING until the end). */
export const COUNTING = 0;
/** Int32 index: 1 once senders must stop (the test ends). */
export const STOP_SENDING = 1;
/**
 * BigInt64 index: the `-n` budget in bytes, 0 while unarmed. Each direction
 * has it on its own (iperf3: `bytes_sent >= n || bytes_received >= n`),
 * counted from that direction's raw totals when it was armed
 * ({@linkcode LIMIT_BASE}).
 */
export const LIMIT_BYTES = 1;
/** BigInt64 index: the `-k` budget in blocks, 0 while unarmed. */
export const LIMIT_BLOCKS = 2;
/**
 * BigInt64 indices: each direction's raw totals when the budget was armed
 * (0 at the start, the counts at the end of `-O`); written before the
 * limit words.
 */
export const LIMIT_BASE = {
  sentBytes: 4,
  sentBlocks: 5,
  receivedBytes: 6,
  receivedBlocks: 7,
} as const;
/**
 * Int32 index: bumped by the control plane at the end of the omit period;
 * a UDP receiver that sees it change starts its jitter afresh (iperf3's
 * `iperf_reset_stats`), so the control plane never writes a thread's words.
 */
export const JITTER_RESET = 6;

/** A stream's state, written by its thread. */
export const STATE = {
  /** Moving bytes. */
  RUNNING: 0,
  /** A sender that has stopped: its counts are final. */
  STOPPED: 1,
  /** A receiver whose peer closed. */
  EOF: 2,
  /** A send or receive failed; `ERRNO` says why. */
  FAILED: 3,
} as const;

/** Word offsets of stream `index`'s block. */
export function streamWords(index: number): {
  /** BigInt64 index of its byte count. */
  bytes: number;
  /** BigInt64 index of its block (read or write call) count. */
  blocks: number;
  /** Int32 index of its {@linkcode STATE}. */
  state: number;
  /** Int32 index of the errno of its failure. */
  errno: number;
  /**
   * BigInt64 index, UDP: a sender's datagrams sent since it started (never
   * reset), a receiver's highest sequence number (iperf3's `packet_count`).
   */
  packets: number;
  /** BigInt64 index, UDP receivers: datagrams lost (iperf3's `cnt_error`). */
  lost: number;
  /** BigInt64 index, UDP receivers: datagrams out of order. */
  outOfOrder: number;
  /** BigInt64 index, UDP receivers: the smoothed jitter in nanoseconds. */
  jitterNs: number;
} {
  const base = CONTROL_BYTES + index * STREAM_BYTES;
  return {
    bytes: base / 8,
    blocks: base / 8 + 1,
    state: base / 4 + 4,
    errno: base / 4 + 5,
    packets: base / 8 + 3,
    lost: base / 8 + 4,
    outOfOrder: base / 8 + 5,
    jitterNs: base / 8 + 6,
  };
}

/**
 * A shared buffer for `streams` streams.
 *
 * @param streams how many
 * @returns the buffer, zeroed
 */
export function makeShared(streams: number): SharedArrayBuffer {
  return new SharedArrayBuffer(CONTROL_BYTES + streams * STREAM_BYTES);
}

/** One stream handed to a thread. */
export interface StreamPlan {
  /** The stream's index in the test's shared buffer. */
  index: number;
  /**
   * The descriptor the thread owns: a duplicate made for it, which it
   * closes when told to release the test (the session closes its own).
   */
  fd: number;
  /** Whether this side sends on it. */
  send: boolean;
  /** Block size (`-l`). */
  length: number;
  /** Sending rate in bits/s, 0 for unlimited (`-b`). */
  bitsPerSecond: number;
  /** `--repeating-payload`. */
  repeating: boolean;
  /** TCP receivers: read with MSG_TRUNC, nothing copied (`--skip-rx-copy`). */
  truncate?: boolean;
  /** A UDP stream's settings; absent for TCP. */
  udp?: UdpPlan;
}

/** How a thread moves one UDP stream (its descriptor is a connected socket). */
export interface UdpPlan {
  /** 64-bit sequence numbers (`--udp-counters-64bit`). */
  counters64: boolean;
  /** Datagrams sent back to back when the rate allows one (`-b rate/N`), 0 for none. */
  burst: number;
  /**
   * The shortest sleep of a paced sender in microseconds, 0 to sleep until
   * the next datagram is due (iperf3 3.21's `clock_nanosleep` pacing).
   */
  sleepFloorUs: number;
  /** Datagrams per send with UDP_SEGMENT set on the socket (`--gsro`), 0 without. */
  gsoSegments: number;
  /** Whether UDP_GRO is set on the socket: a read may hold many datagrams. */
  gro: boolean;
}

/** Messages to a thread. */
export type ToThread =
  | {
    /**
     * The thread's mailbox: one Int32 the control plane bumps after each
     * message it posts, so the thread stops moving bytes to read its
     * messages only when there are some (a yield to the event loop costs
     * a millisecond).
     */
    kind: "init";
    mailbox: SharedArrayBuffer;
  }
  | {
    kind: "add";
    /** The test's id within the pool. */
    test: number;
    /** The test's shared buffer. */
    shared: SharedArrayBuffer;
    /** How many streams the test has (all threads'): the budget sums them. */
    streams: number;
    /**
     * Which of the test's streams send (all threads'): the budget is per
     * direction, as iperf3's (`bytes_sent >= n || bytes_received >= n`).
     */
    sending: boolean[];
    /** This thread's streams of the test. */
    plans: StreamPlan[];
  }
  | {
    /** Stop using the test's streams and close their descriptors. */
    kind: "release";
    test: number;
  };

/** Messages from a thread. */
export type FromThread =
  | { kind: "ready" }
  | {
    /** The thread could not start (libc, permissions). */
    kind: "unavailable";
    reason: string;
  }
  | {
    /** The test's `-n`/`-k` budget is used up (sent once per thread and test). */
    kind: "limit";
    test: number;
  }
  | {
    kind: "failed";
    test: number;
    index: number;
    errno: number;
    text: string;
  }
  | { kind: "released"; test: number };
