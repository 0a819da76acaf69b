import assert from "node:assert/strict";
import { threadBundleModule } from "../../scripts/bundle_thread.ts";

Deno.test("lib/dataplane/_thread_bundle.ts is the bundle of the thread's current sources", async () => {
  const fresh = await threadBundleModule();
  const committed = await Deno.readTextFile(
    new URL("../../lib/dataplane/_thread_bundle.ts", import.meta.url),
  );
  assert.ok(
    committed === fresh,
    "lib/dataplane/_thread_bundle.ts is stale: run deno task bundle:thread",
  );
});
