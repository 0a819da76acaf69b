/**
 * A deadline on one step of a session: the step's work, or a timeout that
 * ends it.
 *
 * @module
 */

/** Options of {@linkcode withDeadline}. */
export interface DeadlineOptions {
  /** How long the work may take, in milliseconds. */
  ms: number;
  /**
   * Runs once when the time is up. It must end the work (Deno socket reads
   * take no signal, so it closes the socket the work reads from) and returns
   * the error the step then rejects with.
   */
  onTimeout: () => Error;
}

/** The longest delay `setTimeout` keeps; a longer one would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Waits for `work`, or for `options.ms` to pass: then `options.onTimeout()`
 * ends the work and the returned promise rejects with its error. `work` is
 * marked handled, so its rejection after the timeout (the closed socket) is
 * not reported as unhandled. The timer never outlives the step. An abort is
 * the work's own business: race it into `work` (an `unlessAborted` read).
 *
 * @param work the pending read or other step
 * @param options the deadline and what to do when it passes
 * @returns what `work` resolves to
 */
export function withDeadline<T>(
  work: Promise<T>,
  options: DeadlineOptions,
): Promise<T> {
  work.catch(() => {});
  if (!(options.ms < MAX_TIMER_MS)) return work;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(options.onTimeout()), options.ms);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
