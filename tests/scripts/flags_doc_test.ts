import assert from "node:assert/strict";
import { flagsDoc } from "../../scripts/flags_doc.ts";

Deno.test("docs/flags.md is the flags reference of the current option table", async () => {
  const committed = await Deno.readTextFile(
    new URL("../../docs/flags.md", import.meta.url),
  );
  assert.ok(
    committed === flagsDoc(),
    "docs/flags.md is stale: run deno task docs:flags",
  );
});
