/**
 * Makes docs/img/plot-tcp.png: a real loopback TCP run (`-P 2 -t 10
 * -i 0.5`, our client against our server in this process), drawn by
 * `--plot`'s code and screenshotted by headless Chromium.
 *
 * Usage: deno task docs:plot-image [OUT.png]
 *
 * @module
 */

import { runClient, startServer } from "../lib/api.ts";
import { plotSvg } from "../lib/plot/render.ts";
import { screenshotSvg } from "./_chromium.ts";

const OUTPUT = new URL("../docs/img/plot-tcp.png", import.meta.url);

if (import.meta.main) {
  const out = Deno.args[0] ?? OUTPUT.pathname;
  const doc = await (async () => {
    await using server = await startServer({ hostname: "127.0.0.1", port: 0 });
    return await runClient({
      host: "127.0.0.1",
      port: server.port,
      parallel: 2,
      time: 10,
      interval: 0.5,
    }).result;
  })();
  const dir = await Deno.makeTempDir({ prefix: "iperf-ts-plot-image-" });
  try {
    await Deno.writeTextFile(`${dir}/plot.svg`, await plotSvg(doc));
    await screenshotSvg(`${dir}/plot.svg`, out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  // deno-lint-ignore no-console
  console.log(`${out}: ${(await Deno.stat(out)).size} bytes`);
}
