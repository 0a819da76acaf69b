import assert from "node:assert/strict";
import {
  addressKey,
  ipBytes,
  NativeError,
  nativeSockets,
  nativeUnavailableReason,
  SOCKOPT,
} from "../../lib/net/native.ts";
import {
  applyAfterConnect,
  applyKeepAlive,
  connectTuned,
  locateTcp,
  locateUdp,
} from "../../lib/net/stream_socket.ts";
import { UdpSocket } from "../../lib/net/datagram.ts";
import { IperfError } from "../../lib/errors.ts";

const native = nativeSockets();
const ignore = native === undefined;
if (ignore) {
  // deno-lint-ignore no-console
  console.warn(
    `native socket tests skipped: ${nativeUnavailableReason() ?? "unknown"}`,
  );
}

Deno.test("ipBytes: IPv4 maps into IPv6, IPv6 forms agree, junk is refused", () => {
  const hex = (h: string) =>
    Array.from(ipBytes(h) ?? [], (b) => b.toString(16).padStart(2, "0"))
      .join("");
  assert.equal(hex("127.0.0.1"), "00000000000000000000ffff7f000001");
  assert.equal(hex("::ffff:127.0.0.1"), hex("127.0.0.1"));
  assert.equal(hex("::1"), "00000000000000000000000000000001");
  assert.equal(hex("[::1]"), hex("::1"));
  assert.equal(hex("fe80::1%eth0"), "fe800000000000000000000000000001");
  assert.equal(hex("2001:db8:0:0:0:0:0:1"), hex("2001:db8::1"));
  assert.equal(hex("::"), "0".repeat(32));
  for (
    const bad of [
      "",
      "localhost",
      "1.2.3",
      "256.1.1.1",
      "1::2::3",
      "12345::",
      "1:2:3:4:5:6:7:8:9",
    ]
  ) {
    assert.equal(ipBytes(bad), undefined, bad);
  }
  assert.equal(
    addressKey("127.0.0.1", 5201),
    addressKey("::ffff:127.0.0.1", 5201),
  );
  assert.notEqual(addressKey("127.0.0.1", 5201), addressKey("127.0.0.1", 5202));
});

Deno.test("without --allow-ffi or off Linux there is a reason, with it there is none", () => {
  if (native) assert.equal(nativeUnavailableReason(), undefined);
  else assert.match(nativeUnavailableReason() ?? "", /allow-ffi|Linux|libc/);
});

async function pair(hostname = "127.0.0.1") {
  const listener = Deno.listen({ hostname, port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const [client, server] = await Promise.all([
    Deno.connect({ hostname, port }),
    listener.accept(),
  ]);
  listener.close();
  return { client, server };
}

Deno.test({
  name:
    "the descriptor found for a Deno connection is that connection's socket",
  ignore,
  async fn() {
    const n = native!;
    const { client, server } = await pair();
    try {
      const c = locateTcp(n, client);
      const s = locateTcp(n, server);
      assert.ok(c && s, "both ends found");
      assert.notEqual(c.fd, s.fd);
      // Deno flips TCP_NODELAY; the descriptor shows each flip.
      const nodelay = () =>
        c.getInt(SOCKOPT.IPPROTO_TCP, SOCKOPT.TCP_NODELAY) !== 0;
      client.setNoDelay(true);
      assert.equal(nodelay(), true);
      client.setNoDelay(false);
      assert.equal(nodelay(), false);
      // Bytes written through Deno are acknowledged on that socket.
      const before = c.tcpInfo()?.bytesAcked ?? -1;
      const block = new Uint8Array(256 * 1024);
      const reading = (async () => {
        const buf = new Uint8Array(65536);
        let got = 0;
        while (got < block.byteLength) got += (await server.read(buf)) ?? 0;
      })();
      let sent = 0;
      while (sent < block.byteLength) {
        sent += await client.write(block.subarray(sent));
      }
      await reading;
      const info = c.tcpInfo();
      assert.ok(info);
      assert.ok(info.bytesAcked - before >= block.byteLength - 1);
      assert.ok(info.sndMss > 0 && info.rtt > 0 && info.pmtu > 0);
      assert.ok(info.sndCwnd >= info.sndMss);
      // The other end received it (bytes_acked of the server is its own sends).
      assert.ok((s.tcpInfo()?.bytesAcked ?? 0) < block.byteLength);
    } finally {
      client.close();
      server.close();
    }
  },
});

Deno.test({
  name: "a closed connection's descriptor is never read as that socket again",
  ignore,
  async fn() {
    const n = native!;
    const { client, server } = await pair();
    const c = locateTcp(n, client);
    assert.ok(c);
    client.close();
    server.close();
    assert.equal(c.alive, false);
    assert.equal(c.tcpInfo(), undefined);
    assert.equal(c.congestion(), undefined);
  },
});

Deno.test({
  name: "IPv6 connections are found too",
  ignore,
  async fn() {
    let p;
    try {
      p = await pair("::1");
    } catch {
      return; // no IPv6 loopback on this machine
    }
    try {
      const c = locateTcp(native!, p.client);
      assert.ok(c);
      assert.equal(native!.family(c.fd), 10);
    } finally {
      p.client.close();
      p.server.close();
    }
  },
});

Deno.test({
  name: "-w, -C and -S reach the kernel; refusals map to iperf3's errors",
  ignore,
  async fn() {
    const n = native!;
    const { client, server } = await pair();
    try {
      const c = locateTcp(n, client)!;
      const r = applyAfterConnect(c, {
        window: 65536,
        tos: 0x10,
        congestion: "reno",
      }, { buffers: true, server: false, tcp: true });
      assert.equal(r.congestion, "reno");
      assert.equal(c.congestion(), "reno");
      // Linux doubles what was asked for (bookkeeping overhead).
      assert.deepEqual(c.buffers(), { sndbuf: 131072, rcvbuf: 131072 });
      assert.equal(c.getInt(SOCKOPT.IPPROTO_IP, SOCKOPT.IP_TOS), 0x10);

      assert.throws(
        () =>
          applyAfterConnect(c, { window: 0, tos: 0, congestion: "nosuchcc" }, {
            buffers: false,
            server: false,
            tcp: true,
          }),
        (e: unknown) => e instanceof IperfError && e.code === 134,
      );
      // A server only warns (iperf3: "TCP congestion control algorithm not supported").
      const s = locateTcp(n, server)!;
      const w = applyAfterConnect(s, {
        window: 0,
        tos: 0,
        congestion: "nosuchcc",
      }, {
        buffers: false,
        server: true,
        tcp: true,
      });
      assert.match(w.warning ?? "", /not supported/);
      assert.throws(
        () => n.setCongestion(c.fd, "nosuchcc"),
        (e: unknown) => e instanceof NativeError && e.errno === 2,
      );
      // More than the kernel grants: "socket buffer size not set correctly".
      assert.throws(
        () =>
          applyAfterConnect(c, { window: 512 * 1024 * 1024, tos: 0 }, {
            buffers: true,
            server: false,
            tcp: true,
          }),
        (e: unknown) => e instanceof IperfError && e.code === 141,
      );
    } finally {
      client.close();
      server.close();
    }
  },
});

Deno.test({
  name: "-M set before the handshake limits the MSS both ways",
  ignore,
  async fn() {
    const n = native!;
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    const accepting = listener.accept();
    const { conn, socket } = await connectTuned(n, "127.0.0.1", port, {
      tuning: { window: 0, tos: 0, mss: 1000, noDelay: true },
    });
    const server = await accepting;
    listener.close();
    try {
      assert.equal(conn.remoteAddr.port, port);
      assert.equal(socket.getInt(SOCKOPT.IPPROTO_TCP, SOCKOPT.TCP_NODELAY), 1);
      const s = locateTcp(n, server)!;
      // 1000 less the 12 bytes of TCP timestamps.
      const clientMss = socket.tcpInfo()!.sndMss;
      const serverMss = s.tcpInfo()!.sndMss;
      assert.ok(clientMss <= 1000 && clientMss >= 900, `client ${clientMss}`);
      assert.ok(serverMss <= 1000 && serverMss >= 900, `server ${serverMss}`);
      await conn.write(new TextEncoder().encode("hello"));
      const buf = new Uint8Array(16);
      const got = await server.read(buf);
      assert.equal(
        new TextDecoder().decode(buf.subarray(0, got ?? 0)),
        "hello",
      );
    } finally {
      conn.close();
      server.close();
    }
  },
});

Deno.test({
  name: "a refused native connect is a NativeError naming the refusal",
  ignore,
  async fn() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    await assert.rejects(
      connectTuned(native!, "127.0.0.1", port, {
        tuning: { window: 0, tos: 0, mss: 1200 },
      }),
      (e: unknown) => e instanceof NativeError && /refused/i.test(e.message),
    );
  },
});

Deno.test({
  name:
    "UDP sockets are found by their address; --dont-fragment sets IP_PMTUDISC_DO",
  ignore,
  fn() {
    using socket = UdpSocket.bind("127.0.0.1", 0);
    const u = locateUdp(native!, socket.addr);
    assert.ok(u);
    applyAfterConnect(u, { window: 0, tos: 0x20, dontFragment: true }, {
      buffers: false,
      server: false,
      tcp: false,
    });
    assert.equal(
      u.getInt(SOCKOPT.IPPROTO_IP, SOCKOPT.IP_MTU_DISCOVER),
      SOCKOPT.IP_PMTUDISC_DO,
    );
    assert.equal(u.getInt(SOCKOPT.IPPROTO_IP, SOCKOPT.IP_TOS), 0x20);
  },
});

Deno.test({
  name: "probeBuffers: a fresh socket's sizes, doubled after -w",
  ignore,
  fn() {
    const fresh = native!.probeBuffers("127.0.0.1", 0);
    assert.ok(fresh && fresh.sndbuf > 0 && fresh.rcvbuf > 0);
    assert.deepEqual(native!.probeBuffers("127.0.0.1", 100000), {
      sndbuf: 200000,
      rcvbuf: 200000,
    });
  },
});

Deno.test({
  name:
    "--cntl-ka timings and --snd-timeout's TCP_USER_TIMEOUT reach the kernel",
  ignore,
  async fn() {
    const n = native!;
    const { client, server } = await pair();
    try {
      client.setKeepAlive(true);
      const c = locateTcp(n, client)!;
      assert.deepEqual(applyKeepAlive(c, { idle: 20, interval: 4, count: 2 }), {
        idle: 20,
        interval: 4,
        count: 2,
      });
      assert.equal(c.getInt(SOCKOPT.IPPROTO_TCP, SOCKOPT.TCP_KEEPIDLE), 20);
      assert.equal(c.getInt(SOCKOPT.IPPROTO_TCP, SOCKOPT.TCP_KEEPINTVL), 4);
      assert.equal(c.getInt(SOCKOPT.IPPROTO_TCP, SOCKOPT.TCP_KEEPCNT), 2);
      // Only the count given: the others are read back from the socket.
      assert.deepEqual(applyKeepAlive(c, { idle: 0, interval: 0, count: 5 }), {
        idle: 20,
        interval: 4,
        count: 5,
      });
      // An idle time not above interval x count is iperf3's error 36.
      assert.throws(
        () => applyKeepAlive(c, { idle: 10, interval: 0, count: 0 }),
        (e: unknown) => e instanceof IperfError && e.code === 36,
      );
      applyAfterConnect(c, { window: 0, tos: 0, userTimeoutMs: 7000 }, {
        buffers: false,
        server: false,
        tcp: true,
      });
      assert.equal(
        c.getInt(SOCKOPT.IPPROTO_TCP, SOCKOPT.TCP_USER_TIMEOUT),
        7000,
      );
    } finally {
      client.close();
      server.close();
    }
  },
});

Deno.test({
  name:
    "TCP_INFO stays readable after the peer resets the connection (SO_COOKIE)",
  ignore,
  async fn() {
    const n = native!;
    const { client, server } = await pair();
    try {
      const c = locateTcp(n, client)!;
      // Unread data at close makes the server's kernel answer with RST.
      await client.write(new Uint8Array(4096));
      await new Promise((resolve) => setTimeout(resolve, 20));
      server.close();
      await new Promise((resolve) => setTimeout(resolve, 20));
      // The reset shows as a failed write (bounded: 50 tries).
      let failed = false;
      for (let i = 0; i < 50 && !failed; i++) {
        try {
          await client.write(new Uint8Array(1024));
          await new Promise((resolve) => setTimeout(resolve, 5));
        } catch {
          failed = true;
        }
      }
      assert.ok(failed, "the write after the reset should fail");
      // The addresses no longer answer (getpeername: ENOTCONN) ...
      assert.equal(
        n.still(c.fd, "tcp", client.localAddr, client.remoteAddr),
        false,
      );
      // ... but the cookie still names the socket, and TCP_INFO is read.
      assert.equal(c.alive, true);
      assert.ok((c.tcpInfo()?.bytesAcked ?? 0) >= 4096);
    } finally {
      client.close();
    }
  },
});
