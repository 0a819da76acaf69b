/**
 * The server's per-stream UDP sockets: bound beside the shared port and
 * connected to one client, they get that client's datagrams; everyone
 * else's still reach the shared socket, and so do the client's once the
 * connected socket closes (what the threaded server relies on).
 *
 * @module
 */

import assert from "node:assert/strict";
import { UdpSocket } from "../../lib/net/datagram.ts";
import { openLibcIo, POLLIN } from "../../lib/net/libc_io.ts";
import { NativeError } from "../../lib/net/native.ts";
import {
  connectedUdpUnavailable,
  openConnectedUdp,
} from "../../lib/net/udp_connected.ts";

const ignore = connectedUdpUnavailable() !== undefined;

/** Datagrams waiting on a libc socket, read without blocking. */
function drain(fd: number, io: ReturnType<typeof openLibcIo>): number[] {
  const poll = new Uint8Array(8);
  new DataView(poll.buffer).setInt32(0, fd, true);
  new DataView(poll.buffer).setInt16(4, POLLIN, true);
  io.wait(poll, 1, 2e8);
  const got: number[] = [];
  const buffer = new Uint8Array(64);
  while (true) {
    const n = Number(io.symbols.recv(fd, buffer, 64n, 0x40));
    if (n <= 0) return got;
    got.push(buffer[0] as number);
  }
}

async function receiveOne(socket: UdpSocket): Promise<number> {
  const [data] = await socket.receive(new Uint8Array(64));
  return data[0] as number;
}

Deno.test({
  name:
    "openConnectedUdp() takes its peer's datagrams from the shared port, and gives them back when closed",
  ignore,
  async fn() {
    const io = openLibcIo();
    try {
      using hub = UdpSocket.bind("127.0.0.1", 0);
      using client = UdpSocket.bind("127.0.0.1", 0, { reuseAddress: false });
      using other = UdpSocket.bind("127.0.0.1", 0, { reuseAddress: false });
      const own = openConnectedUdp(
        { hostname: "127.0.0.1", port: hub.addr.port },
        client.addr,
      );
      try {
        for (const b of [1, 2, 3]) {
          await client.send(new Uint8Array([b]), hub.addr);
        }
        await other.send(new Uint8Array([9]), hub.addr);
        assert.deepEqual(drain(own.fd, io), [1, 2, 3]);
        assert.equal(await receiveOne(hub), 9);
      } finally {
        own.close();
      }
      own.close();
      await client.send(new Uint8Array([4]), hub.addr);
      assert.equal(await receiveOne(hub), 4);
    } finally {
      io.close();
    }
  },
});

Deno.test({
  name:
    "openConnectedUdp() fails with EADDRINUSE beside a shared socket without SO_REUSEADDR",
  ignore,
  fn() {
    using hub = UdpSocket.bind("127.0.0.1", 0, { reuseAddress: false });
    assert.throws(
      () =>
        openConnectedUdp({ hostname: "127.0.0.1", port: hub.addr.port }, {
          transport: "udp",
          hostname: "127.0.0.1",
          port: 9,
        }),
      (error: unknown) => error instanceof NativeError && error.errno === 98,
    );
  },
});
