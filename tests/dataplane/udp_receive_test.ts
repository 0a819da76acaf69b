/**
 * The threads' UDP receive path: a read split into its datagrams (as a GRO
 * read is), and the `mmsghdr` batches and UDP_GRO control message against
 * the real kernel (a GSO send on loopback arrives as one GRO read).
 *
 * @module
 */

import assert from "node:assert/strict";
import { accountRead } from "../../lib/dataplane/_udp_receive.ts";
import { GRO_CONTROL_BYTES, MsgBatch } from "../../lib/dataplane/_udp_batch.ts";
import { UdpSocket } from "../../lib/net/datagram.ts";
import { openLibcIo, POLLIN } from "../../lib/net/libc_io.ts";
import { nativeSockets, SOCKOPT } from "../../lib/net/native.ts";
import { locateUdp } from "../../lib/net/stream_socket.ts";
import { connectUdp } from "../../lib/net/udp_connected.ts";
import { writeUdpHeader } from "../../lib/protocol/udp_header.ts";
import { UdpAccounting } from "../../lib/stats/udp_accounting.ts";

/** `length`-byte datagrams with these sequence numbers, back to back, as a GRO read holds them. */
function superDatagram(
  seqs: number[],
  length: number,
  counters64 = false,
): DataView {
  const view = new DataView(new ArrayBuffer(seqs.length * length));
  seqs.forEach((seq, i) =>
    writeUdpHeader(view, 100, 1000 * i, seq, counters64, i * length)
  );
  return view;
}

Deno.test("accountRead() splits a coalesced read into its datagrams: sequence, loss, order", () => {
  const accounting = new UdpAccounting();
  const options = { counters64: false, arrival: 200, accounting };
  const first = superDatagram([1, 2, 5, 6], 100);
  assert.equal(accountRead(first, 0, 400, 100, options), 4);
  assert.equal(accounting.packets, 6);
  assert.equal(accounting.lost, 2);
  assert.equal(accounting.bytes, 400);
  // A late datagram takes one back from the lost count, as iperf3's.
  const late = superDatagram([3, 7], 100);
  assert.equal(accountRead(late, 0, 200, 100, options), 2);
  assert.equal(accounting.packets, 7);
  assert.equal(accounting.lost, 1);
  assert.equal(accounting.outOfOrder, 1);
  assert.equal(accounting.datagrams, 6);
});

Deno.test("accountRead() matches one datagram at a time, jitter included", () => {
  const seqs = [1, 2, 3, 5, 4, 8];
  const whole = new UdpAccounting();
  const single = new UdpAccounting();
  const view = superDatagram(seqs, 64);
  accountRead(view, 0, seqs.length * 64, 64, {
    counters64: false,
    arrival: 101,
    accounting: whole,
  });
  for (let i = 0; i < seqs.length; i++) {
    accountRead(view, i * 64, 64, 0, {
      counters64: false,
      arrival: 101,
      accounting: single,
    });
  }
  assert.deepEqual(
    [whole.packets, whole.lost, whole.outOfOrder, whole.jitter],
    [single.packets, single.lost, single.outOfOrder, single.jitter],
  );
  assert.ok(whole.jitter > 0);
});

Deno.test("accountRead() counts a shorter last segment and skips one too short for a header", () => {
  const accounting = new UdpAccounting();
  const view = superDatagram([1, 2, 3], 100);
  // 100 + 100 + 50: the last datagram is shorter but holds its header.
  assert.equal(
    accountRead(view, 0, 250, 100, {
      counters64: false,
      arrival: 1,
      accounting,
    }),
    3,
  );
  assert.equal(accounting.bytes, 250);
  // 100 + 8: a tail shorter than the 12-byte header is not a datagram.
  const other = new UdpAccounting();
  assert.equal(
    accountRead(view, 0, 108, 100, {
      counters64: false,
      arrival: 1,
      accounting: other,
    }),
    1,
  );
  assert.equal(other.bytes, 100);
});

Deno.test("accountRead() reads 64-bit sequence numbers", () => {
  const accounting = new UdpAccounting();
  const big = 2 ** 40;
  const view = superDatagram([big, big + 1, big + 3], 80, true);
  accountRead(view, 0, 240, 80, {
    counters64: true,
    arrival: 1,
    accounting,
  });
  assert.equal(accounting.packets, big + 3);
  // Everything below the first datagram counts lost, as in iperf3.
  assert.equal(accounting.lost, big);
});

const native = nativeSockets();

Deno.test({
  name:
    "MsgBatch carries a UDP_SEGMENT send and its UDP_GRO read through sendmmsg/recvmmsg",
  ignore: native === undefined,
  fn() {
    const io = openLibcIo();
    using sender = UdpSocket.bind("127.0.0.1", 0, { reuseAddress: false });
    using receiver = UdpSocket.bind("127.0.0.1", 0, { reuseAddress: false });
    const n = native as NonNullable<typeof native>;
    const fds: number[] = [];
    try {
      const sendFd = n.dup(locateUdp(n, sender.addr)?.fd as number);
      fds.push(sendFd);
      const receiveFd = n.dup(locateUdp(n, receiver.addr)?.fd as number);
      fds.push(receiveFd);
      connectUdp(sendFd, receiver.addr, sender.addr);
      const length = 1000;
      n.setInt(sendFd, SOCKOPT.IPPROTO_UDP, SOCKOPT.UDP_SEGMENT, length);
      n.setInt(receiveFd, SOCKOPT.IPPROTO_UDP, SOCKOPT.UDP_GRO, 1);
      const out = new MsgBatch(1, 5 * length);
      [1, 2, 4, 5, 6].forEach((seq, i) =>
        writeUdpHeader(out.view, 7, 0, seq, false, i * length)
      );
      assert.equal(io.symbols.sendmmsg(sendFd, out.vector, 1, 0), 1);

      const batch = new MsgBatch(4, 65535, GRO_CONTROL_BYTES);
      const poll = new Uint8Array(8);
      new DataView(poll.buffer).setInt32(0, receiveFd, true);
      new DataView(poll.buffer).setInt16(4, POLLIN, true);
      io.wait(poll, 1, 1e9);
      const accounting = new UdpAccounting();
      let datagrams = 0;
      let reads = 0;
      const segments: number[] = [];
      while (datagrams < 5 && reads < 10) {
        const r = io.symbols.recvmmsg(receiveFd, batch.vector, 4, 0x40, null);
        reads++;
        if (r <= 0) {
          io.wait(poll, 1, 1e8);
          continue;
        }
        for (let i = 0; i < r; i++) {
          segments.push(batch.groSize(i));
          datagrams += accountRead(
            batch.view,
            i * batch.messageBytes,
            batch.received(i),
            batch.groSize(i),
            { counters64: false, arrival: 8, accounting },
          );
        }
        batch.resetControl(4);
      }
      assert.equal(datagrams, 5);
      // One read of the five, with their size in the UDP_GRO control message.
      assert.deepEqual(segments, [length]);
      assert.equal(accounting.packets, 6);
      assert.equal(accounting.lost, 1);
      assert.equal(accounting.bytes, 5 * length);
    } finally {
      for (const fd of fds) n.close(fd);
      io.close();
    }
  },
});
