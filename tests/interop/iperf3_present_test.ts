/**
 * The interop suite needs the real iperf3. Without it every interop test is
 * skipped, except under `CI=true`, where this test fails instead.
 *
 * @module
 */

import assert from "node:assert/strict";
import { CI, HAVE_IPERF3, INSTALL_HINT, IPERF3_VERSION } from "./_iperf3.ts";

if (!HAVE_IPERF3 && !CI) {
  // Each test module runs in its own isolate, so the hint lives here, in the
  // one module every run of the suite loads, to print it once.
  // deno-lint-ignore no-console
  console.warn(
    `\n[interop] iperf3 is not on PATH, so the interop tests are skipped; ${INSTALL_HINT}.\n`,
  );
}

Deno.test({
  name: "iperf3 is on PATH for the interop tests",
  // Outside CI a missing binary only skips the suite (with a printed hint).
  ignore: !HAVE_IPERF3 && !CI,
  fn() {
    assert.ok(
      HAVE_IPERF3,
      `CI=true but iperf3 is not on PATH; ${INSTALL_HINT}`,
    );
    assert.match(IPERF3_VERSION ?? "", /^iperf 3\.\d+/);
  },
});
