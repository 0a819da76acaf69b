import assert from "node:assert/strict";
import { TransferBudget } from "../../lib/stats/counter.ts";

// iperf3 ends a `-n`/`-k` test only once the omit period is over and
// `bytes_sent`/`blocks_sent` (reset by `iperf_reset_stats`) reach the limit
// (`iperf_run_client`'s done check); senders go on during the omit period.

/** Whether `reached` has resolved, after the pending microtasks ran. */
async function settled(budget: TransferBudget): Promise<boolean> {
  let done = false;
  budget.reached.then(() => {
    done = true;
  });
  await Promise.resolve();
  await Promise.resolve();
  return done;
}

Deno.test("TransferBudget is not exhausted while the omit period runs, however much moves", async () => {
  const budget = new TransferBudget(1000, 0, false);
  assert.equal(budget.limited, true);
  assert.equal(budget.exhausted, false);
  budget.add(5000);
  budget.add(5000);
  assert.equal(budget.exhausted, false);
  assert.equal(await settled(budget), false);
  // End of the omit period: the limit counts from zero.
  budget.reset();
  budget.add(999);
  assert.equal(budget.exhausted, false);
  assert.equal(await settled(budget), false);
  budget.add(1);
  assert.equal(budget.exhausted, true);
  assert.equal(await settled(budget), true);
});

Deno.test("TransferBudget with -k counts blocks, and only after the omit period", () => {
  const budget = new TransferBudget(0, 3, false);
  for (let i = 0; i < 10; i++) budget.add(1);
  assert.equal(budget.exhausted, false);
  budget.reset();
  budget.add(1);
  budget.add(1);
  assert.equal(budget.exhausted, false);
  budget.add(1);
  assert.equal(budget.exhausted, true);
});

Deno.test("TransferBudget armed from the start is exhausted at its limit and stays so", () => {
  const budget = new TransferBudget(100, 0);
  assert.equal(budget.exhausted, false);
  budget.add(60);
  assert.equal(budget.exhausted, false);
  budget.add(60);
  assert.equal(budget.exhausted, true);
  budget.add(60);
  assert.equal(budget.exhausted, true);
});

Deno.test("TransferBudget without a limit is never exhausted", async () => {
  for (const armed of [true, false]) {
    const budget = new TransferBudget(0, 0, armed);
    assert.equal(budget.limited, false);
    budget.add(1 << 30);
    budget.reset();
    budget.add(1 << 30);
    assert.equal(budget.exhausted, false);
    assert.equal(await settled(budget), false);
  }
});

Deno.test("TransferBudget ends a --bidir test when one direction reaches the limit, not both together", () => {
  const budget = new TransferBudget(100, 0);
  budget.add(60);
  budget.addReceived(60);
  assert.equal(budget.exhausted, false);
  budget.addReceived(40);
  assert.equal(budget.exhausted, true);
  const blocks = new TransferBudget(0, 2);
  blocks.add(1);
  blocks.addReceived(1);
  assert.equal(blocks.exhausted, false);
  blocks.add(1);
  assert.equal(blocks.exhausted, true);
});
