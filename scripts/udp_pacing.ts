/**
 * UDP pacing and packet-rate measurement (not a test: figures for the
 * README and the issue note). On 127.0.0.1, for each target rate it runs an
 * iperf-ts client against an iperf-ts server, each in its own process, for
 * 3 seconds, and prints the achieved send and receive rates, their error
 * against the target and the client's CPU use; then it compares the
 * datagram rate at `-b 0 -l 1460` with iperf3's own pair.
 *
 * Usage: deno task bench:udp
 *
 * @module
 */

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const DENO = Deno.execPath();

function freePort(): number {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return listener.addr.port;
}

type Doc = {
  end: {
    "sum_sent": Record<string, number>;
    "sum_received": Record<string, number>;
    "cpu_utilization_percent": Record<string, number>;
  };
};

/** One test: a one-off server and a client, each its own process; the client's -J document. */
async function pair(
  serverCmd: string[],
  clientCmd: (port: number) => string[],
): Promise<Doc> {
  const port = freePort();
  const [serverBin, ...serverArgs] = serverCmd;
  const server = new Deno.Command(serverBin as string, {
    args: [...serverArgs, "-s", "-1", "-B", "127.0.0.1", "-p", String(port)],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const [clientBin, ...clientArgs] = clientCmd(port);
    for (let attempt = 0;; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const out = await new Deno.Command(clientBin as string, {
        args: clientArgs,
        stdout: "piped",
        stderr: "piped",
      })
        .output();
      const text = new TextDecoder().decode(out.stdout);
      if (out.success) return JSON.parse(text) as Doc;
      if (attempt >= 10 || !text.includes("refused")) throw new Error(text);
    }
  } finally {
    try {
      server.kill("SIGKILL");
    } catch {
      // Exited after its one test.
    }
    await server.status;
  }
}

const ours = [DENO, "run", "-A", MAIN];
function client(bin: string[], flags: string[]) {
  return (
    port: number,
  ) => [...bin, "-c", "127.0.0.1", "-p", String(port), "-J", ...flags];
}

// deno-lint-ignore no-console
const print = console.log;
print(
  "Pacing, iperf-ts client and server, 3 s, 1460-byte datagrams, 127.0.0.1:",
);
print(
  "target      sent            error    received        error    client CPU",
);
for (const mbit of [1, 10, 100, 500]) {
  const doc = await pair(
    ours,
    client(ours, ["-u", "-b", `${mbit}M`, "-t", "3", "-l", "1460"]),
  );
  const target = mbit * 1e6;
  const sent = doc.end.sum_sent["bits_per_second"] ?? 0;
  const received = doc.end.sum_received["bits_per_second"] ?? 0;
  const pct = (x: number) =>
    `${(100 * (x - target) / target).toFixed(2).padStart(6)}%`;
  print(
    `${String(mbit).padStart(4)} Mbit/s ${
      (sent / 1e6).toFixed(3).padStart(9)
    } Mbit/s ${pct(sent)} ${(received / 1e6).toFixed(3).padStart(9)} Mbit/s ${
      pct(received)
    } ${
      (doc.end.cpu_utilization_percent["host_total"] ?? 0).toFixed(1).padStart(
        6,
      )
    }%`,
  );
}

print("\nUnlimited (-b 0 -l 1460, 3 s): datagrams per second received");
for (
  const [name, bin] of [["iperf3 -> iperf3", ["iperf3"]], [
    "iperf-ts -> iperf-ts",
    ours,
  ]] as const
) {
  const doc = await pair(
    [...bin],
    client([...bin], ["-u", "-b", "0", "-t", "3", "-l", "1460"]),
  );
  const r = doc.end.sum_received;
  const s = doc.end.sum_sent;
  print(
    `${name.padEnd(22)} sent ${
      ((s["packets"] ?? 0) / (s["seconds"] || 1)).toFixed(0).padStart(8)
    }/s  received ${
      ((r["packets"] ?? 0) - (r["lost_packets"] ?? 0)) / (r["seconds"] || 1) | 0
    }/s  (${((r["bits_per_second"] ?? 0) / 1e6).toFixed(0)} Mbit/s, ${
      (r["lost_percent"] ?? 0).toFixed(1)
    }% lost)`,
  );
}
