/**
 * Our `-J` documents (client and server, our client against our server)
 * hold every key path of iperf3 3.21+'s for the same test kinds, with the
 * same JSON types, and the objects iperf3 fills from TCP_INFO have 3.21's
 * keys in 3.21's order. CI has only iperf3 3.12, so 3.21's shapes come
 * from `tests/fixtures/iperf3-json-shapes.json`, captured from a 3.21
 * built by hand (`scripts/capture_json_shapes.ts`).
 *
 * @module
 */

import { freeChildPort } from "../_support/child_server.ts";
import assert from "node:assert/strict";
import { cli } from "../_support/cli.ts";
import { keyOrders, shape } from "../_support/json_shape.ts";
import { SHAPE_CASES } from "../_support/shape_cases.ts";
import { nativeSockets } from "../../lib/net/native.ts";

interface Captured {
  paths: string[];
  order: Record<string, string[]>;
}

const FIXTURE = JSON.parse(
  Deno.readTextFileSync(
    new URL("../fixtures/iperf3-json-shapes.json", import.meta.url),
  ),
) as { version: string; cases: Record<string, Record<string, Captured>> };

/** Paths only a sender that reads TCP_INFO (libc) or the kernel's buffer sizes can fill. */
const NEEDS_LIBC =
  /(retransmits|snd_cwnd|snd_wnd|rtt|rttvar|pmtu|reorder|_tcp_congestion|sndbuf_actual|rcvbuf_actual)$/;

/** Our client and server, both `-J`, for one test kind. */
async function documents(
  flags: readonly string[],
): Promise<{ client: unknown; server: unknown }> {
  const port = freeChildPort();
  const served = cli(["-s", "-1", "-J", "-B", "127.0.0.1", "-p", String(port)]);
  let client = await cli([
    "-c",
    "127.0.0.1",
    "-p",
    String(port),
    "-J",
    ...flags,
  ]);
  // Retried while the server, just started, refuses the connection.
  for (
    let i = 0;
    i < 40 && (client.stdout + client.stderr).includes("Connection refused");
    i++
  ) {
    await new Promise((r) => setTimeout(r, 50));
    client = await cli(["-c", "127.0.0.1", "-p", String(port), "-J", ...flags]);
  }
  const server = await served;
  assert.equal(client.code, 0, client.stdout + client.stderr);
  assert.equal(server.code, 0, server.stdout + server.stderr);
  return {
    client: JSON.parse(client.stdout),
    server: JSON.parse(server.stdout),
  };
}

Deno.test("the fixture holds iperf3 3.21+'s shapes for every test kind", () => {
  assert.match(FIXTURE.version, /^iperf 3\.(2[1-9]|[3-9]\d)/);
  for (const [name] of SHAPE_CASES) {
    assert.ok(FIXTURE.cases[name]?.client?.paths.length, name);
    assert.ok(FIXTURE.cases[name]?.server?.paths.length, name);
  }
});

Deno.test("our -J documents hold every key path of iperf3 3.21's, keys in its order", async (t) => {
  const libc = nativeSockets() !== undefined;
  for (const [name, flags] of SHAPE_CASES) {
    await t.step(name, async () => {
      const docs = await documents(flags);
      for (const role of ["client", "server"] as const) {
        const theirs = FIXTURE.cases[name]?.[role] as Captured;
        const ours = shape(docs[role]);
        const missing = theirs.paths.filter((entry) => {
          const path = entry.slice(0, entry.lastIndexOf(":"));
          return !ours.has(entry) && (libc || !NEEDS_LIBC.test(path));
        });
        assert.deepEqual(
          missing,
          [],
          `${role} ${name}: paths 3.21 has and we lack`,
        );
        if (!libc) continue;
        const mine = keyOrders(docs[role]);
        for (const [object, order] of Object.entries(theirs.order)) {
          assert.deepEqual(
            mine[object],
            order,
            `${role} ${name}: ${object} key order`,
          );
        }
      }
    });
  }
});
