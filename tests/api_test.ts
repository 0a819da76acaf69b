import assert from "node:assert/strict";
import { InterruptedError, UsageError } from "../lib/errors.ts";
import type { IperfJson, JsonInterval } from "../lib/report/json_types.ts";
import { runClient, startServer } from "../lib/api.ts";
import { nativeSockets } from "../lib/net/native.ts";

Deno.test("runClient() yields intervals as they happen and resolves to the -J document", async () => {
  const finished: IperfJson[] = [];
  await using server = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    onTest: (doc) => finished.push(doc),
  });
  const run = runClient({
    host: "127.0.0.1",
    port: server.port,
    time: 1,
    interval: 0.25,
    parallel: 2,
  });
  const intervals: JsonInterval[] = [];
  for await (const interval of run) intervals.push(interval);
  const doc = await run.result;
  assert.ok(
    intervals.length >= 3 && intervals.length <= 5,
    String(intervals.length),
  );
  assert.equal(intervals[0]?.streams.length, 2);
  assert.deepEqual(doc.intervals, intervals);
  assert.equal(doc.start.test_start?.num_streams, 2);
  assert.ok((doc.end.sum_received?.bytes ?? 0) > 0);
  assert.equal(doc.error, undefined);
  for (let i = 0; i < 100 && finished.length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.equal(finished.length, 1);
  assert.equal(finished[0]?.start.cookie, doc.start.cookie);
  assert.equal(
    finished[0]?.end.sum_received?.bytes,
    doc.end.sum_received?.bytes,
  );
});

Deno.test("runClient() runs UDP and reverse tests with typed results", async () => {
  await using server = await startServer({ hostname: "127.0.0.1", port: 0 });
  const udp = await runClient({
    host: "127.0.0.1",
    port: server.port,
    udp: true,
    bitrate: 20_000_000,
    length: 1200,
    time: 1,
  }).result;
  assert.equal(udp.start.test_start?.protocol, "UDP");
  assert.ok((udp.end.sum_received?.packets ?? 0) > 0);
  assert.equal(typeof udp.end.sum?.jitter_ms, "number");
  const reverse = await runClient({
    host: "127.0.0.1",
    port: server.port,
    reverse: true,
    bytes: 4 << 20,
  }).result;
  assert.equal(reverse.end.sum_sent?.sender, false);
  assert.ok((reverse.end.sum_sent?.bytes ?? 0) >= 4 << 20);
});

Deno.test(
  "runClient() sets -w, -M, -C, -S and reports TCP_INFO figures (Linux, --allow-ffi)",
  {
    ignore: nativeSockets() === undefined,
  },
  async () => {
    const served: IperfJson[] = [];
    await using server = await startServer({
      hostname: "127.0.0.1",
      port: 0,
      onTest: (doc) => served.push(doc),
    });
    const options = {
      host: "127.0.0.1",
      port: server.port,
      bytes: 8 << 20,
      window: 65536,
      mss: 1000,
      congestion: "reno",
      tos: 0x10,
    };
    const doc = await runClient(options).result;
    assert.equal(doc.start.tcp_mss, 1000);
    assert.equal(doc.start.sock_bufsize, 65536);
    assert.equal(doc.start.sndbuf_actual, 131072);
    assert.equal(doc.end.sender_tcp_congestion, "reno");
    const first = doc.intervals[0]?.streams[0];
    assert.ok(first && (first.rtt ?? 0) > 0 && (first.snd_cwnd ?? 0) > 0);
    assert.equal(typeof first.retransmits, "number");
    const sender = doc.end.streams?.[0]?.sender;
    assert.ok(
      sender && (sender.max_snd_cwnd ?? 0) > 0 && (sender.mean_rtt ?? 0) > 0,
    );
    // -R: the server sends with the client's algorithm and reports its own
    // retransmits, which the client shows (cwnd/RTT stay with the server).
    const reverse = await runClient({ ...options, reverse: true }).result;
    assert.equal(reverse.end.sender_tcp_congestion, "reno");
    assert.equal(typeof reverse.end.sum_sent?.retransmits, "number");
    assert.equal(reverse.end.streams?.[0]?.sender?.max_snd_cwnd, 0);
    for (let i = 0; i < 100 && served.length < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const serverSide = served[1]?.end.streams?.[0]?.sender;
    assert.ok(serverSide && (serverSide.max_snd_cwnd ?? 0) > 0);
    assert.equal(served[1]?.end.sender_tcp_congestion, "reno");
  },
);

Deno.test("runClient() rejects bad options with UsageError and an abort with InterruptedError", async () => {
  await assert.rejects(
    runClient({ host: "127.0.0.1", parallel: 0 }).result,
    UsageError,
  );
  await assert.rejects(
    runClient({ host: "127.0.0.1", time: 1.5 }).result,
    UsageError,
  );
  await using server = await startServer({ hostname: "127.0.0.1", port: 0 });
  const controller = new AbortController();
  const run = runClient({
    host: "127.0.0.1",
    port: server.port,
    time: 5,
    signal: controller.signal,
  });
  const first = await run[Symbol.asyncIterator]().next();
  assert.equal(first.done, false);
  controller.abort();
  await assert.rejects(run.result, InterruptedError);
});

Deno.test("runClient() and startServer() check typed options with the command line's messages", async () => {
  await assert.rejects(
    runClient({ host: "127.0.0.1", parallel: 0 }).result,
    (error: unknown) =>
      error instanceof UsageError &&
      error.message ===
        "number of parallel streams must be between 1 and 128",
  );
  await assert.rejects(
    runClient({ host: "127.0.0.1", reverse: true, bidir: true }).result,
    /cannot be both reverse and bidirectional/,
  );
  await assert.rejects(
    runClient({ host: "127.0.0.1", bitrate: 1_000_000, burst: 1001 }).result,
    /burst/,
  );
  assert.throws(
    () => startServer({ hostname: "127.0.0.1", port: 0, maxTests: 0 }),
    (error: unknown) =>
      error instanceof UsageError &&
      error.message === "--max-tests must be between 1 and 1024",
  );
  assert.throws(
    () => startServer({ hostname: "127.0.0.1", port: 70000 }),
    /port number must be between 1 and 65535 inclusive/,
  );
});
