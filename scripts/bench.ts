/**
 * Side-by-side benchmark against iperf3 (issue #6; a script, not a test).
 *
 * Four implementations, each side its own process on 127.0.0.1:
 * - iperf3 from PATH (Debian's 3.12);
 * - iperf3 3.21+ built from source, named by `--iperf3-new PATH` or the env
 *   var `IPERF3_NEW` (when the binary sits in `<prefix>/bin` and
 *   `<prefix>/lib` exists, it runs with `LD_LIBRARY_PATH=<prefix>/lib`);
 *   without it that column reads "n/a (set IPERF3_NEW)";
 * - ours with its default data plane (the threads);
 * - ours with `--data-threads 0` (the in-process loops), given to the client
 *   and the server alike.
 *
 * The cases (ids for `--cases`): `tcp1` TCP 1 stream; `tcpP4` TCP -P 4;
 * `tcpP8M96` TCP -P 8 -M 96 (how k8s-netperf runs it); `tcpR` TCP -R;
 * `tcpBidir` TCP --bidir (sum of both directions); `udpMax` UDP
 * `-b 0 -l 1460` (received Gbit/s and datagrams/s); `udpGsro` the same with
 * `--gsro` (an implementation that refuses the flag is recorded as
 * "unsupported"); `udp1G` UDP `-b 1G -l 1460` (loss %); `tcpP32` server peak
 * RSS of one `-P 32` test (ours and the reference iperf3 only); `rss8` one
 * server of ours with `--max-tests 8` and 8 concurrent `-P 4` clients, its
 * VmHWM polled every 100 ms (iperf3 serves one test at a time, so no
 * iperf3 figure); `cross` our client with the reference iperf3's server and
 * the other way round (TCP 1 stream); `bare` Deno's bare socket loops
 * (scripts/bare_loop.ts), the ceiling with no protocol at all.
 *
 * Rounds alternate the order of the implementations. Every process runs
 * under GNU `time`, which reaps it and reports its CPU time and peak RSS, so
 * CPU seconds per GB received (client + server) cover whole processes,
 * start-up included. Each figure is the median over the rounds.
 *
 * Ratios and targets are ours / iperf3 3.21+ of the same run; only when
 * 3.21+ is absent do they fall back to 3.12, and the table header says so.
 * Targets: every throughput >= 1.00; CPU per GB <= 1.10; UDP -b 1G loss no
 * more than 0.5 points above iperf3's; server RSS for -P 32 and for 8
 * concurrent -P 4 tests < 250 MB.
 *
 * It prints a table and writes the same figures, the machine, both iperf3
 * paths and versions and every round's raw figures to
 * `bench/bench-<YYYY-MM-DD>-<hostname>.json`.
 *
 * Usage:
 *   IPERF3_NEW=/path/to/iperf3 deno task bench
 *   deno task bench [--rounds N] [--time SECS] [--cases a,b,c]
 *                   [--iperf3-new PATH]      (defaults 3, 3, all cases)
 *
 * It runs with -A because Deno reads /proc only with all permissions.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { basename, dirname, resolve } from "node:path";
import Table from "cli-table3";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const BENCH_DIR = new URL("../bench/", import.meta.url).pathname;
const OURS = [Deno.execPath(), "run", "-A", MAIN];
/** GNU time: waits for its child and writes "%e %U %S %M" when it ends. */
const TIME_BIN = "/usr/bin/time";
const DATAGRAM_SIZE = 1460;
const RSS_TESTS = 8;
const RSS_LIMIT_MB = 250;
const CPU_LIMIT_RATIO = 1.1;
const LOSS_LIMIT_POINTS = 0.5;
const POLL_MS = 100;
/** How long a server may take to listen, or to exit after its one test. */
const SERVER_GRACE_MS = 10_000;
/** A client may overrun its test length by this much before it is killed. */
const CLIENT_GRACE_MS = 20_000;
const CONNECT_ATTEMPTS = 10;
/** What a client prints when it does not know a flag of the case. */
const UNSUPPORTED =
  /unrecognized option|unknown option|not supported|not implemented yet/i;

// deno-lint-ignore no-console
const print = console.log;

type Impl = "iperf3" | "iperf3New" | "ours" | "oursLoops";
type Ours = "ours" | "oursLoops";
type Reference = "iperf3" | "iperf3New";
const IMPLS: readonly Impl[] = ["iperf3", "iperf3New", "ours", "oursLoops"];
const OUR_IMPLS: readonly Ours[] = ["ours", "oursLoops"];

/** What a summary row reports of a case; also the order of the table. */
type Metric = "gbit" | "gbitInfo" | "datagrams" | "loss" | "cpu" | "serverRss";

interface CaseDef {
  id: string;
  label: string;
  flags: string[];
  udp: boolean;
  /** Run only the reference iperf3 (3.21+, else 3.12) and ours. */
  referenceOnly?: boolean;
  metrics: Metric[];
}

const UDP = ["-u", "-l", String(DATAGRAM_SIZE)];
const CASES: CaseDef[] = [
  {
    id: "tcp1",
    label: "TCP 1 stream",
    flags: [],
    udp: false,
    metrics: ["gbit", "cpu"],
  },
  {
    id: "tcpP4",
    label: "TCP -P 4",
    flags: ["-P", "4"],
    udp: false,
    metrics: ["gbit", "cpu"],
  },
  {
    id: "tcpP8M96",
    label: "TCP -P 8 -M 96",
    flags: ["-P", "8", "-M", "96"],
    udp: false,
    metrics: ["gbit", "cpu"],
  },
  {
    id: "tcpR",
    label: "TCP -R",
    flags: ["-R"],
    udp: false,
    metrics: ["gbit", "cpu"],
  },
  {
    id: "tcpBidir",
    label: "TCP --bidir (both directions)",
    flags: ["--bidir"],
    udp: false,
    metrics: ["gbit", "cpu"],
  },
  {
    id: "udpMax",
    label: "UDP -b 0 -l 1460",
    flags: [...UDP, "-b", "0"],
    udp: true,
    metrics: ["gbit", "datagrams", "cpu"],
  },
  {
    id: "udpGsro",
    label: "UDP -b 0 -l 1460 --gsro",
    flags: [...UDP, "-b", "0", "--gsro"],
    udp: true,
    metrics: ["gbit", "datagrams", "cpu"],
  },
  {
    id: "udp1G",
    label: "UDP -b 1G -l 1460",
    flags: [...UDP, "-b", "1G"],
    udp: true,
    metrics: ["gbitInfo", "loss", "cpu"],
  },
  {
    id: "tcpP32",
    label: "TCP -P 32, one test",
    flags: ["-P", "32"],
    udp: false,
    referenceOnly: true,
    metrics: ["serverRss"],
  },
];
/** Case ids that are not one-server-one-client pairs of one implementation. */
const EXTRA_CASES = ["rss8", "cross", "bare"] as const;

/** The cross pairs run the TCP 1 stream case with ours' default plane. */
const CROSS: { id: string; label: string; client: "ours" | "ref" }[] = [
  {
    id: "crossOursClient",
    label: "TCP 1 stream, our client -> iperf3 server",
    client: "ours",
  },
  {
    id: "crossOursServer",
    label: "TCP 1 stream, iperf3 client -> our server",
    client: "ref",
  },
];

/** How to start one implementation: argv before the role's flags, extra env. */
interface Launcher {
  argv: string[];
  env: Record<string, string>;
}

/** An iperf3 binary as found on this machine. */
interface Iperf3Info {
  path: string;
  version: string;
  /** The first line of `--version`. */
  versionLine: string;
  libraryPath: string | null;
}

interface Context {
  tmp: string;
  seconds: number;
  launchers: Partial<Record<Impl, Launcher>>;
  reference: Reference;
}

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

/** A run that failed (`error`) or whose client refused a flag (`unsupported`). */
interface OtherRun {
  case: string;
  round: number;
  client: Impl;
  server: Impl;
  message: string;
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
    "sum_received_bidir_reverse"?: Sum;
    "cpu_utilization_percent"?: Record<string, number>;
  };
}

interface Timed {
  child: Deno.ChildProcess;
  output: Promise<Deno.CommandOutput>;
  usageFile: string;
}

interface RssFigures {
  impl: Ours;
  tests: number;
  clientFlags: string[];
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

/** Deno's bare loops from this run: what its socket layer moves with no protocol at all. */
interface BareFigures {
  tcpGbit: number | null;
  udpReceived: number | null;
}

class UnsupportedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnsupportedError";
  }
}

const decoder = new TextDecoder();

async function main(): Promise<void> {
  const allIds = [...CASES.map((c) => c.id), ...EXTRA_CASES];
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      rounds: { type: "string", default: "3" },
      time: { type: "string", default: "3" },
      cases: { type: "string" },
      "iperf3-new": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    print(
      "Usage: [IPERF3_NEW=PATH] deno task bench [--rounds N] [--time SECS]\n" +
        "         [--cases a,b,c] [--iperf3-new PATH]\n" +
        `Cases: ${allIds.join(", ")}`,
    );
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
  const selected = new Set(
    values.cases === undefined
      ? allIds
      : values.cases.split(",").map((s) => s.trim()).filter((s) => s !== ""),
  );
  for (const id of selected) {
    if (!allIds.includes(id)) {
      throw new RangeError(
        `Cannot run: unknown case "${id}": known cases are ${
          allIds.join(", ")
        }`,
      );
    }
  }
  if (rounds < 3) print(`warning: ${rounds} round(s); the issue asks for 3+`);

  const started = performance.now();
  const old = await iperf3Info("iperf3", false);
  const newPath = values["iperf3-new"] ?? Deno.env.get("IPERF3_NEW");
  const fresh = newPath === undefined || newPath === ""
    ? null
    : await iperf3Info(resolve(newPath), true);
  if (fresh !== null && !atLeast321(fresh.version)) {
    print(`warning: ${fresh.path} is iperf3 ${fresh.version}, not 3.21+`);
  }
  const machine = await machineInfo(old, fresh);
  const reference: Reference = fresh === null ? "iperf3" : "iperf3New";
  const labels: Record<Impl, string> = {
    iperf3: `iperf3 ${old.version}`,
    iperf3New: fresh === null ? "iperf3 3.21+" : `iperf3 ${fresh.version}`,
    ours: "ours (threads)",
    oursLoops: "ours (--data-threads 0)",
  };
  print(
    `${machine.cpuModel}, ${machine.cores} cores, Linux ${machine.kernel}, ` +
      `deno ${machine.deno}`,
  );
  print(`${labels.iperf3}: ${old.path}`);
  print(
    fresh === null
      ? "iperf3 3.21+: n/a (set IPERF3_NEW); ratios use 3.12"
      : `${labels.iperf3New}: ${fresh.path}${
        fresh.libraryPath === null
          ? ""
          : ` (LD_LIBRARY_PATH=${fresh.libraryPath})`
      }`,
  );
  print(
    `${rounds} rounds of ${seconds} s tests on 127.0.0.1; cases ${
      [...selected].join(", ")
    }\n`,
  );

  const tmp = await Deno.makeTempDir({ prefix: "iperf-ts-bench-" });
  const launchers: Partial<Record<Impl, Launcher>> = {
    iperf3: { argv: [old.path], env: {} },
    ours: { argv: OURS, env: {} },
    oursLoops: { argv: [...OURS, "--data-threads", "0"], env: {} },
  };
  if (fresh !== null) {
    launchers.iperf3New = {
      argv: [fresh.path],
      env: fresh.libraryPath === null
        ? {}
        : { "LD_LIBRARY_PATH": libraryPathEnv(fresh.libraryPath) },
    };
  }
  const ctx: Context = { tmp, seconds, launchers, reference };
  const runs: RunFigures[] = [];
  const failures: OtherRun[] = [];
  const unsupported: OtherRun[] = [];
  const rss: RssFigures[] = [];
  let bare: BareFigures | null = null;
  try {
    // Warm-up: Deno's module cache, so round 1 is not charged for it.
    await runPair(
      { ...ctx, seconds: 1 },
      CASES[0] as CaseDef,
      "ours",
      "ours",
      0,
    ).catch(() => undefined);

    for (let round = 1; round <= rounds; round++) {
      const order = round % 2 === 1 ? [...IMPLS] : [...IMPLS].reverse();
      const jobs: [CaseDef, Impl, Impl, string][] = [];
      for (const c of CASES) {
        if (!selected.has(c.id)) continue;
        const allowed: Impl[] = c.referenceOnly
          ? [reference, ...OUR_IMPLS]
          : [...IMPLS];
        for (const impl of order) {
          if (allowed.includes(impl) && launchers[impl] !== undefined) {
            jobs.push([c, impl, impl, c.id]);
          }
        }
      }
      if (selected.has("cross")) {
        const cross = round % 2 === 1 ? CROSS : [...CROSS].reverse();
        for (const x of cross) {
          const [client, server]: [Impl, Impl] = x.client === "ours"
            ? ["ours", reference]
            : [reference, "ours"];
          jobs.push([CASES[0] as CaseDef, client, server, x.id]);
        }
      }
      for (const [c, client, server, id] of jobs) {
        let figures: RunFigures | undefined;
        let error: unknown;
        // One retry: a single failed run should not void a whole round.
        for (let attempt = 0; attempt < 2 && figures === undefined; attempt++) {
          try {
            figures = await runPair(ctx, c, client, server, round);
            figures.case = id;
          } catch (e) {
            error = e;
            if (e instanceof UnsupportedError) break;
          }
        }
        const pair = `${short(client)}->${short(server)}`;
        if (figures !== undefined) {
          runs.push(figures);
          print(progressLine(figures));
          continue;
        }
        const message = error instanceof Error ? error.message : `${error}`;
        const record = { case: id, round, client, server, message };
        if (error instanceof UnsupportedError) {
          unsupported.push(record);
          print(`round ${round} ${id.padEnd(15)} ${pair}: unsupported`);
        } else {
          failures.push(record);
          print(`round ${round} ${id} ${pair}: FAILED ${message}`);
        }
      }
    }
    if (selected.has("rss8")) {
      print(
        `\nServer RSS, ${RSS_TESTS} concurrent -P 4 tests, one server of ours:`,
      );
      for (const impl of OUR_IMPLS) {
        let figures: RssFigures;
        try {
          figures = await serverRss(ctx, impl);
        } catch (e) {
          const message = e instanceof Error ? e.message : `${e}`;
          failures.push({
            case: "rss8",
            round: 0,
            client: impl,
            server: impl,
            message,
          });
          print(`  ${labels[impl]}: FAILED ${message}`);
          continue;
        }
        rss.push(figures);
        print(
          `  ${labels[impl]}: ${figures.clientsOk}/${figures.tests} clients ` +
            `ok, idle ${mb(figures.idleRssKiB)} MB, peak VmRSS ${
              mb(figures.peakRssKiB)
            } MB, VmHWM ${
              mb(figures.peakHwmKiB)
            } MB, up to ${figures.peakConnections} TCP connections at once`,
        );
        for (const e of figures.clientErrors) print(`    client error: ${e}`);
      }
    }
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => undefined);
  }

  if (selected.has("bare")) {
    print("\nDeno's own socket ceiling (scripts/bare_loop.ts, no protocol):");
    bare = await bareLoops(seconds);
    print(
      `  TCP ${bare.tcpGbit?.toFixed(2) ?? "n/a"} Gbit/s, UDP ${
        bare.udpReceived?.toFixed(0) ?? "n/a"
      } datagrams/s received`,
    );
  }
  const { table, rows } = summarize(
    { runs, failures, unsupported, rss, bare, selected },
    { reference, labels, haveNew: fresh !== null },
  );
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
          cases: [...selected],
          host: "127.0.0.1",
          datagramSize: DATAGRAM_SIZE,
          implementations: labels,
          reference,
          cpu:
            "GNU time %U+%S of each whole process / (end.sum_received.bytes / 1e9); --bidir adds sum_received_bidir_reverse",
          rss:
            `-P 32: GNU time %M of the server; ${RSS_TESTS} concurrent: VmHWM and VmRSS of our server polled every ${POLL_MS} ms`,
        },
        iperf3: old,
        iperf3New: fresh,
        summary: rows,
        serverRss: rss,
        bareLoops: bare,
        runs,
        unsupported,
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
 * Finds an iperf3 binary (a path, or a name looked up in PATH) and its
 * version. With `ownLibrary`, a binary in `<prefix>/bin` with a
 * `<prefix>/lib` beside it (a `make install --prefix` tree) gets that folder
 * as its library path.
 */
async function iperf3Info(
  path: string,
  ownLibrary: boolean,
): Promise<Iperf3Info> {
  let found = path;
  if (!path.includes("/")) {
    for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
      if (dir !== "" && await isFile(`${dir}/${path}`)) {
        found = `${dir}/${path}`;
        break;
      }
    }
  }
  if (!await isFile(found)) {
    throw new Error(`Cannot run: no iperf3 at "${path}"`);
  }
  let libraryPath: string | null = null;
  const prefix = dirname(dirname(found));
  if (
    ownLibrary && basename(dirname(found)) === "bin" &&
    await isDir(`${prefix}/lib`)
  ) {
    libraryPath = `${prefix}/lib`;
  }
  const out = await new Deno.Command(found, {
    args: ["--version"],
    env: libraryPath === null
      ? {}
      : { "LD_LIBRARY_PATH": libraryPathEnv(libraryPath) },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = decoder.decode(out.stdout);
  const versionLine = text.split("\n")[0]?.trim() ?? "";
  const version = /^iperf (\S+)/.exec(versionLine)?.[1];
  if (!out.success || version === undefined) {
    throw new Error(
      `Cannot run: "${found} --version" failed: ${
        snippet(text + decoder.decode(out.stderr))
      }`,
    );
  }
  return { path: found, version, versionLine, libraryPath };
}

function atLeast321(version: string): boolean {
  const [major, minor] = version.split(".").map((s) => parseInt(s, 10));
  return (major ?? 0) > 3 || (major === 3 && (minor ?? 0) >= 21);
}

function libraryPathEnv(dir: string): string {
  const current = Deno.env.get("LD_LIBRARY_PATH");
  return current === undefined || current === "" ? dir : `${dir}:${current}`;
}

async function isFile(path: string): Promise<boolean> {
  return (await Deno.stat(path).catch(() => null))?.isFile ?? false;
}

async function isDir(path: string): Promise<boolean> {
  return (await Deno.stat(path).catch(() => null))?.isDirectory ?? false;
}

/**
 * One test: a one-off server and a client, each its own process under GNU
 * `time`; both are reaped (killed first if they overrun) before it returns.
 *
 * @throws {UnsupportedError} when the client refuses one of the case's flags
 */
async function runPair(
  ctx: Context,
  c: CaseDef,
  clientImpl: Impl,
  serverImpl: Impl,
  round: number,
): Promise<RunFigures> {
  const port = freePort();
  const server = await spawnTimed(ctx.tmp, launcher(ctx, serverImpl), [
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
      const client = await spawnTimed(ctx.tmp, launcher(ctx, clientImpl), [
        "-c",
        "127.0.0.1",
        "-p",
        String(port),
        "-t",
        String(ctx.seconds),
        "-J",
        ...c.flags,
      ], "piped");
      const { output, timedOut } = await finish(
        client,
        ctx.seconds * 1000 + CLIENT_GRACE_MS,
      );
      const usage = await readUsage(client.usageFile);
      const text = decoder.decode(output.stdout);
      const errText = decoder.decode(output.stderr);
      if (timedOut) throw new Error(`client timed out: ${snippet(errText)}`);
      if (output.success) {
        doc = JSON.parse(text) as Doc;
        clientUsage = usage;
      } else if (UNSUPPORTED.test(text + errText)) {
        throw new UnsupportedError(snippet(text + errText));
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

function launcher(ctx: Context, impl: Impl): Launcher {
  const found = ctx.launchers[impl];
  if (found === undefined) throw new Error(`Cannot run: no "${impl}"`);
  return found;
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
  // --bidir: the server-to-client direction is summed apart.
  const reverse = doc.end?.["sum_received_bidir_reverse"];
  const bytes = (received.bytes ?? 0) + (reverse?.bytes ?? 0);
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
    bitsPerSecond: (received["bits_per_second"] ?? 0) +
      (reverse?.["bits_per_second"] ?? 0),
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
 * One server of ours with `--max-tests 8` and 8 of our clients at once, all
 * `-P 4`, server and clients on the same data plane; the server's memory
 * polled every 100 ms.
 */
async function serverRss(ctx: Context, impl: Ours): Promise<RssFigures> {
  const port = freePort();
  const run = launcher(ctx, impl);
  const clientFlags = ["-P", "4"];
  const child = new Deno.Command(run.argv[0] as string, {
    args: [
      ...run.argv.slice(1),
      "-s",
      "-B",
      "127.0.0.1",
      "-p",
      String(port),
      "--max-tests",
      String(RSS_TESTS),
    ],
    env: run.env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const server = { child, output: child.output() };
  const figures: RssFigures = {
    impl,
    tests: RSS_TESTS,
    clientFlags,
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
    const clients = Array.from(
      { length: RSS_TESTS },
      () => rssClient(run, port, ctx.seconds, clientFlags),
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
  run: Launcher,
  port: number,
  seconds: number,
  flags: string[],
): Promise<void> {
  for (let attempt = 1;; attempt++) {
    const child = new Deno.Command(run.argv[0] as string, {
      args: [
        ...run.argv.slice(1),
        "-c",
        "127.0.0.1",
        "-p",
        String(port),
        "-t",
        String(seconds),
        "-J",
        ...flags,
      ],
      env: run.env,
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
    if (attempt >= CONNECT_ATTEMPTS || !/refused|busy/i.test(text)) {
      throw new Error(`client ${flags.join(" ")}: ${snippet(text)}`);
    }
    await sleep(200);
  }
}

async function spawnTimed(
  tmp: string,
  run: Launcher,
  args: string[],
  stdout: "piped" | "null",
): Promise<Timed> {
  const usageFile = await Deno.makeTempFile({ dir: tmp, suffix: ".time" });
  const child = new Deno.Command(TIME_BIN, {
    args: ["-f", "%e %U %S %M", "-o", usageFile, "--", ...run.argv, ...args],
    env: run.env,
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

/** A median, or why there is none: every run refused a flag, or failed. */
type Cell = number | "unsupported" | "failed" | null;

interface Target {
  kind: "ratioAtLeast" | "ratioAtMost" | "lossAbove" | "below";
  value: number;
}

interface SummaryRow {
  case: string;
  unit: string;
  values: Record<Impl, Cell>;
  /** "ratio": ours / the reference iperf3 (3.21+, else 3.12); "points": ours minus it (loss %). */
  comparison: "ratio" | "points";
  /** Each variant of ours against the reference, as `comparison` says. */
  vsReference: Record<Ours, number | null>;
  target: string;
  met: Record<Ours, boolean | null>;
}

interface Collected {
  runs: RunFigures[];
  failures: OtherRun[];
  unsupported: OtherRun[];
  rss: RssFigures[];
  bare: BareFigures | null;
  selected: Set<string>;
}

interface Presentation {
  reference: Reference;
  labels: Record<Impl, string>;
  haveNew: boolean;
}

function summarize(
  data: Collected,
  show: Presentation,
): { table: string; rows: SummaryRow[] } {
  const rows: SummaryRow[] = [];
  const ref = show.reference;
  const pick = (
    id: string,
    client: Impl,
    server: Impl,
    f: (r: RunFigures) => number | null,
  ): Cell => {
    const same = (r: OtherRun | RunFigures) =>
      r.case === id && r.client === client && r.server === server;
    const m = median(data.runs.filter(same).map(f));
    if (m !== null) return m;
    if (data.unsupported.some(same)) return "unsupported";
    if (data.failures.some(same)) return "failed";
    return null;
  };
  const add = (
    label: string,
    unit: string,
    values: Record<Impl, Cell>,
    target?: Target,
  ) => {
    const base = values[ref];
    const comparison = target?.kind === "lossAbove" ? "points" : "ratio";
    const vs = { ours: null, oursLoops: null } as Record<
      Ours,
      number | null
    >;
    const met = { ours: null, oursLoops: null } as Record<
      Ours,
      boolean | null
    >;
    for (const impl of OUR_IMPLS) {
      const v = values[impl];
      if (typeof v !== "number") continue;
      if (typeof base === "number" && comparison === "points") {
        vs[impl] = v - base;
      } else if (typeof base === "number" && base !== 0) vs[impl] = v / base;
      const ratio = vs[impl];
      switch (target?.kind) {
        case "ratioAtLeast":
          if (ratio !== null) met[impl] = ratio >= target.value;
          break;
        case "ratioAtMost":
          if (ratio !== null) met[impl] = ratio <= target.value;
          break;
        case "lossAbove": // `ratio` holds the difference in points here.
          if (ratio !== null) met[impl] = ratio <= target.value;
          break;
        case "below":
          met[impl] = v > 0 && v < target.value;
          break;
        case undefined:
          break;
      }
    }
    rows.push({
      case: label,
      unit,
      values,
      comparison,
      vsReference: vs,
      target: target === undefined ? "-" : targetText(target),
      met,
    });
  };
  const each = (id: string, f: (r: RunFigures) => number | null) => {
    const values = {} as Record<Impl, Cell>;
    for (const impl of IMPLS) values[impl] = pick(id, impl, impl, f);
    return values;
  };
  const gbit = (r: RunFigures) => r.bitsPerSecond / 1e9;
  const cases = CASES.filter((c) => data.selected.has(c.id));
  const throughput: Target = { kind: "ratioAtLeast", value: 1 };
  for (const c of cases) {
    for (const metric of c.metrics) {
      if (metric === "gbit" || metric === "gbitInfo") {
        const unit = c.udp ? "Gbit/s received" : "Gbit/s";
        const target = metric === "gbit" ? throughput : undefined;
        add(c.label, unit, each(c.id, gbit), target);
      } else if (metric === "datagrams") {
        const dps = (r: RunFigures) => r.datagramsPerSecond;
        add(c.label, "datagrams/s received", each(c.id, dps), throughput);
      } else if (metric === "loss") {
        add(c.label, "loss %", each(c.id, (r) => r.lostPercent), {
          kind: "lossAbove",
          value: LOSS_LIMIT_POINTS,
        });
      }
    }
  }
  for (const c of cases) {
    if (!c.metrics.includes("cpu")) continue;
    add(
      c.label,
      "CPU s/GB (client+server)",
      each(c.id, (r) => r.cpuPerGb.total),
      { kind: "ratioAtMost", value: CPU_LIMIT_RATIO },
    );
  }
  const rssLimit: Target = { kind: "below", value: RSS_LIMIT_MB };
  for (const c of cases) {
    if (!c.metrics.includes("serverRss")) continue;
    const serverMb = (r: RunFigures) => r.serverUsage.maxRssKiB / 1024;
    add(c.label, "server peak RSS MB", each(c.id, serverMb), rssLimit);
  }
  if (data.selected.has("rss8")) {
    const values = {} as Record<Impl, Cell>;
    for (const impl of IMPLS) values[impl] = pick("rss8", impl, impl, () => 0);
    for (const r of data.rss) {
      values[r.impl] = r.clientsOk === r.tests ? r.peakHwmKiB / 1024 : "failed";
    }
    add(
      `${RSS_TESTS} concurrent -P 4 tests, one server`,
      "server peak RSS MB",
      values,
      rssLimit,
    );
  }
  if (data.selected.has("cross")) {
    const refTcp1 = pick("tcp1", ref, ref, gbit);
    for (const x of CROSS) {
      const values = {} as Record<Impl, Cell>;
      for (const impl of IMPLS) values[impl] = null;
      values[ref] = refTcp1;
      values.ours = x.client === "ours"
        ? pick(x.id, "ours", ref, gbit)
        : pick(x.id, ref, "ours", gbit);
      add(x.label, "Gbit/s", values);
    }
  }
  if (data.bare !== null) {
    // The ceiling: Deno's bare loops against iperf3's figures of the same run.
    const tcp = {} as Record<Impl, Cell>;
    const udp = {} as Record<Impl, Cell>;
    for (const impl of IMPLS) {
      tcp[impl] = null;
      udp[impl] = null;
    }
    tcp[ref] = pick("tcp1", ref, ref, gbit);
    tcp.ours = data.bare.tcpGbit;
    udp[ref] = pick("udpMax", ref, ref, (r) => r.datagramsPerSecond);
    udp.ours = data.bare.udpReceived;
    add("Deno bare TCP loop (no protocol)", "Gbit/s", tcp);
    add("Deno bare UDP loop (no protocol), 1460 bytes", "datagrams/s", udp);
  }

  const refName = show.labels[ref];
  const base = ref === "iperf3New" ? refName : `${refName}\n(3.21+ absent)`;
  const table = new Table({
    head: [
      "case",
      show.labels.iperf3,
      show.labels.iperf3New,
      "ours\nthreads",
      "ours\ndt0",
      `ours vs ${base}\nthreads / dt0`,
      "target",
      "met?\nthreads / dt0",
    ],
    style: { head: [], border: [] },
    // One line per row: no rule between rows.
    chars: { "mid": "", "left-mid": "", "mid-mid": "", "right-mid": "" },
  });
  for (const r of rows) {
    const cell = (impl: Impl) => {
      const v = r.values[impl];
      if (typeof v === "number") return format(v, r.unit);
      if (v !== null) return v;
      return impl === "iperf3New" && !show.haveNew
        ? "n/a (set IPERF3_NEW)"
        : "-";
    };
    const ratio = (v: number | null) => {
      if (v === null) return "-";
      if (r.comparison === "ratio") return v.toFixed(2);
      return `${v >= 0 ? "+" : ""}${v.toFixed(2)} pt`;
    };
    const met = (v: boolean | null) => v === null ? "-" : v ? "yes" : "NO";
    table.push([
      `${r.case}, ${r.unit}`,
      cell("iperf3"),
      cell("iperf3New"),
      cell("ours"),
      cell("oursLoops"),
      `${ratio(r.vsReference.ours)} / ${ratio(r.vsReference.oursLoops)}`,
      r.target,
      r.target === "-" ? "-" : `${met(r.met.ours)} / ${met(r.met.oursLoops)}`,
    ]);
  }
  const legend = "ours threads: the default data plane; ours dt0: " +
    "--data-threads 0 (the in-process loops) on client and server";
  return { table: `${table.toString()}\n${legend}`, rows };
}

function targetText(t: Target): string {
  switch (t.kind) {
    case "ratioAtLeast":
      return `ratio >= ${t.value.toFixed(2)}`;
    case "ratioAtMost":
      return `ratio <= ${t.value.toFixed(2)}`;
    case "lossAbove":
      return `<= +${t.value} pt`;
    case "below":
      return `< ${t.value} MB`;
  }
}

function format(value: number, unit: string): string {
  if (unit.startsWith("datagrams")) return Math.round(value).toLocaleString();
  if (unit.startsWith("CPU")) return value.toFixed(3);
  if (unit.includes("MB")) return value.toFixed(1);
  return value.toFixed(2);
}

function short(impl: Impl): string {
  switch (impl) {
    case "iperf3":
      return "iperf3";
    case "iperf3New":
      return "iperf3new";
    case "ours":
      return "ours";
    case "oursLoops":
      return "ours-dt0";
  }
}

function progressLine(r: RunFigures): string {
  const rate = `${(r.bitsPerSecond / 1e9).toFixed(2)} Gbit/s`;
  const udp = r.lostPercent === null
    ? ""
    : `, ${Math.round(r.datagramsPerSecond ?? 0)} dgram/s, ${
      r.lostPercent.toFixed(2)
    }% lost`;
  return `round ${r.round} ${r.case.padEnd(15)} ${
    `${short(r.client)}->${short(r.server)}`.padEnd(19)
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

async function machineInfo(old: Iperf3Info, fresh: Iperf3Info | null) {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  return {
    hostname: Deno.hostname(),
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ??
      "unknown",
    cores: cpuinfo.match(/^processor\s*:/gm)?.length ??
      navigator.hardwareConcurrency,
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    iperf3: old.versionLine,
    iperf3New: fresh?.versionLine ?? null,
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
