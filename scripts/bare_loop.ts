/**
 * The ceiling of Deno's own socket layer on this machine: a bare TCP
 * write/read loop and a bare UDP send/receive loop, each side in its own
 * process, with no protocol, no counters and no reporting. Set next to the
 * benchmark's figures, it shows how much of the gap to iperf3 is iperf-ts
 * and how much is Deno.
 *
 * Usage: deno task bench:bare
 *
 * @module
 */

const SECONDS = Number(Deno.env.get("BARE_SECONDS") ?? 3);
// deno-lint-ignore no-console
const print = console.log;

async function role(): Promise<void> {
  const [kind, port] = [Deno.args[0], Number(Deno.args[1])];
  const until = performance.now() + SECONDS * 1000;
  if (kind === "tcp-read") {
    using listener = Deno.listen({ hostname: "127.0.0.1", port });
    using conn = await listener.accept();
    const buf = new Uint8Array(131072);
    let bytes = 0;
    const start = performance.now();
    while (true) {
      const n = await conn.read(buf);
      if (n === null) break;
      bytes += n;
    }
    print(
      JSON.stringify({ bytes, seconds: (performance.now() - start) / 1000 }),
    );
  } else if (kind === "tcp-write") {
    using conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const buf = new Uint8Array(131072);
    while (performance.now() < until) await conn.write(buf);
  } else if (kind === "udp-recv") {
    const socket = Deno.listenDatagram({
      hostname: "127.0.0.1",
      port,
      transport: "udp",
    });
    const buf = new Uint8Array(65536);
    let datagrams = 0;
    let start = 0;
    const timer = setTimeout(() => socket.close(), (SECONDS + 1) * 1000);
    try {
      while (true) {
        await socket.receive(buf);
        if (datagrams++ === 0) start = performance.now();
      }
    } catch {
      // Closed by the timer.
    }
    clearTimeout(timer);
    print(JSON.stringify({ datagrams, seconds: SECONDS, first: start }));
  } else if (kind === "udp-send") {
    const socket = Deno.listenDatagram({
      hostname: "127.0.0.1",
      port: 0,
      transport: "udp",
    });
    const to = { transport: "udp" as const, hostname: "127.0.0.1", port };
    const buf = new Uint8Array(1460);
    let datagrams = 0;
    while (performance.now() < until) {
      await socket.send(buf, to);
      datagrams++;
    }
    socket.close();
    print(JSON.stringify({ datagrams, seconds: SECONDS }));
  }
}

function freePort(): number {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return listener.addr.port;
}

async function pair(
  server: string,
  client: string,
): Promise<[unknown, unknown]> {
  const port = freePort();
  const spawn = (kind: string) =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--unstable-net",
        import.meta.filename ?? "",
        kind,
        String(port),
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
  const s = spawn(server);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const c = spawn(client);
  const [so, co] = await Promise.all([s.output(), c.output()]);
  const parse = (out: Deno.CommandOutput) => {
    const text = new TextDecoder().decode(out.stdout).trim();
    return text ? JSON.parse(text) : undefined;
  };
  return [parse(so), parse(co)];
}

if (Deno.args.length > 0) {
  await role();
} else {
  const [tcp] = await pair("tcp-read", "tcp-write") as [
    { bytes: number; seconds: number },
    unknown,
  ];
  print(
    `bare TCP loop, 128 KiB blocks: ${
      (tcp.bytes * 8 / tcp.seconds / 1e9).toFixed(2)
    } Gbit/s`,
  );
  const [rx, tx] = await pair("udp-recv", "udp-send") as [
    { datagrams: number },
    { datagrams: number },
  ];
  print(
    `bare UDP loop, 1460-byte datagrams: sent ${
      (tx.datagrams / SECONDS).toFixed(0)
    }/s, received ${(rx.datagrams / SECONDS).toFixed(0)}/s`,
  );
}
