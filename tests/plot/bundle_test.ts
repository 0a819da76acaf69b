import assert from "node:assert/strict";
import { checkModuleGraph, type DenoInfo } from "../../scripts/compile.ts";
import {
  bundleBody,
  bundleInputsHash,
  pinnedVersions,
  plotBundleModule,
  readBundleHeader,
  sha256,
} from "../../scripts/bundle_plot.ts";

const ROOT = new URL("../../", import.meta.url);
const read = (path: string) => Deno.readTextFile(new URL(path, ROOT));

Deno.test("lib/plot/_vega_bundle.js records deno.json's pinned versions, its inputs and its body", async () => {
  const bundle = await read("lib/plot/_vega_bundle.js");
  const header = readBundleHeader(bundle);
  assert.ok(header, "the bundle has no header: run deno task bundle:plot");
  const versions = pinnedVersions(await read("deno.json"));
  assert.deepEqual(
    header.versions,
    versions,
    "deno.json pins other versions: run deno task bundle:plot",
  );
  assert.equal(
    header.inputs,
    await bundleInputsHash({
      entry: await read("lib/plot/_vega_entry.ts"),
      lock: await read("deno.lock"),
      versions,
    }),
    "lib/plot/_vega_entry.ts or deno.lock changed: run deno task bundle:plot",
  );
  assert.equal(
    header.body,
    await sha256(bundleBody(bundle)),
    "lib/plot/_vega_bundle.js was edited by hand: run deno task bundle:plot",
  );
});

Deno.test("lib/plot/_vega_bundle.js is what deno bundle builds today (when the npm cache has the packages)", async (t) => {
  let fresh: string;
  try {
    // Every download fails fast through a proxy that is not there: the
    // rebuild runs only from the npm cache, never from the network.
    fresh = await plotBundleModule({
      frozen: true,
      env: {
        HTTPS_PROXY: "http://127.0.0.1:9",
        HTTP_PROXY: "http://127.0.0.1:9",
        NO_PROXY: "",
        NO_COLOR: "1",
      },
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (
      !/Failed (loading|caching)|error sending request|tcp connect/i.test(
        message,
      )
    ) {
      throw error;
    }
    // deno-lint-ignore no-console
    console.log(
      `bundle rebuild skipped: the npm cache lacks vega/vega-lite or esbuild (${
        message.split("\n")[0]
      }); the header check above still ran`,
    );
    await t.step({
      name: "rebuild (skipped: npm cache cold)",
      ignore: true,
      fn: () => {},
    });
    return;
  }
  const committed = await read("lib/plot/_vega_bundle.js");
  assert.ok(
    committed === fresh,
    "lib/plot/_vega_bundle.js is stale: run deno task bundle:plot",
  );
});

Deno.test("main.ts's module graph holds the bundle, and only local files and node: built-ins", async () => {
  const out = await new Deno.Command("deno", {
    args: ["info", "--json", "main.ts"],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as DenoInfo;
  assert.equal(checkModuleGraph(info), undefined);
  // Included, so deno compile carries it (a dynamic import with a literal).
  assert.ok(
    info.modules.some((m) => m.specifier.endsWith("/lib/plot/_vega_bundle.js")),
  );
});
