/**
 * `deno run <url>/main.ts` straight from a web server, with an empty Deno
 * cache, against the real iperf3: every import must resolve over HTTP (the
 * checkout is served on 127.0.0.1 and the child runs in an empty directory).
 *
 * @module
 */

import assert from "node:assert/strict";
import { freePort, interopTest, Iperf3, LOOPBACK, sleep } from "./_iperf3.ts";

const ROOT = new URL("../../", import.meta.url);

/** The tests start `deno` by name; where it is not on PATH they say so and skip. */
const DENO_ON_PATH = await new Deno.Command("deno", {
  args: ["--version"],
  stdout: "null",
  stderr: "null",
})
  .output().then(() => true, () => false);
if (!DENO_ON_PATH) {
  // deno-lint-ignore no-console
  console.log(
    "url tests skipped: no `deno` on PATH to start a cold-cache run with",
  );
}

/** An interop test that also needs `deno` on PATH. */
function urlTest(name: string, fn: () => Promise<void>): void {
  if (DENO_ON_PATH) interopTest(name, fn);
  else Deno.test({ name, ignore: true, fn });
}

/** Serves the checkout read-only on 127.0.0.1; records every path asked for. */
function serveCheckout(): {
  url: string;
  requested: string[];
  server: Deno.HttpServer;
} {
  const requested: string[] = [];
  const server = Deno.serve(
    { hostname: LOOPBACK, port: 0, onListen: () => {} },
    async (req) => {
      const path = decodeURIComponent(new URL(req.url).pathname);
      requested.push(path);
      if (path.includes("..")) return new Response("no", { status: 403 });
      try {
        const body = await Deno.readFile(new URL(`.${path}`, ROOT));
        return new Response(body, {
          headers: { "content-type": "application/typescript" },
        });
      } catch {
        return new Response("not found", { status: 404 });
      }
    },
  );
  return { url: `http://${LOOPBACK}:${server.addr.port}`, requested, server };
}

async function denoRun(
  args: string[],
  cwd: string,
  denoDir: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command("deno", {
    args,
    cwd,
    env: { DENO_DIR: denoDir, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

urlTest(
  "deno run <url>/main.ts with a cold cache tests against iperf3 -s",
  async () => {
    const { url, requested, server } = serveCheckout();
    const empty = await Deno.makeTempDir({ prefix: "iperf-ts-url-" });
    try {
      const port = freePort();
      await using iperf3 = new Iperf3([
        "-s",
        "-1",
        "-B",
        LOOPBACK,
        "-p",
        String(port),
      ]);
      await sleep(200);
      const run = await denoRun(
        [
          "run",
          "--no-lock",
          "--unstable-net",
          `--allow-net=${LOOPBACK}`,
          `--allow-import=${LOOPBACK}:${new URL(url).port}`,
          `${url}/main.ts`,
          "-c",
          LOOPBACK,
          "-p",
          String(port),
          "-t",
          "1",
          "-J",
        ],
        empty,
        `${empty}/deno_dir`,
      );
      assert.equal(run.code, 0, run.stderr);
      const doc = JSON.parse(run.stdout);
      assert.equal(doc.error, undefined);
      assert.ok(doc.end.sum_received.bytes > 0);
      assert.equal((await iperf3.wait()).code, 0);
      // Every module came over HTTP, from main.ts down to the session code.
      assert.ok(requested.includes("/main.ts"));
      assert.ok(requested.some((p) => p === "/lib/session/client.ts"));
      assert.ok(!requested.some((p) => p.startsWith("/tests/")));
    } finally {
      await server.shutdown();
      await Deno.remove(empty, { recursive: true });
    }
  },
);

urlTest(
  "deno run <url>/main.ts without --allow-net fails with one line, no stack trace",
  async () => {
    const { url, server } = serveCheckout();
    const empty = await Deno.makeTempDir({ prefix: "iperf-ts-url-" });
    try {
      const run = await denoRun(
        [
          "run",
          "--no-lock",
          "--no-prompt",
          "--unstable-net",
          `--allow-import=${LOOPBACK}:${new URL(url).port}`,
          `${url}/main.ts`,
          "-c",
          LOOPBACK,
          "-t",
          "1",
        ],
        empty,
        `${empty}/deno_dir`,
      );
      assert.equal(run.code, 1);
      const lines = run.stderr.trimEnd().split("\n").filter((l) =>
        !/^(Download|Warning)/.test(l)
      );
      assert.equal(lines.length, 1, run.stderr);
      assert.match(lines[0] ?? "", /^iperf3: error - .*--allow-net/);
    } finally {
      await server.shutdown();
      await Deno.remove(empty, { recursive: true });
    }
  },
);

Deno.test({
  name:
    "deno run <url>/main.ts --plot-from draws through the bundle with no import map",
  ignore: !DENO_ON_PATH,
  fn: async () => {
    const { url, requested, server } = serveCheckout();
    const empty = await Deno.makeTempDir({ prefix: "iperf-ts-url-" });
    try {
      const doc = new URL("../plot/fixtures/tcp_p2.json", import.meta.url);
      await Deno.copyFile(doc, `${empty}/in.json`);
      const run = await denoRun(
        [
          "run",
          "--no-lock",
          `--allow-read=${empty}`,
          `--allow-write=${empty}`,
          `--allow-import=${LOOPBACK}:${new URL(url).port}`,
          `${url}/main.ts`,
          "--plot-from",
          "in.json",
          "--plot",
          "out.svg",
        ],
        empty,
        `${empty}/deno_dir`,
      );
      assert.equal(run.code, 0, run.stderr);
      assert.match(await Deno.readTextFile(`${empty}/out.svg`), /^<svg /);
      assert.ok(requested.includes("/lib/plot/_vega_bundle.js"));
    } finally {
      await server.shutdown();
      await Deno.remove(empty, { recursive: true });
    }
  },
});
