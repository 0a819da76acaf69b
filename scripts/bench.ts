/**
 * Side-by-side benchmark against iperf3 (issue #6; a script, not a test).
 *
 * On 127.0.0.1 it runs iperf3's own client and server, and ours, each side
 * its own process, in alternating rounds (the order flips every round), and
 * compares medians: TCP 1 stream, TCP -P 4, TCP -R, UDP `-b 0 -l 1460`
 * (received rate and datagrams per second), UDP `-b 1G -l 1460` (loss), and
 * the cross pairs (our client with iperf3's server, iperf3's client with our
 * server) for TCP 1 stream. Every process runs under GNU `time`, which reaps
 * it and reports its CPU time and peak RSS, so each side's CPU seconds per
 * GB received cover the whole process, start-up included. Then it starts one
 * server of ours with `--max-tests 8`, runs 8 mixed clients of ours at once,
 * and polls the server's VmHWM/VmRSS every 100 ms (iperf3 serves one test at
 * a time, so that figure has no iperf3 column).
 *
 * It prints a table and writes the same figures, the machine and every
 * round's raw figures to `bench/bench-<YYYY-MM-DD>-<hostname>.json`.
 *
 * Usage: deno task bench [--rounds N] [--time SECS]   (defaults 3 and 3)
 *
 * It runs with -A because Deno reads /proc only with all permissions.
 *
 * @module
 */

import { parseArgs } from "node:util";
import Table from "cli-table3";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const BENCH_DIR = new URL("../bench/", import.meta.url).pathname;
const OURS = [Deno.execPath(), "run", "-A", MAIN];
const IPERF3 = ["iperf3"];
/** GNU time: waits for its child and writes "%e %U %S %M" when it ends. */
const TIME_BIN = "/usr/bin/time";
const DATAGRAM_SIZE = 1460;
const RSS_TESTS = 8;
const RSS_LIMIT_MB = 100;
const POLL_MS = 100;
/** How long a server may take to listen, or to exit after its one test. */
const SERVER_GRACE_MS = 10_000;
/** A client may overrun its test length by this much before it is killed. */
const CLIENT_GRACE_MS = 20_000;
const CONNECT_ATTEMPTS = 10;

// deno-lint-ignore no-console
const print = console.log;

type Impl = "iperf3" | "ours";

interface CaseDef {
  id: string;
  label: string;
  flags: string[];
  udp: boolean;
}

const CASES: CaseDef[] = [
  { id: "tcp1", label: "TCP 1 stream", flags: [], udp: false },
  { id: "tcpP4", label: "TCP -P 4", flags: ["-P", "4"], udp: false },
  { id: "tcpR", label: "TCP -R", flags: ["-R"], udp: false },
  {
    id: "udpMax",
    label: "UDP -b 0 -l 1460",
    flags: ["-u", "-b", "0", "-l", String(DATAGRAM_SIZE)],
    udp: true,
  },
  {
    id: "udp1G",
    label: "UDP -b 1G -l 1460",
    flags: ["-u", "-b", "1G", "-l", String(DATAGRAM_SIZE)],
    udp: true,
  },
];

/** The cross pairs run the TCP 1 stream case. */
const CROSS: { id: string; label: string; client: Impl; server: Impl }[] = [
  {
    id: "crossOursClient",
    label: "TCP 1 stream, our client -> iperf3 server",
    client: "ours",
    server: "iperf3",
  },
  {
    id: "crossOursServer",
    label: "TCP 1 stream, iperf3 client -> our server",
    client: "iperf3",
    server: "ours",
  },
];

interface Usage {
  wallSeconds: number;
  userSeconds: number;
  systemSeconds: number;
  cpuSeconds: number;
  maxRssKiB: number;
  killed: boolean;
}

interface RunFigures {
  case: string;
  round: number;
  client: Impl;
  server: Impl;
  bytes: number;
  bitsPerSecond: number;
  seconds: number;
  packets: number | null;
  lostPackets: number | null;
  lostPercent: number | null;
  datagramsPerSecond: number | null;
  clientUsage: Usage;
  serverUsage: Usage;
  cpuPerGb: { client: number; server: number; total: number };
  /** The client's own `-J` cpu_utilization_percent, for reference. */
  reportedCpuPercent: Record<string, number>;
}

interface FailedRun {
  case: string;
  round: number;
  client: Impl;
  server: Impl;
  error: string;
}

interface Sum {
  bytes?: number;
  "bits_per_second"?: number;
  seconds?: number;
  packets?: number;
  "lost_packets"?: number;
  "lost_percent"?: number;
}

interface Doc {
  error?: string;
  end?: {
    "sum_sent"?: Sum;
    "sum_received"?: Sum;
    "cpu_utilization_percent"?: Record<string, number>;
  };
}

interface Timed {
  child: Deno.ChildProcess;
  output: Promise<Deno.CommandOutput>;
  usageFile: string;
}

interface RssFigures {
  tests: number;
  clientsOk: number;
  clientErrors: string[];
  idleRssKiB: number;
  peakRssKiB: number;
  peakHwmKiB: number;
  samples: number;
  seconds: number;
  /** Most TCP connections (control and data) the server held at one sample. */
  peakConnections: number;
}

const decoder = new TextDecoder();

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      rounds: { type: "string", default: "3" },
      time: { type: "string", default: "3" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    print("Usage: deno task bench [--rounds N] [--time SECS]");
    return;
  }
  const rounds = Number(values.rounds);
  const seconds = Number(values.time);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 100) {
    throw new RangeError(`Cannot run: invalid --rounds "${values.rounds}"`);
  }
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 60) {
    throw new RangeError(`Cannot run: invalid --time "${values.time}"`);
  }
  if (rounds < 3) print(`warning: ${rounds} round(s); the issue asks for 3+`);

  const started = performance.now();
  const machine = await machineInfo();
  print(
    `${machine.cpuModel}, ${machine.cores} cores, Linux ${machine.kernel}, ` +
      `deno ${machine.deno}, ${machine.iperf3}`,
  );
  print(`${rounds} rounds of ${seconds} s tests on 127.0.0.1\n`);

  const tmp = await Deno.makeTempDir({ prefix: "iperf-ts-bench-" });
  const runs: RunFigures[] = [];
  const failures: FailedRun[] = [];
  let rss: RssFigures;
  try {
    // Warm-up: Deno's module cache, so round 1 is not charged for it.
    await runPair(tmp, CASES[0] as CaseDef, "ours", "ours", 1, 0)
      .catch(() => undefined);

    for (let round = 1; round <= rounds; round++) {
      const order: Impl[] = round % 2 === 1
        ? ["iperf3", "ours"]
        : ["ours", "iperf3"];
      const jobs: [CaseDef, Impl, Impl, string][] = [];
      for (const c of CASES) {
        for (const impl of order) jobs.push([c, impl, impl, c.id]);
      }
      const cross = round % 2 === 1 ? CROSS : [...CROSS].reverse();
      for (const x of cross) {
        jobs.push([CASES[0] as CaseDef, x.client, x.server, x.id]);
      }
      for (const [c, client, server, id] of jobs) {
        let figures: RunFigures | undefined;
        let error: unknown;
        // One retry: a single failed run should not void a whole round.
        for (let attempt = 0; attempt < 2 && figures === undefined; attempt++) {
          try {
            figures = await runPair(tmp, c, client, server, seconds, round);
            figures.case = id;
          } catch (e) {
            error = e;
          }
        }
        if (figures === undefined) {
          const message = error instanceof Error ? error.message : `${error}`;
          failures.push({ case: id, round, client, server, error: message });
          print(`round ${round} ${id} ${client}->${server}: FAILED ${message}`);
          continue;
        }
        runs.push(figures);
        print(progressLine(figures));
      }
    }
    print(`\nServer RSS, ${RSS_TESTS} concurrent tests of ours:`);
    rss = await serverRss(seconds);
    print(
      `  ${rss.clientsOk}/${rss.tests} clients ok, idle ${
        mb(rss.idleRssKiB)
      } MB, peak VmRSS ${mb(rss.peakRssKiB)} MB, VmHWM ${
        mb(rss.peakHwmKiB)
      } MB, up to ${rss.peakConnections} TCP connections at once`,
    );
    for (const e of rss.clientErrors) print(`  client error: ${e}`);
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => undefined);
  }

  print("\nDeno's own socket ceiling (scripts/bare_loop.ts, no protocol):");
  const bare = await bareLoops(seconds);
  print(
    `  TCP ${bare.tcpGbit?.toFixed(2) ?? "n/a"} Gbit/s, UDP ${
      bare.udpReceived?.toFixed(0) ?? "n/a"
    } datagrams/s received`,
  );
  const { table, rows } = summarize(runs, rss, bare);
  print("");
  print(table);

  const date = localDate(new Date());
  await Deno.mkdir(BENCH_DIR, { recursive: true });
  const path = `${BENCH_DIR}bench-${date}-${machine.hostname}.json`;
  const totalSeconds = (performance.now() - started) / 1000;
  await Deno.writeTextFile(
    path,
    JSON.stringify(
      {
        date,
        startedAt: new Date(Date.now() - totalSeconds * 1000).toISOString(),
        durationSeconds: round3(totalSeconds),
        machine,
        settings: {
          rounds,
          testSeconds: seconds,
          host: "127.0.0.1",
          datagramSize: DATAGRAM_SIZE,
          cpu:
            "GNU time %U+%S of each whole process / (end.sum_received.bytes / 1e9)",
          rss: `VmHWM and VmRSS of our server polled every ${POLL_MS} ms`,
        },
        summary: rows,
        serverRss: rss,
        bareLoops: bare,
        runs,
        failures,
      },
      null,
      2,
    ) + "\n",
  );
  print(`\nwrote ${path} (${totalSeconds.toFixed(0)} s in all)`);
  if (failures.length > 0) Deno.exitCode = 1;
}

/**
 * One test: a one-off server and a client, each its own process under GNU
 * `time`; both are reaped (killed first if they overrun) before it returns.
 */
async function runPair(
  tmp: string,
  c: CaseDef,
  clientImpl: Impl,
  serverImpl: Impl,
  seconds: number,
  round: number,
): Promise<RunFigures> {
  const port = freePort();
  const server = await spawnTimed(tmp, [
    ...command(serverImpl),
    "-s",
    "-1",
    "-B",
    "127.0.0.1",
    "-p",
    String(port),
  ], "null");
  try {
    await waitListening(port, server);
    let doc: Doc | undefined;
    let clientUsage: Usage | undefined;
    for (let attempt = 1; doc === undefined; attempt++) {
      const client = await spawnTimed(tmp, [
        ...command(clientImpl),
        "-c",
        "127.0.0.1",
        "-p",
        String(port),
        "-t",
        String(seconds),
        "-J",
        ...c.flags,
      ], "piped");
      const { output, timedOut } = await finish(
        client,
        seconds * 1000 + CLIENT_GRACE_MS,
      );
      const usage = await readUsage(client.usageFile);
      const text = decoder.decode(output.stdout);
      const errText = decoder.decode(output.stderr);
      if (timedOut) throw new Error(`client timed out: ${snippet(errText)}`);
      if (output.success) {
        doc = JSON.parse(text) as Doc;
        clientUsage = usage;
      } else if (
        attempt < CONNECT_ATTEMPTS && /refused/i.test(text + errText)
      ) {
        await sleep(200);
      } else {
        throw new Error(
          `client exited with ${output.code}: ${snippet(text + errText)}`,
        );
      }
    }
    const ended = await finish(server, SERVER_GRACE_MS);
    const serverUsage = await readUsage(server.usageFile);
    serverUsage.killed ||= ended.timedOut;
    return figuresOf(doc, c, clientImpl, serverImpl, round, {
      client: clientUsage as Usage,
      server: serverUsage,
    });
  } finally {
    // Normally a no-op: the server has ended its one test and been reaped.
    await finish(server, 0);
  }
}

function figuresOf(
  doc: Doc,
  c: CaseDef,
  client: Impl,
  server: Impl,
  round: number,
  usage: { client: Usage; server: Usage },
): RunFigures {
  const received = doc.end?.["sum_received"];
  if (received === undefined) {
    throw new Error(`no end.sum_received in the -J document: ${doc.error}`);
  }
  const bytes = received.bytes ?? 0;
  const secs = received.seconds ?? 0;
  const gb = bytes / 1e9;
  const packets = c.udp ? received.packets ?? null : null;
  const lost = c.udp ? received["lost_packets"] ?? null : null;
  let datagramsPerSecond: number | null = null;
  if (c.udp && secs > 0) {
    datagramsPerSecond = packets !== null && lost !== null
      ? (packets - lost) / secs
      : bytes / DATAGRAM_SIZE / secs;
  }
  return {
    case: c.id,
    round,
    client,
    server,
    bytes,
    bitsPerSecond: received["bits_per_second"] ?? 0,
    seconds: secs,
    packets,
    lostPackets: lost,
    lostPercent: c.udp ? received["lost_percent"] ?? null : null,
    datagramsPerSecond,
    clientUsage: usage.client,
    serverUsage: usage.server,
    cpuPerGb: {
      client: usage.client.cpuSeconds / gb,
      server: usage.server.cpuSeconds / gb,
      total: (usage.client.cpuSeconds + usage.server.cpuSeconds) / gb,
    },
    reportedCpuPercent: doc.end?.["cpu_utilization_percent"] ?? {},
  };
}

/**
 * Our server with `--max-tests 8` and 8 of our clients at once (TCP, -R,
 * -P 2, UDP -b 100M, twice each); the server's memory polled every 100 ms.
 */
async function serverRss(seconds: number): Promise<RssFigures> {
  const port = freePort();
  const child = new Deno.Command(OURS[0] as string, {
    args: [
      ...OURS.slice(1),
      "-s",
      "-B",
      "127.0.0.1",
      "-p",
      String(port),
      "--max-tests",
      String(RSS_TESTS),
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const server = { child, output: child.output() };
  const figures: RssFigures = {
    tests: RSS_TESTS,
    clientsOk: 0,
    clientErrors: [],
    idleRssKiB: 0,
    peakRssKiB: 0,
    peakHwmKiB: 0,
    samples: 0,
    seconds: 0,
    peakConnections: 0,
  };
  const controller = new AbortController();
  const sample = async () => {
    try {
      const status = await Deno.readTextFile(`/proc/${child.pid}/status`);
      const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
      const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
      figures.peakRssKiB = Math.max(figures.peakRssKiB, rss);
      figures.peakHwmKiB = Math.max(figures.peakHwmKiB, hwm);
      figures.samples++;
      figures.peakConnections = Math.max(
        figures.peakConnections,
        await connections(port),
      );
      return rss;
    } catch {
      return 0; // Gone already.
    }
  };
  const poll = async () => {
    while (!controller.signal.aborted) {
      await sample();
      await sleep(POLL_MS);
    }
  };
  let poller: Promise<void> | undefined;
  try {
    await waitListening(port, server);
    figures.idleRssKiB = await sample();
    poller = poll();
    const mixes = [[], ["-R"], ["-P", "2"], ["-u", "-b", "100M"]];
    const clients = Array.from(
      { length: RSS_TESTS },
      (_, i) => rssClient(port, seconds, mixes[i % mixes.length] ?? []),
    );
    const started = performance.now();
    const results = await Promise.allSettled(clients);
    figures.seconds = round3((performance.now() - started) / 1000);
    for (const r of results) {
      if (r.status === "fulfilled") figures.clientsOk++;
      else {
        figures.clientErrors.push(
          r.reason instanceof Error ? r.reason.message : `${r.reason}`,
        );
      }
    }
    await sample();
  } finally {
    controller.abort();
    await poller;
    try {
      child.kill("SIGTERM");
    } catch {
      // Exited already.
    }
    await finish(server, 5_000);
  }
  return figures;
}

async function rssClient(
  port: number,
  seconds: number,
  flags: string[],
): Promise<void> {
  for (let attempt = 1;; attempt++) {
    const child = new Deno.Command(OURS[0] as string, {
      args: [
        ...OURS.slice(1),
        "-c",
        "127.0.0.1",
        "-p",
        String(port),
        "-t",
        String(seconds),
        "-J",
        ...flags,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const { output, timedOut } = await finish(
      { child, output: child.output() },
      seconds * 1000 + CLIENT_GRACE_MS,
    );
    const text = decoder.decode(output.stdout) + decoder.decode(output.stderr);
    if (timedOut) throw new Error(`client ${flags.join(" ")} timed out`);
    if (output.success) return;
    if (attempt >= CONNECT_ATTEMPTS || !/refused/i.test(text)) {
      throw new Error(`client ${flags.join(" ")}: ${snippet(text)}`);
    }
    await sleep(200);
  }
}

function command(impl: Impl): string[] {
  return impl === "ours" ? OURS : IPERF3;
}

async function spawnTimed(
  tmp: string,
  argv: string[],
  stdout: "piped" | "null",
): Promise<Timed> {
  const usageFile = await Deno.makeTempFile({ dir: tmp, suffix: ".time" });
  const child = new Deno.Command(TIME_BIN, {
    args: ["-f", "%e %U %S %M", "-o", usageFile, "--", ...argv],
    stdin: "null",
    stdout,
    stderr: "piped",
  }).spawn();
  return { child, output: child.output(), usageFile };
}

/**
 * Waits up to `ms` for a process to end; past that, kills it and its
 * descendants and waits for the reap. Never leaves a process behind.
 */
async function finish(
  p: { child: Deno.ChildProcess; output: Promise<Deno.CommandOutput> },
  ms: number,
): Promise<{ output: Deno.CommandOutput; timedOut: boolean }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
  });
  try {
    const first = await Promise.race([p.output, expired]);
    if (first !== "timeout") return { output: first, timedOut: false };
  } finally {
    clearTimeout(timer);
  }
  // Children first, so GNU time still reports the killed child's usage.
  for (const pid of await descendants(p.child.pid)) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // Exited meanwhile.
    }
  }
  const reaped = await Promise.race([p.output, sleep(1000)]);
  if (reaped !== undefined) return { output: reaped, timedOut: true };
  try {
    p.child.kill("SIGKILL");
  } catch {
    // Exited meanwhile.
  }
  return { output: await p.output, timedOut: true };
}

/** Every live descendant of `pid`, deepest last, from /proc/<pid>/stat. */
async function descendants(pid: number): Promise<number[]> {
  const parents = new Map<number, number[]>();
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      // The fields after the parenthesised command name: state, ppid, ...
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = parents.get(ppid) ?? [];
      list.push(Number(entry.name));
      parents.set(ppid, list);
    } catch {
      // Exited while we looked.
    }
  }
  const found: number[] = [];
  const queue = [pid];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const child of parents.get(next) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** Waits until something listens on TCP `port`, or fails if the server exits. */
async function waitListening(
  port: number,
  server: { output: Promise<Deno.CommandOutput> },
): Promise<void> {
  const deadline = performance.now() + SERVER_GRACE_MS;
  while (performance.now() < deadline) {
    if (await listening(port)) return;
    const exited = await Promise.race([server.output, sleep(20)]);
    if (exited !== undefined) {
      throw new Error(
        `server exited with ${exited.code} before listening: ${
          snippet(decoder.decode(exited.stderr))
        }`,
      );
    }
  }
  throw new Error(`server did not listen on port ${port} within 10 s`);
}

async function listening(port: number): Promise<boolean> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const text = await Deno.readTextFile(table).catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      // Field 1 is local address:port, field 3 the state; 0A is LISTEN.
      if (fields[1]?.endsWith(hex) && fields[3] === "0A") return true;
    }
  }
  return false;
}

/** Established TCP connections whose local port is `port`. */
async function connections(port: number): Promise<number> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  let count = 0;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const text = await Deno.readTextFile(table).catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      // State 01 is ESTABLISHED.
      if (fields[1]?.endsWith(hex) && fields[3] === "01") count++;
    }
  }
  return count;
}

async function readUsage(file: string): Promise<Usage> {
  const text = await Deno.readTextFile(file);
  const lines = text.trim().split("\n");
  const [wall, user, system, rss] = (lines[lines.length - 1] ?? "").split(" ")
    .map(Number);
  if (user === undefined || system === undefined || !Number.isFinite(user)) {
    throw new Error(`unreadable GNU time output: ${snippet(text)}`);
  }
  return {
    wallSeconds: wall ?? 0,
    userSeconds: user,
    systemSeconds: system,
    cpuSeconds: round3(user + system),
    maxRssKiB: rss ?? 0,
    killed: /terminated by signal/.test(text),
  };
}

function freePort(): number {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return listener.addr.port;
}

function sleep(ms: number): Promise<undefined> {
  return new Promise((resolve) => setTimeout(() => resolve(undefined), ms));
}

interface SummaryRow {
  case: string;
  unit: string;
  iperf3: number | null;
  ours: number | null;
  ratio: number | null;
  target: string;
  met: boolean | null;
}

/** Deno's bare loops from this run: what its socket layer moves with no protocol at all. */
interface BareFigures {
  tcpGbit: number | null;
  udpReceived: number | null;
}

/** Runs scripts/bare_loop.ts (each side its own process) and reads its two lines. */
async function bareLoops(seconds: number): Promise<BareFigures> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--unstable-net",
      new URL("./bare_loop.ts", import.meta.url).pathname,
    ],
    env: { BARE_SECONDS: String(seconds) },
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const tcp = /TCP loop[^:]*: ([\d.]+) Gbit\/s/.exec(text)?.[1];
  const udp = /received (\d+)\/s/.exec(text)?.[1];
  return {
    tcpGbit: tcp === undefined ? null : Number(tcp),
    udpReceived: udp === undefined ? null : Number(udp),
  };
}

function summarize(
  runs: RunFigures[],
  rss: RssFigures,
  bare: BareFigures,
): { table: string; rows: SummaryRow[] } {
  const rows: SummaryRow[] = [];
  const pick = (
    id: string,
    client: Impl,
    server: Impl,
    f: (r: RunFigures) => number | null,
  ) =>
    median(
      runs.filter((r) =>
        r.case === id && r.client === client && r.server === server
      ).map(f),
    );
  const add = (
    label: string,
    unit: string,
    iperf3: number | null,
    ours: number | null,
    target?: { op: ">=" | "<="; ratio: number },
  ) => {
    const ratio = iperf3 !== null && ours !== null && iperf3 !== 0
      ? ours / iperf3
      : null;
    let met: boolean | null = null;
    if (target !== undefined && ratio !== null) {
      met = target.op === ">=" ? ratio >= target.ratio : ratio <= target.ratio;
    }
    rows.push({
      case: label,
      unit,
      iperf3,
      ours,
      ratio,
      target: target === undefined
        ? "-"
        : `ratio ${target.op} ${target.ratio.toFixed(2)}`,
      met,
    });
  };
  const gbit = (r: RunFigures) => r.bitsPerSecond / 1e9;
  const targets: Record<string, { op: ">=" | "<="; ratio: number }> = {
    tcp1: { op: ">=", ratio: 1 },
    tcpP4: { op: ">=", ratio: 1 },
    udpMax: { op: ">=", ratio: 0.9 },
  };
  for (const c of CASES) {
    const unit = c.id === "udpMax" ? "Gbit/s received" : "Gbit/s";
    add(
      c.label,
      unit,
      pick(c.id, "iperf3", "iperf3", gbit),
      pick(c.id, "ours", "ours", gbit),
      targets[c.id],
    );
    if (c.id === "udpMax") {
      const dps = (r: RunFigures) => r.datagramsPerSecond;
      add(
        c.label,
        "datagrams/s received",
        pick(c.id, "iperf3", "iperf3", dps),
        pick(c.id, "ours", "ours", dps),
      );
    }
    if (c.id === "udp1G") {
      const loss = (r: RunFigures) => r.lostPercent;
      add(
        c.label,
        "loss %",
        pick(c.id, "iperf3", "iperf3", loss),
        pick(c.id, "ours", "ours", loss),
      );
    }
  }
  const iperf3Tcp1 = pick("tcp1", "iperf3", "iperf3", gbit);
  for (const x of CROSS) {
    add(x.label, "Gbit/s", iperf3Tcp1, pick(x.id, x.client, x.server, gbit));
  }
  // The ceiling: Deno's bare loops against iperf3's figures of the same run.
  add("Deno bare TCP loop (no protocol)", "Gbit/s", iperf3Tcp1, bare.tcpGbit);
  add(
    "Deno bare UDP loop (no protocol), 1460 bytes",
    "datagrams/s received",
    pick("udpMax", "iperf3", "iperf3", (r) => r.datagramsPerSecond),
    bare.udpReceived,
  );
  for (const c of CASES) {
    const cpu = (r: RunFigures) => r.cpuPerGb.total;
    add(
      c.label,
      "CPU s/GB (client+server)",
      pick(c.id, "iperf3", "iperf3", cpu),
      pick(c.id, "ours", "ours", cpu),
      { op: "<=", ratio: 1.2 },
    );
  }
  for (const side of ["client", "server"] as const) {
    const cpu = (r: RunFigures) => r.cpuPerGb[side];
    add(
      "TCP 1 stream",
      `CPU s/GB (${side} only)`,
      pick("tcp1", "iperf3", "iperf3", cpu),
      pick("tcp1", "ours", "ours", cpu),
    );
  }
  const serverMb = (r: RunFigures) => r.serverUsage.maxRssKiB / 1024;
  add(
    "TCP 1 stream, one test",
    "server peak RSS MB",
    pick("tcp1", "iperf3", "iperf3", serverMb),
    pick("tcp1", "ours", "ours", serverMb),
  );
  const peakMb = rss.peakHwmKiB / 1024;
  rows.push({
    case: `${RSS_TESTS} concurrent tests, one server`,
    unit: "server peak RSS MB",
    iperf3: null,
    ours: peakMb,
    ratio: null,
    target: `< ${RSS_LIMIT_MB} MB`,
    met: rss.clientsOk === rss.tests && peakMb > 0 && peakMb < RSS_LIMIT_MB,
  });

  const table = new Table({
    head: ["case", "iperf3", "ours", "ratio (ours/iperf3)", "target", "met?"],
    style: { head: [], border: [] },
  });
  for (const r of rows) {
    table.push([
      `${r.case}, ${r.unit}`,
      format(r.iperf3, r.unit),
      format(r.ours, r.unit),
      r.ratio === null ? "-" : r.ratio.toFixed(2),
      r.target,
      r.met === null ? "-" : r.met ? "yes" : "NO",
    ]);
  }
  return { table: table.toString(), rows };
}

function format(value: number | null, unit: string): string {
  if (value === null) return "n/a";
  if (unit.startsWith("datagrams")) return Math.round(value).toLocaleString();
  if (unit.startsWith("CPU")) return value.toFixed(3);
  if (unit.includes("MB")) return value.toFixed(1);
  return value.toFixed(2);
}

function progressLine(r: RunFigures): string {
  const rate = `${(r.bitsPerSecond / 1e9).toFixed(2)} Gbit/s`;
  const udp = r.lostPercent === null
    ? ""
    : `, ${Math.round(r.datagramsPerSecond ?? 0)} dgram/s, ${
      r.lostPercent.toFixed(2)
    }% lost`;
  return `round ${r.round} ${r.case.padEnd(15)} ${
    `${r.client}->${r.server}`.padEnd(13)
  } ${rate.padStart(13)}${udp}; CPU s/GB client ${
    r.cpuPerGb.client.toFixed(3)
  } server ${r.cpuPerGb.server.toFixed(3)}; server RSS ${
    mb(r.serverUsage.maxRssKiB)
  } MB`;
}

function median(values: (number | null)[]): number | null {
  const sorted = values.filter((v): v is number =>
    v !== null && Number.isFinite(v)
  ).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? sorted[mid] as number
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

async function machineInfo() {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const version = await new Deno.Command("iperf3", {
    args: ["--version"],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  return {
    hostname: Deno.hostname(),
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ??
      "unknown",
    cores: cpuinfo.match(/^processor\s*:/gm)?.length ??
      navigator.hardwareConcurrency,
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    iperf3: decoder.decode(version.stdout).split("\n")[0]?.trim() ?? "unknown",
  };
}

function localDate(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function mb(kib: number): string {
  return (kib / 1024).toFixed(1);
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function snippet(text: string): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  return oneLine.length > 300 ? `${oneLine.slice(0, 300)}...` : oneLine;
}

if (import.meta.main) {
  await main();
}
