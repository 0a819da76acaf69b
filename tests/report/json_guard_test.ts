import assert from "node:assert/strict";
import { isIperfJson, isJsonInterval } from "../../lib/report/json_guard.ts";

/** A one-stream TCP client document, as iperf3 3.21 prints it (trimmed). */
function doc(version: unknown = "iperf 3.21"): Record<string, unknown> {
  const figures = {
    start: 0,
    end: 1,
    seconds: 1,
    bytes: 1000,
    "bits_per_second": 8000,
    sender: true,
  };
  return {
    start: {
      connected: [{
        socket: 5,
        "local_host": "127.0.0.1",
        "local_port": 40000,
        "remote_host": "127.0.0.1",
        "remote_port": 5201,
      }],
      version,
      "system_info": "Linux test x86_64",
      timestamp: { time: "Tue, 01 Dec 2026 23:00:00 GMT", timesecs: 1 },
      "connecting_to": { host: "127.0.0.1", port: 5201 },
      cookie: "c".repeat(36),
      // A newer iperf3's key that IperfJson does not name: allowed.
      "fq_rate": 0,
    },
    intervals: [{
      streams: [{ ...figures, socket: 5, omitted: false }],
      sum: { ...figures, omitted: false },
    }],
    end: {
      streams: [{ sender: { ...figures, socket: 5 } }],
      "sum_sent": figures,
      "sum_received": { ...figures, sender: false },
    },
  };
}

Deno.test("isIperfJson() accepts a -J document, extra keys included", () => {
  assert.equal(isIperfJson(doc()), true);
  const withServer = { ...doc(), "server_output_json": doc() };
  assert.equal(isIperfJson(withServer), true);
});

Deno.test("isIperfJson() rejects a document missing a member or with one of the wrong type", () => {
  assert.equal(isIperfJson(null), false);
  assert.equal(isIperfJson([]), false);
  const noEnd = doc();
  delete noEnd["end"];
  assert.equal(isIperfJson(noEnd), false);
  assert.equal(isIperfJson(doc(3.21)), false);
  const badServer = { ...doc(), "server_output_json": { start: {} } };
  assert.equal(isIperfJson(badServer), false);
});

Deno.test("isJsonInterval() wants the streams and the sum", () => {
  const intervals = doc()["intervals"];
  assert.ok(Array.isArray(intervals));
  assert.equal(isJsonInterval(intervals[0]), true);
  assert.equal(isJsonInterval({ streams: [] }), false);
});
