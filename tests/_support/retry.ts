/**
 * `withinAttempts()`: a bounded retry for figures a busy machine can miss by
 * chance (UDP loss on loopback, a paced rate), while every run's exact
 * checks still fail the test at once.
 *
 * @module
 */

import assert from "node:assert/strict";

/**
 * Runs `attempt` until it reports no shortfall, at most `max` times. Each
 * run checks everything in full: an exact check that fails throws and fails
 * the test at once, never a retry. Only what `attempt` returns (a figure off
 * its bound, by chance on a loaded machine) leads to another run; the test
 * fails when every run had one, and says what each was.
 *
 * @param max how many runs at most
 * @param attempt one run; resolves to what missed its bound, or `undefined`
 */
export async function withinAttempts(
  max: number,
  attempt: (run: number) => Promise<string | undefined>,
): Promise<void> {
  const shortfalls: string[] = [];
  for (let run = 1; run <= max; run++) {
    const shortfall = await attempt(run);
    if (shortfall === undefined) return;
    shortfalls.push(`run ${run}: ${shortfall}`);
  }
  assert.fail(`every one of ${max} runs missed: ${shortfalls.join("; ")}`);
}
