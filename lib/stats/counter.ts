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
 */
export class TransferBudget {
  /** Resolves once the budget is used up. */
  readonly reached: Promise<void>;
  #bytes = 0;
  #blocks = 0;
  readonly #maxBytes: number;
  readonly #maxBlocks: number;
  #resolve: () => void = () => {};
  #armed: boolean;

  /**
   * Creates an instance.
   *
   * @param maxBytes bytes that end the test, 0 for no limit
   * @param maxBlocks blocks that end the test, 0 for no limit
   * @param armed false while an omit period runs: nothing ends the test until `reset()`
   */
  constructor(maxBytes: number, maxBlocks: number, armed = true) {
    this.#armed = armed;
    this.#maxBytes = maxBytes;
    this.#maxBlocks = maxBlocks;
    this.reached = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  /** Whether a limit was met: senders stop at once, without waiting for the session. */
  get exhausted(): boolean {
    return !this.#armed && this.limited;
  }

  /** Whether a byte or block limit is set at all. */
  get limited(): boolean {
    return this.#maxBytes > 0 || this.#maxBlocks > 0;
  }

  /**
   * Adds one block of `bytes`; resolves `reached` when a limit is met.
   *
   * @param bytes bytes moved by one read or write call
   */
  add(bytes: number): void {
    this.#bytes += bytes;
    this.#blocks++;
    if (
      this.#armed &&
      ((this.#maxBytes > 0 && this.#bytes >= this.#maxBytes) ||
        (this.#maxBlocks > 0 && this.#blocks >= this.#maxBlocks))
    ) {
      this.#armed = false;
      this.#resolve();
    }
  }

  /** The limit was met where this budget does not count (the data-plane threads): `reached` resolves. */
  markReached(): void {
    this.#resolve();
  }

  /** Forgets what was counted so far and arms the limit (end of the omit period). */
  reset(): void {
    this.#bytes = 0;
    this.#blocks = 0;
    this.#armed = true;
  }
}
