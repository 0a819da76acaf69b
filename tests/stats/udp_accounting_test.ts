import assert from "node:assert/strict";
import { UdpAccounting, udpCounts } from "../../lib/stats/udp_accounting.ts";

// Expected values follow iperf3 3.12's `iperf_udp_recv` (src/iperf_udp.c)
// and reference doc §5.4. Times are dyadic fractions so every transit and
// jitter value is exact in binary floating point.

/** Feeds datagrams with a constant transit, so only sequence numbers matter. */
function feed(a: UdpAccounting, seqs: readonly number[], bytes = 100): void {
  for (const [i, seq] of seqs.entries()) a.record(seq, i, i + 0.5, bytes);
}

/** The counters as one object, for a single deepEqual. */
function counts(a: UdpAccounting) {
  return {
    packets: a.packets,
    lost: a.lost,
    outOfOrder: a.outOfOrder,
    datagrams: a.datagrams,
  };
}

Deno.test("UdpAccounting starts at zero", () => {
  const a = new UdpAccounting();
  assert.deepEqual(counts(a), {
    packets: 0,
    lost: 0,
    outOfOrder: 0,
    datagrams: 0,
  });
  assert.equal(a.bytes, 0);
  assert.equal(a.jitter, 0);
});

Deno.test("UdpAccounting.record() counts an in-order stream without loss", () => {
  const a = new UdpAccounting();
  feed(a, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(counts(a), {
    packets: 10,
    lost: 0,
    outOfOrder: 0,
    datagrams: 10,
  });
});

Deno.test("UdpAccounting.record() counts a gap as lost", () => {
  const a = new UdpAccounting();
  feed(a, [1, 2, 5]);
  assert.deepEqual(counts(a), {
    packets: 5,
    lost: 2,
    outOfOrder: 0,
    datagrams: 3,
  });
  feed(a, [6, 10]);
  assert.deepEqual(counts(a), {
    packets: 10,
    lost: 5,
    outOfOrder: 0,
    datagrams: 5,
  });
});

Deno.test("UdpAccounting.record() takes a late datagram back from lost and counts it out of order", () => {
  const a = new UdpAccounting();
  feed(a, [1, 2, 5]);
  assert.equal(a.lost, 2);
  a.record(3, 3, 3.5, 100);
  assert.deepEqual(counts(a), {
    packets: 5,
    lost: 1,
    outOfOrder: 1,
    datagrams: 4,
  });
  a.record(4, 4, 4.5, 100);
  assert.deepEqual(counts(a), {
    packets: 5,
    lost: 0,
    outOfOrder: 2,
    datagrams: 5,
  });
  feed(a, [6]);
  assert.deepEqual(counts(a), {
    packets: 6,
    lost: 0,
    outOfOrder: 2,
    datagrams: 6,
  });
});

Deno.test("UdpAccounting.record() counts a duplicate out of order without lost going negative", () => {
  const a = new UdpAccounting();
  feed(a, [1, 2, 2, 3, 1]);
  assert.deepEqual(counts(a), {
    packets: 3,
    lost: 0,
    outOfOrder: 2,
    datagrams: 5,
  });
});

Deno.test("UdpAccounting.record() lets a duplicate cancel a loss, as iperf3 does", () => {
  // iperf3 cannot tell a duplicate from a late datagram (its comment says
  // so): the duplicate 3 takes back the loss of 2, which never arrives.
  const a = new UdpAccounting();
  feed(a, [1, 3, 3]);
  assert.deepEqual(counts(a), {
    packets: 3,
    lost: 0,
    outOfOrder: 1,
    datagrams: 3,
  });
});

Deno.test("UdpAccounting.record() counts swapped pairs as out of order, not lost", () => {
  const a = new UdpAccounting();
  const steps: [
    number,
    { packets: number; lost: number; outOfOrder: number },
  ][] = [
    [1, { packets: 1, lost: 0, outOfOrder: 0 }],
    [3, { packets: 3, lost: 1, outOfOrder: 0 }],
    [2, { packets: 3, lost: 0, outOfOrder: 1 }],
    [5, { packets: 5, lost: 1, outOfOrder: 1 }],
    [4, { packets: 5, lost: 0, outOfOrder: 2 }],
    [7, { packets: 7, lost: 1, outOfOrder: 2 }],
    [6, { packets: 7, lost: 0, outOfOrder: 3 }],
  ];
  for (const [i, [seq, want]] of steps.entries()) {
    a.record(seq, i, i + 0.5, 100);
    assert.deepEqual(udpCounts(a), want, `after seq ${seq}`);
  }
  assert.equal(a.datagrams, 7);
});

Deno.test("UdpAccounting.record() counts loss from 0 when the first sequence number is high", () => {
  // iperf3 starts `packet_count` at 0, so a stream whose first datagrams were
  // lost (or a peer starting high) reports everything below as lost.
  const a = new UdpAccounting();
  feed(a, [1000]);
  assert.deepEqual(counts(a), {
    packets: 1000,
    lost: 999,
    outOfOrder: 0,
    datagrams: 1,
  });
  feed(a, [1001, 1002]);
  assert.deepEqual(counts(a), {
    packets: 1002,
    lost: 999,
    outOfOrder: 0,
    datagrams: 3,
  });
});

Deno.test("UdpAccounting.record() treats sequence number 0 as out of order", () => {
  // 0 is never >= packet_count + 1, so iperf3 counts it out of order.
  const a = new UdpAccounting();
  feed(a, [0]);
  assert.deepEqual(counts(a), {
    packets: 0,
    lost: 0,
    outOfOrder: 1,
    datagrams: 1,
  });
});

Deno.test("UdpAccounting.record() sums bytes and datagrams, duplicates included", () => {
  const a = new UdpAccounting();
  a.record(1, 0, 0.5, 1460);
  a.record(2, 0, 0.5, 1460);
  a.record(2, 0, 0.5, 1460);
  a.record(4, 0, 0.5, 100);
  assert.equal(a.bytes, 1460 * 3 + 100);
  assert.equal(a.datagrams, 4);
  // iperf3's receiver "packets" is the highest sequence, not the count.
  assert.equal(a.packets, 4);
});

Deno.test("UdpAccounting.record() sets no jitter on the first datagram", () => {
  const a = new UdpAccounting();
  a.record(1, 733.446963, 10.25, 100);
  assert.equal(a.jitter, 0);
});

Deno.test("UdpAccounting.record() keeps jitter at 0 for a constant transit", () => {
  const a = new UdpAccounting();
  for (let seq = 1; seq <= 100; seq++) {
    const sent = 700 + seq / 64;
    a.record(seq, sent, sent + 0.125, 100);
    assert.equal(a.jitter, 0, `seq ${seq}`);
  }
});

Deno.test("UdpAccounting.record() uses the absolute transit, the clocks being unrelated", () => {
  // The receiver's clock is behind the sender's: transit is |arrival - sent|,
  // as iperf3's `iperf_time_diff` returns the absolute difference.
  const a = new UdpAccounting();
  a.record(1, 100.5, 0.25, 100); // transit 100.25
  a.record(2, 101.5, 1.25, 100); // transit 100.25
  assert.equal(a.jitter, 0);
  a.record(3, 102.5, 2.75, 100); // transit 99.75: d = 0.5
  assert.equal(a.jitter, 0.5 / 16);
});

Deno.test("UdpAccounting.record() smooths alternating transit by 1/16 per datagram", () => {
  // Transit alternates 0.25 s and 0.75 s, so every d after the first
  // datagram is 0.5 s and jitter approaches 0.5 as 0.5 * (1 - (15/16)^n).
  const a = new UdpAccounting();
  let expected = 0;
  for (let seq = 1; seq <= 200; seq++) {
    const sent = 1000 + seq / 1024;
    const transit = seq % 2 === 1 ? 0.25 : 0.75;
    a.record(seq, sent, sent + transit, 100);
    if (seq > 1) expected += (0.5 - expected) / 16;
    assert.equal(a.jitter, expected, `seq ${seq}`);
    const n = seq - 1;
    assert.ok(
      Math.abs(a.jitter - 0.5 * (1 - (15 / 16) ** n)) < 1e-12,
      `seq ${seq}`,
    );
    if (seq === 2) assert.equal(a.jitter, 0.03125);
    if (seq === 3) assert.equal(a.jitter, 0.060546875);
    if (seq === 4) assert.equal(a.jitter, 0.0880126953125);
  }
  assert.ok(Math.abs(a.jitter - 0.5) < 1e-5);
  assert.equal(a.packets, 200);
});

Deno.test("UdpAccounting.record() decays jitter by 15/16 per datagram once transit settles", () => {
  const a = new UdpAccounting();
  a.record(1, 0, 0.25, 100);
  a.record(2, 1, 1.75, 100); // transit 0.75: d = 0.5
  assert.equal(a.jitter, 0.03125);
  let expected = 0.03125;
  for (let seq = 3; seq < 20; seq++) {
    a.record(seq, seq, seq + 0.75, 100); // transit stays 0.75: d = 0
    expected -= expected / 16;
    assert.equal(a.jitter, expected, `seq ${seq}`);
  }
});

Deno.test("UdpAccounting.record() updates jitter for late and duplicate datagrams too", () => {
  // iperf3 runs the jitter step for every datagram, in order or not.
  const a = new UdpAccounting();
  a.record(1, 0, 0.25, 100);
  a.record(3, 2, 2.25, 100);
  a.record(2, 1, 1.75, 100); // late, transit 0.75: d = 0.5
  assert.equal(a.jitter, 0.03125);
  a.record(2, 1, 1.75, 100); // duplicate, same transit: d = 0
  assert.equal(a.jitter, 0.03125 - 0.03125 / 16);
});

Deno.test("udpCounts() snapshots the counters without tracking later changes", () => {
  const a = new UdpAccounting();
  feed(a, [1, 2, 4]);
  const first = udpCounts(a);
  assert.deepEqual(first, { packets: 4, lost: 1, outOfOrder: 0 });
  feed(a, [3, 8]);
  assert.deepEqual(first, { packets: 4, lost: 1, outOfOrder: 0 });
  const second = udpCounts(a);
  assert.deepEqual(second, { packets: 8, lost: 3, outOfOrder: 1 });
  // Interval values are differences of the snapshots (§5.4).
  assert.deepEqual(
    {
      packets: second.packets - first.packets,
      lost: second.lost - first.lost,
      outOfOrder: second.outOfOrder - first.outOfOrder,
    },
    { packets: 4, lost: 2, outOfOrder: 1 },
  );
});
