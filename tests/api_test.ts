import assert from "node:assert/strict";
import { InterruptedError, UsageError } from "../lib/errors.ts";
import type { IperfJson, JsonInterval } from "../lib/report/json_types.ts";
import { runClient, startServer } from "../lib/api.ts";

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
