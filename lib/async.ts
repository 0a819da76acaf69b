/**
 * Small async helpers: an abortable delay.
 *
 * @module
 */

/** Options of {@linkcode delay}. */
export interface DelayOptions {
  /** Cancels the delay; the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Resolves after `ms` milliseconds, or rejects when `signal` aborts first.
 * The timer never outlives the promise.
 *
 * @param ms milliseconds to wait (negative counts as 0)
 * @param options the abort signal
 * @returns after the delay
 */
export function delay(ms: number, options: DelayOptions = {}): Promise<void> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A lock for async code: `await lock()` resolves to the release function. */
export class Mutex {
  #tail: Promise<void> = Promise.resolve();

  /**
   * Waits until the lock is free and takes it.
   *
   * @returns a function that releases the lock (call it once)
   */
  lock(): Promise<() => void> {
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const ready = this.#tail.then(() => release);
    this.#tail = this.#tail.then(() => held);
    return ready;
  }
}

/** A counting semaphore: at most `permits` holders at once, the rest wait in order. */
export class Semaphore {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  /**
   * Creates an instance.
   *
   * @param permits holders allowed at once
   */
  constructor(permits: number) {
    this.#free = permits;
  }

  /**
   * Waits for a permit.
   *
   * @param signal gives up waiting (rejects with its reason)
   * @returns a function that gives the permit back (call it once)
   */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    if (this.#free > 0) {
      this.#free--;
    } else {
      await new Promise<void>((resolve, reject) => {
        const wake = () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = () => {
          const i = this.#waiting.indexOf(wake);
          if (i >= 0) this.#waiting.splice(i, 1);
          reject(signal?.reason);
        };
        this.#waiting.push(wake);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    };
  }
}
