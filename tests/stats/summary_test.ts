import assert from "node:assert/strict";
import type { StreamResult, TestResults } from "../../lib/protocol/results.ts";
import {
  type LocalStreamTotal,
  summarize,
  type SummaryInput,
} from "../../lib/stats/summary.ts";

// iperf3 3.14+ `get_results`: with `omitted_packets`/`omitted_errors` from
// the peer, its counts after the omit period are `packets - omitted_packets`
// and `errors - omitted_errors`; without them (3.12) the local omit-period
// count is subtracted from the peer's packets and errors stay as sent.

function udpStream(sender: boolean): LocalStreamTotal {
  return {
    id: 1,
    socket: 5,
    sender,
    bytes: 1460 * 1000,
    duration: 1,
    udp: {
      packets: 1000,
      omittedPackets: 200,
      lost: 0,
      outOfOrder: 0,
      jitter: 0,
    },
  };
}

function peer(stream: Partial<StreamResult>): TestResults {
  return {
    cpuUtilTotal: 0,
    cpuUtilUser: 0,
    cpuUtilSystem: 0,
    senderHasRetransmits: -1,
    streams: [{
      id: 1,
      bytes: 1460 * 990,
      retransmits: -1,
      jitter: 0.001,
      errors: 0,
      packets: 0,
      startTime: 0,
      endTime: 1,
      ...stream,
    }],
  };
}

function input(sender: boolean, results: TestResults): SummaryInput {
  return {
    streams: [udpStream(sender)],
    receiverOnly: !sender,
    bidirectional: false,
    cpu: { total: 0, user: 0, system: 0 },
    peer: results,
  };
}

Deno.test("summarize() takes a 3.14+ receiver's omit-period counts from its results", () => {
  const s = summarize(input(
    true,
    peer({ packets: 1190, omittedPackets: 195, errors: 12, omittedErrors: 2 }),
  )).streams[0];
  assert.equal(s?.udp?.receiverPackets, 995);
  assert.equal(s?.udp?.lost, 10);
});

Deno.test("summarize() takes a 3.14+ sender's omit-period count from its results", () => {
  const s = summarize(input(
    false,
    peer({ packets: 1210, omittedPackets: 205, omittedErrors: 0 }),
  )).streams[0];
  assert.equal(s?.udp?.senderPackets, 1005);
});

Deno.test("summarize() subtracts the local omit-period count from a 3.12 peer's, whose errors stay as sent", () => {
  const s = summarize(input(true, peer({ packets: 1190, errors: 12 })))
    .streams[0];
  assert.equal(s?.udp?.receiverPackets, 990);
  assert.equal(s?.udp?.lost, 12);
});

Deno.test("summarize() subtracts no omitted errors a peer reports as unknown (-1)", () => {
  const s = summarize(input(
    true,
    peer({ packets: 1190, omittedPackets: 195, errors: 12, omittedErrors: -1 }),
  )).streams[0];
  assert.equal(s?.udp?.lost, 12);
});
