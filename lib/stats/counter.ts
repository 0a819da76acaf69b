/**
 * Counters a data stream task bumps on its hot path, and the shared budget
 * that ends a `-n`/`-k` test. Plain fields: one increment per block, nothing
 * allocated, nothing awaited.
 *
 * @module
 */

/** Bytes and blocks one stream moved; owned by that stream's task, read by the session. */
export class TransferCounter {
  /** Bytes counted since the last reset. */
  bytes = 0;
  /** Read or write calls counted since the last reset. */
  blocks = 0;
  /** Whether moved bytes are counted now (only while the test runs). */
  counting = false;
  /** UDP datagrams sent since the stream started; never reset (iperf3's `packet_count`). */
  packets = 0;

  /** Zeroes the counts (end of the omit period). */
  reset(): void {
    this.bytes = 0;
    this.blocks = 0;
  }
}

/**
 * The whole test's running total against `-n BYTES` or `-k BLOCKS`; `reached`
 * resolves once either is met. With neither set it never resolves.
 *
 * Two separate states, as iperf3's client loop: while the omit period runs
 * nothing counts towards the limit but senders go on (`!test->omitting`
 * guards the done check); once the limit is met, senders stop.
 */
export class TransferBudget {
  /** Resolves once the budget is used up. */
  readonly reached: Promise<void>;
  /** Bytes and blocks sent, and received: iperf3 checks each direction on its own. */
  #sent = { bytes: 0, blocks: 0 };
  #received = { bytes: 0, blocks: 0 };
  readonly #maxBytes: number;
  readonly #maxBlocks: number;
  #resolve: () => void = () => {};
  /** False while the omit period runs: moved bytes do not count. */
  #counting: boolean;
  /** Set once a limit was met; never cleared. */
  #done = false;

  /**
   * Creates an instance.
   *
   * @param maxBytes bytes that end the test, 0 for no limit
   * @param maxBlocks blocks that end the test, 0 for no limit
   * @param counting false while an omit period runs: nothing counts towards
   *   the limit until `reset()`
   */
  constructor(maxBytes: number, maxBlocks: number, counting = true) {
    this.#counting = counting;
    this.#maxBytes = maxBytes;
    this.#maxBlocks = maxBlocks;
    this.reached = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  /** Whether a limit was met: senders stop at once, without waiting for the session. */
  get exhausted(): boolean {
    return this.#done;
  }

  /** Whether a byte or block limit is set at all. */
  get limited(): boolean {
    return this.#maxBytes > 0 || this.#maxBlocks > 0;
  }

  /**
   * Adds one block of `bytes` sent; resolves `reached` when a limit is met.
   * Ignored during the omit period and once the limit was met.
   *
   * @param bytes bytes moved by one write call
   */
  add(bytes: number): void {
    this.#count(this.#sent, bytes);
  }

  /**
   * Adds one block of `bytes` received. A `--bidir` test ends when either
   * direction reaches the limit (iperf3: `bytes_sent >= bytes ||
   * bytes_received >= bytes`), not when both together do.
   *
   * @param bytes bytes moved by one read or receive call
   */
  addReceived(bytes: number): void {
    this.#count(this.#received, bytes);
  }

  #count(total: { bytes: number; blocks: number }, bytes: number): void {
    if (!this.#counting || this.#done) return;
    total.bytes += bytes;
    total.blocks++;
    if (
      (this.#maxBytes > 0 && total.bytes >= this.#maxBytes) ||
      (this.#maxBlocks > 0 && total.blocks >= this.#maxBlocks)
    ) {
      this.markReached();
    }
  }

  /** The limit was met where this budget does not count (the data-plane threads): `reached` resolves. */
  markReached(): void {
    this.#done = true;
    this.#resolve();
  }

  /** Forgets what was counted so far and starts counting (end of the omit period). */
  reset(): void {
    this.#sent = { bytes: 0, blocks: 0 };
    this.#received = { bytes: 0, blocks: 0 };
    this.#counting = true;
  }
}
