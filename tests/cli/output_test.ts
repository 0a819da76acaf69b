import assert from "node:assert/strict";
import { cli } from "../_support/cli.ts";
import { waitForEvents, withServer } from "../_support/server.ts";

/** Splits concatenated pretty documents ("}\n{") and parses each. */
function documents(text: string): Record<string, unknown>[] {
  return text.split(/(?<=^\})\n(?=\{)/m).map((part) => JSON.parse(part));
}

function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

Deno.test('runCli() -J prints a parseable document with "error" and exits 1 when the connection fails', async () => {
  const run = await cli(["-c", "127.0.0.1", "-p", String(closedPort()), "-J"]);
  assert.equal(run.code, 1);
  assert.equal(run.stderr, "");
  const [doc] = documents(run.stdout);
  assert.ok(doc);
  assert.match(
    String(doc["error"]),
    /^unable to connect to server - .*: Connection refused$/,
  );
  assert.deepEqual(doc["intervals"], []);
  assert.deepEqual(doc["end"], {});
});

Deno.test("runCli() -J reports a test the way jq users read it", async () => {
  await withServer(async (server) => {
    const run = await cli([
      "-c",
      "127.0.0.1",
      "-p",
      String(server.port),
      "-J",
      "-n",
      "8M",
      "-T",
      "lab",
      "--extra-data",
      "x1",
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, "");
    const [doc] = documents(run.stdout);
    const end = doc?.["end"] as Record<string, Record<string, number>>;
    assert.ok((end["sum_received"]?.["bits_per_second"] ?? 0) > 0);
    assert.equal(end["sum_sent"]?.["bytes"], 8 * 1024 * 1024);
    assert.equal(end["sum_received"]?.["bytes"], 8 * 1024 * 1024);
    assert.equal(doc?.["title"], "lab");
    assert.equal(doc?.["extra_data"], "x1");
    assert.equal(doc?.["error"], undefined);
    // The server got the title and extra data too, as iperf3's does.
    const accepted = server.events.find((e) => e.kind === "accepted");
    assert.ok(
      accepted?.kind === "accepted" && accepted.params.extraData === "x1",
    );
  });
});

Deno.test("runCli() -J interrupted still prints one parseable document", async () => {
  await withServer(async (server) => {
    const controller = new AbortController();
    const running = cli([
      "-c",
      "127.0.0.1",
      "-p",
      String(server.port),
      "-J",
      "-t",
      "5",
    ], controller.signal);
    await waitForEvents(server, "start", 1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    controller.abort();
    const run = await running;
    assert.equal(run.code, 0);
    const docs = documents(run.stdout);
    assert.equal(docs.length, 1);
    assert.equal(docs[0]?.["error"], "interrupt - the client has terminated");
    const end = docs[0]?.["end"] as Record<string, Record<string, number>>;
    assert.ok((end["sum_sent"]?.["bytes"] ?? 0) > 0);
  });
});

Deno.test('runCli() -s -J prints one document per test, with "error" for a failed one', async () => {
  const port = closedPort();
  const controller = new AbortController();
  const server = cli(
    ["-s", "-J", "-B", "127.0.0.1", "-p", String(port)],
    controller.signal,
  );
  try {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const ok = await cli(["-c", "127.0.0.1", "-p", String(port), "-n", "4M"]);
    assert.equal(ok.code, 0, ok.stderr);
    // A client that vanishes after sending its parameters.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode("a".repeat(36) + "\0"));
    await conn.read(new Uint8Array(1));
    conn.close();
    await new Promise((resolve) => setTimeout(resolve, 200));
  } finally {
    controller.abort();
  }
  const run = await server;
  assert.equal(run.code, 0);
  const docs = documents(run.stdout);
  assert.equal(docs.length, 3, run.stdout);
  assert.equal(docs[0]?.["error"], undefined);
  assert.equal(
    (docs[0]?.["end"] as Record<string, Record<string, number>>)["sum_received"]
      ?.["bytes"],
    4 * 1024 * 1024,
  );
  assert.match(
    String(docs[1]?.["error"]),
    /client has unexpectedly closed|unable to receive parameters/,
  );
  assert.equal(docs[2]?.["error"], "interrupt - the server has terminated");
});

Deno.test("runCli() --json-stream prints one JSON line per event", async () => {
  await withServer(async (server) => {
    const run = await cli([
      "-c",
      "127.0.0.1",
      "-p",
      String(server.port),
      "--json-stream",
      "-t",
      "2",
      "-i",
      "0.5",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const events = run.stdout.trimEnd().split("\n").map((line) =>
      JSON.parse(line)
    );
    assert.equal(events[0].event, "start");
    assert.equal(events.at(-1).event, "end");
    const intervals = events.filter((e) => e.event === "interval");
    assert.ok(
      intervals.length >= 3 && intervals.length <= 5,
      String(intervals.length),
    );
    assert.ok(
      intervals.every((e) =>
        e.data.streams.length === 1 && e.data.sum.bytes > 0
      ),
    );
    assert.ok(events.at(-1).data.sum_received.bytes > 0);
  });
});

Deno.test("runCli() -V, --timestamps and -T prefix and extend the text as iperf3 does", async () => {
  await withServer(async (server) => {
    const run = await cli([
      "-c",
      "127.0.0.1",
      "-p",
      String(server.port),
      "-n",
      "4M",
      "-V",
      "--timestamps=[%Y] ",
      "-T",
      "t",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trimEnd().split("\n");
    const year = new Date().getFullYear();
    assert.ok(
      lines.every((line) => line.startsWith(`[${year}] t:  `)),
      lines.join("\n"),
    );
    const body = lines.map((line) => line.slice(`[${year}] t:  `.length));
    assert.match(body[0] ?? "", /^iperf 3\.21 \(iperf-ts \d+\.\d+\.\d+\)$/);
    // iperf3 reads the control connection's MSS through TCP_MAXSEG (the
    // test permissions grant --allow-ffi; loopback's MSS is not 0).
    assert.match(body[2] ?? "", /^Control connection MSS [1-9]\d*$/);
    const mss = (body[2] ?? "").split(" ").at(-1);
    assert.match(
      body[3] ?? "",
      /^Time: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/,
    );
    assert.ok(
      body.includes(`Connecting to host 127.0.0.1, port ${server.port}`),
    );
    assert.ok(body.some((line) => /^ {6}Cookie: [a-z2-7]{36}$/.test(line)));
    assert.ok(body.includes(`      TCP MSS: ${mss} (default)`));
    // Our own algorithm (TCP_CONGESTION) and the server's, from its results.
    assert.ok(
      body.some((line) => /^snd_tcp_congestion [a-z0-9_-]+$/.test(line)),
    );
    assert.ok(
      body.some((line) => /^rcv_tcp_congestion [a-z0-9_-]+$/.test(line)),
    );
    assert.ok(
      body.includes(
        "Starting Test: protocol: TCP, 1 streams, 131072 byte blocks, omitting 0 seconds, 4194304 bytes to send, tos 0",
      ),
    );
    assert.ok(body.includes("Test Complete. Summary Results:"));
    assert.ok(
      body.some((line) =>
        /^CPU Utilization: local\/sender \d+\.\d% \(\d+\.\d%u\/\d+\.\d%s\), remote\/receiver /
          .test(line)
      ),
    );
  });
});

Deno.test("runCli() --logfile appends all output, errors included, to the file", async () => {
  const log = await Deno.makeTempFile({ prefix: "iperf-ts-log-" });
  try {
    await Deno.writeTextFile(log, "earlier\n");
    const run = await cli([
      "-c",
      "127.0.0.1",
      "-p",
      String(closedPort()),
      "--logfile",
      log,
    ]);
    assert.equal(run.code, 1);
    assert.equal(run.stdout + run.stderr, "");
    const text = await Deno.readTextFile(log);
    assert.match(
      text,
      /^earlier\niperf3: error - unable to connect to server - .*Connection refused\n$/,
    );
  } finally {
    await Deno.remove(log);
  }
});

Deno.test("runCli() -J --logfile: warnings go to stderr, the log holds one JSON document (k8s-netperf)", async () => {
  // k8s-netperf reads the log file back as one JSON value. A UDP block
  // above the control connection's MSS (65483 on loopback) warns; iperf3's
  // warning() writes to stderr, never to the log file.
  const log = await Deno.makeTempFile({ prefix: "iperf-ts-log-" });
  try {
    await withServer(async (server) => {
      const run = await cli([
        "-c",
        "127.0.0.1",
        "-p",
        String(server.port),
        "-u",
        "-l",
        "65500",
        "-b",
        "10M",
        "-t",
        "1",
        "-J",
        "--logfile",
        log,
      ]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, "");
      assert.match(
        run.stderr,
        /^warning: UDP block size 65500 exceeds TCP MSS \d+, may result in fragmentation \/ drops\n$/,
      );
      const doc = JSON.parse(await Deno.readTextFile(log));
      assert.equal(doc.start.test_start.blksize, 65500);
      assert.ok(doc.end.sum.bytes > 0);
    });
  } finally {
    await Deno.remove(log);
  }
});

Deno.test("runCli() -d traces the control protocol", async () => {
  await withServer(async (server) => {
    const run = await cli([
      "-c",
      "127.0.0.1",
      "-p",
      String(server.port),
      "-n",
      "1M",
      "-d",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.split("\n");
    assert.ok(
      lines.some((line) => line.startsWith('send parameters {"tcp":true')),
    );
    assert.ok(lines.includes("received state EXCHANGE_RESULTS"));
    assert.ok(lines.includes("send state IPERF_DONE"));
  });
});

Deno.test("runCli() --get-server-output prints our server's own lines after the summary", async () => {
  const port = closedPort();
  const server = cli(["-s", "-1", "-B", "127.0.0.1", "-p", String(port)]);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const run = await cli([
    "-c",
    "127.0.0.1",
    "-p",
    String(port),
    "-n",
    "4M",
    "--get-server-output",
  ]);
  const served = await server;
  assert.equal(run.code, 0, run.stderr);
  const at = run.stdout.indexOf(
    "\nServer output:\nAccepted connection from 127.0.0.1",
  );
  assert.ok(at > 0, run.stdout);
  assert.ok(run.stdout.endsWith("receiver\n\n\niperf Done.\n"));
  assert.ok(
    served.stdout.includes(
      run.stdout.slice(
        at + "\nServer output:\n".length,
        -"\n\niperf Done.\n".length,
      ),
    ),
  );
});

Deno.test("runCli() -O leaves the first seconds out of the results; -i 0 reports one interval", async () => {
  await withServer(async (server) => {
    const omit = await cli([
      "-c",
      "127.0.0.1",
      "-p",
      String(server.port),
      "-J",
      "-t",
      "2",
      "-O",
      "1",
    ]);
    assert.equal(omit.code, 0, omit.stderr);
    const [doc] = documents(omit.stdout);
    const intervals = doc?.["intervals"] as {
      sum: { omitted: boolean; start: number; end: number };
    }[];
    assert.equal(intervals[0]?.sum.omitted, true);
    // Interval times start again at 0 after the omit period, as iperf3's do.
    assert.equal(intervals[1]?.sum.omitted, false);
    assert.equal(intervals[1]?.sum.start, 0);
    const sent =
      (doc?.["end"] as Record<string, Record<string, number>>)["sum_sent"];
    assert.ok(
      (sent?.["seconds"] ?? 0) > 1.8 && (sent?.["seconds"] ?? 9) < 2.2,
      String(sent?.["seconds"]),
    );
    const omittedBytes = intervals.filter((i) => i.sum.omitted).length;
    assert.equal(omittedBytes, 1);

    const quiet = await cli([
      "-c",
      "127.0.0.1",
      "-p",
      String(server.port),
      "-J",
      "-t",
      "1",
      "-i",
      "0",
    ]);
    const [single] = documents(quiet.stdout);
    const only = single?.["intervals"] as {
      sum: { start: number; end: number };
    }[];
    assert.equal(only.length, 1);
    assert.equal(only[0]?.sum.start, 0);
    assert.ok((only[0]?.sum.end ?? 0) >= 0.99);
  });
});
