/**
 * Our `-J` documents against iperf3 3.12's for the same kind of test: every
 * key path iperf3 prints (arrays folded) must be in ours with the same JSON
 * type, and the objects iperf3 fills from TCP_INFO have its keys in its
 * order. Only where libc cannot be used (no --allow-ffi, not Linux) are the
 * TCP_INFO paths listed below allowed to be missing.
 *
 * @module
 */

import assert from "node:assert/strict";
import { runCli } from "../../lib/cli/run.ts";
import { nativeSockets } from "../../lib/net/native.ts";
import {
  endsWith,
  freePort,
  interopTest,
  Iperf3,
  iperf3ServerArgs,
  LOOPBACK,
  runIperf3Client,
  runOurCliClient,
} from "./_iperf3.ts";
import {
  type Doc,
  keyOrders,
  outOfOrder,
  shape,
} from "../_support/json_shape.ts";
import { SHAPE_CASES } from "../_support/shape_cases.ts";

/**
 * Paths iperf3 fills from TCP_INFO, its congestion control or its socket
 * buffers, which an iperf-ts sender cannot know without libc. (When the
 * peer is an iperf3 sender, its reported retransmits do appear in our
 * document, as iperf3 shows them.)
 */
const TCP_INFO_PATHS = new Set(
  nativeSockets() ? [] : [
    "intervals[].streams[].retransmits",
    "intervals[].streams[].snd_cwnd",
    "intervals[].streams[].snd_wnd",
    "intervals[].streams[].rtt",
    "intervals[].streams[].rttvar",
    "intervals[].streams[].pmtu",
    "intervals[].sum.retransmits",
    "intervals[].sum_bidir_reverse.retransmits",
    "end.streams[].sender.retransmits",
    "end.streams[].sender.max_snd_cwnd",
    "end.streams[].sender.max_snd_wnd",
    "end.streams[].sender.max_rtt",
    "end.streams[].sender.min_rtt",
    "end.streams[].sender.mean_rtt",
    "end.sum_sent.retransmits",
    "end.sum_sent_bidir_reverse.retransmits",
    "end.sender_tcp_congestion",
    "end.receiver_tcp_congestion",
    // The kernel's socket buffer sizes: Deno's sockets do not expose
    // SO_SNDBUF/SO_RCVBUF, and Deno reads /proc/sys only with --allow-all.
    "start.sndbuf_actual",
    "start.rcvbuf_actual",
  ],
);

/**
 * iperf3 3.12's keys of the objects it fills from TCP_INFO appear in ours
 * in its order (ours may hold 3.21's additions, such as `reorder`).
 */
function assertSameKeyOrder(theirs: Doc, ours: Doc, what: string): void {
  const mine = keyOrders(ours);
  for (const [name, order] of Object.entries(keyOrders(theirs))) {
    assert.deepEqual(
      outOfOrder(order, mine[name] ?? []),
      [],
      `${what}: ${name} keys out of iperf3's order: ${mine[name]}`,
    );
  }
}

function assertSameShape(theirs: unknown, ours: unknown, what: string): void {
  const mine = shape(ours);
  const missing = [...shape(theirs)].filter((entry) => {
    const path = entry.slice(0, entry.lastIndexOf(":"));
    return !mine.has(entry) && !TCP_INFO_PATHS.has(path);
  });
  assert.deepEqual(
    missing,
    [],
    `${what}: paths iperf3 has and we lack (or type differs)`,
  );
}

const CASES: [string, string[]][] = SHAPE_CASES.map(([name, flags]) => [
  name,
  [...flags],
]);

interopTest(
  "our client's -J document has every key path of iperf3's",
  async (t) => {
    for (const [name, flags] of CASES) {
      await t.step(name, async () => {
        // iperf3's own client against an iperf3 server (retried while the
        // server, just started, refuses the connection) ...
        const port1 = freePort();
        await using server1 = new Iperf3(iperf3ServerArgs(port1));
        const theirs = await runIperf3Client(port1, flags, server1);
        // ... and ours against another.
        const port2 = freePort();
        await using server2 = new Iperf3(iperf3ServerArgs(port2));
        const run = await runOurCliClient([
          "-c",
          LOOPBACK,
          "-p",
          String(port2),
          "-J",
          ...flags,
        ], server2);
        assert.equal(run.code, 0, run.stdout + run.stderr);
        assert.equal(run.stderr, "");
        const ours = JSON.parse(run.stdout);
        assert.equal(ours.error, undefined);
        assertSameShape(theirs, ours, `client ${name}`);
        if (nativeSockets()) assertSameKeyOrder(theirs, ours, `client ${name}`);
        await server1.wait();
        await server2.wait();
      });
    }
  },
);

interopTest(
  "our server's -J document has every key path of iperf3's",
  async (t) => {
    for (const [name, flags] of CASES) {
      await t.step(name, async () => {
        const port1 = freePort();
        await using server1 = new Iperf3(iperf3ServerArgs(port1));
        // Retried while the servers, just started, refuse the connection.
        await runIperf3Client(port1, flags, server1);
        const theirs = JSON.parse((await server1.wait()).stdout);

        const port2 = freePort();
        let stdout = "";
        const served = runCli([
          "-s",
          "-1",
          "-J",
          "-B",
          LOOPBACK,
          "-p",
          String(port2),
        ], {
          stdout: (text) => stdout += text,
          stderr: (text) => stdout += text,
        });
        await runIperf3Client(port2, flags, endsWith(served));
        assert.equal(await served, 0);
        const ours = JSON.parse(stdout);
        assertSameShape(theirs, ours, `server ${name}`);
        if (nativeSockets()) assertSameKeyOrder(theirs, ours, `server ${name}`);
      });
    }
  },
);

/** Runs `iperf3 -c ... -J flags` against a one-off server of ours started with `serverArgs`. */
async function againstOurCliServer(
  serverArgs: string[],
  flags: string[],
): Promise<{ theirs: Record<string, unknown>; ourOutput: string }> {
  const port = freePort();
  let ourOutput = "";
  const served = runCli([
    "-s",
    "-1",
    "-B",
    LOOPBACK,
    "-p",
    String(port),
    ...serverArgs,
  ], {
    stdout: (text) => ourOutput += text,
    stderr: (text) => ourOutput += text,
  });
  // Retried while our server, just started, refuses the connection.
  const theirs = await runIperf3Client(
    port,
    flags,
    endsWith(served),
  ) as unknown as Record<
    string,
    unknown
  >;
  assert.equal(await served, 0);
  return { theirs, ourOutput };
}

interopTest(
  "iperf3 -c --get-server-output gets our server's text and JSON",
  async () => {
    const text = await againstOurCliServer([], [
      "-t",
      "1",
      "--get-server-output",
    ]);
    const embeddedText = text.theirs["server_output_text"];
    assert.equal(typeof embeddedText, "string");
    assert.match(
      embeddedText as string,
      /^Accepted connection from 127\.0\.0\.1, port \d+\n/,
    );
    assert.match(embeddedText as string, /receiver\n$/);
    // What the client got is exactly what our server printed from that line on.
    assert.ok(text.ourOutput.endsWith(embeddedText as string));

    const json = await againstOurCliServer(["-J"], [
      "-t",
      "1",
      "--get-server-output",
    ]);
    const embedded = json.theirs["server_output_json"] as
      | Record<string, unknown>
      | undefined;
    assert.ok(embedded && typeof embedded === "object");
    assert.deepEqual(Object.keys(embedded).slice(0, 3), [
      "start",
      "intervals",
      "end",
    ]);
    const printed = JSON.parse(json.ourOutput);
    assert.deepEqual(
      printed.start.cookie,
      (embedded["start"] as Record<string, unknown>)["cookie"],
    );
  },
);

interopTest(
  "our client --get-server-output against iperf3 -s prints its text block",
  async () => {
    const port = freePort();
    await using server = new Iperf3([
      "-s",
      "-1",
      "-B",
      LOOPBACK,
      "-p",
      String(port),
    ]);
    const run = await runOurCliClient([
      "-c",
      LOOPBACK,
      "-p",
      String(port),
      "-t",
      "1",
      "--get-server-output",
    ], server);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.split("\n");
    const at = lines.indexOf("Server output:");
    assert.ok(at > 0, run.stdout);
    assert.equal(lines[at - 1], "");
    assert.match(
      lines[at + 1] ?? "",
      /^Accepted connection from 127\.0\.0\.1, port \d+$/,
    );
    assert.ok(
      run.stdout.endsWith("receiver\n\n\niperf Done.\n"),
      JSON.stringify(run.stdout.slice(-80)),
    );
    await server.wait();
  },
);
