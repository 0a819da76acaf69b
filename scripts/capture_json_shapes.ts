/**
 * Captures the shape of iperf3 3.21+'s `-J` documents (every key path with
 * its JSON type, and the key order of the objects it fills from TCP_INFO)
 * for the test kinds `tests/report/json_321_test.ts` runs, client and
 * server, into `tests/fixtures/iperf3-json-shapes.json`. CI has only
 * iperf3 3.12; the fixture carries what a 3.21 built by hand printed, so
 * every run checks that our documents are a superset of it.
 *
 * Usage (build iperf3 from esnet/iperf's source first; nothing of it is
 * committed):
 *
 *   deno run -A scripts/capture_json_shapes.ts /path/to/iperf3
 *
 * Where `<prefix>/lib` exists beside `<prefix>/bin/iperf3`, the binary runs
 * with `LD_LIBRARY_PATH=<prefix>/lib` (a `make install` into a prefix).
 *
 * @module
 */

import { freeChildPort } from "../tests/_support/child_server.ts";
import { dirname, join } from "node:path";
import { keyOrders, shape } from "../tests/_support/json_shape.ts";
import { SHAPE_CASES } from "../tests/_support/shape_cases.ts";

const encoder = new TextEncoder();
const say = (text: string) =>
  Deno.stdout.writeSync(encoder.encode(`${text}\n`));
const complain = (text: string) =>
  Deno.stderr.writeSync(encoder.encode(`${text}\n`));

const OUT = new URL(
  "../tests/fixtures/iperf3-json-shapes.json",
  import.meta.url,
);

function libraryPath(binary: string): string | undefined {
  const lib = join(dirname(dirname(binary)), "lib");
  try {
    return Deno.statSync(lib).isDirectory ? lib : undefined;
  } catch {
    return undefined;
  }
}

async function run(
  binary: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(binary, {
    args,
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill(), 30_000);
  const out = await child.output();
  clearTimeout(timer);
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

async function main(): Promise<number> {
  const binary = Deno.args[0];
  if (!binary) {
    complain(
      "usage: deno run -A scripts/capture_json_shapes.ts /path/to/iperf3",
    );
    return 2;
  }
  const lib = libraryPath(binary);
  const env: Record<string, string> = lib ? { LD_LIBRARY_PATH: lib } : {};
  const version = (await run(binary, ["--version"], env)).stdout.split("\n")[0]
    ?.trim() ?? "";
  const cases: Record<string, unknown> = {};
  for (const [name, flags] of SHAPE_CASES) {
    const port = freeChildPort();
    const server = run(binary, [
      "-s",
      "-1",
      "-J",
      "-B",
      "127.0.0.1",
      "-p",
      String(port),
    ], env);
    let client = { code: 1, stdout: "", stderr: "" };
    // Retried while the server, just started, refuses the connection.
    for (let i = 0; i < 50; i++) {
      await new Promise((r) => setTimeout(r, 100));
      client = await run(binary, [
        "-c",
        "127.0.0.1",
        "-p",
        String(port),
        "-J",
        ...flags,
      ], env);
      if (!(client.stdout + client.stderr).includes("Connection refused")) {
        break;
      }
    }
    const served = await server;
    if (client.code !== 0 || served.code !== 0) {
      complain(`${name}: iperf3 failed: ${client.stdout}${served.stdout}`);
      return 1;
    }
    const docs = {
      client: JSON.parse(client.stdout),
      server: JSON.parse(served.stdout),
    };
    cases[name] = Object.fromEntries(
      Object.entries(docs).map(([role, doc]) => [role, {
        paths: [...shape(doc)].sort(),
        order: keyOrders(doc),
      }]),
    );
    say(`${name}: captured`);
  }
  const fixture = {
    comment:
      "Shapes of iperf3's -J documents, captured by scripts/capture_json_shapes.ts; do not edit by hand.",
    version,
    captured: new Date().toISOString().slice(0, 10),
    cases,
  };
  await Deno.writeTextFile(OUT, `${JSON.stringify(fixture, null, 2)}\n`);
  say(`wrote ${OUT.pathname} (${version})`);
  return 0;
}

Deno.exit(await main());
