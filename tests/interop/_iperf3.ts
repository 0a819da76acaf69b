/**
 * Helpers for the interop tests: find the real `iperf3` binary, run it as a
 * child process, and run our side in-process (sessions, `serve`, `runCli`)
 * against it on the loopback interface.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseCommandLine } from "../../lib/cli/args.ts";
import { runCli } from "../../lib/cli/run.ts";
import { ERROR_CODES, IperfError } from "../../lib/errors.ts";
import type { SessionEvent } from "../../lib/events.ts";
import { TextReporter } from "../../lib/report/text.ts";
import {
  type ClientOutcome,
  runClientSession,
} from "../../lib/session/client.ts";
import { listen, serve, type ServeOptions } from "../../lib/session/server.ts";
import type { StreamSummary, TestSummary } from "../../lib/stats/summary.ts";

/** iperf3's default TCP block size (`-l`), 128 KiB. */
export const TCP_BLOCK = 131072;

/** The only host our interop tests talk to. */
export const LOOPBACK = "127.0.0.1";

/** Under `CI=true` a missing iperf3 fails the suite instead of skipping it. */
export const CI = Deno.env.get("CI") === "true";

/** How to get the binary, for the skip message and the CI failure. */
export const INSTALL_HINT =
  "install the Debian/Ubuntu package with `apt-get install -y iperf3` (3.12 is the reference version)";

async function detectIperf3(): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("iperf3", {
      args: ["--version"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const first = new TextDecoder().decode(out.stdout).split("\n")[0] ?? "";
    return first.trim() || "iperf3 (version unknown)";
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** The first line of `iperf3 --version`, or undefined when iperf3 is not on PATH. */
export const IPERF3_VERSION: string | undefined = await detectIperf3();

/** Whether the interop tests can run. */
export const HAVE_IPERF3: boolean = IPERF3_VERSION !== undefined;

/**
 * Registers an interop test; it is ignored when iperf3 is missing
 * (`iperf3_present_test.ts` then prints why, or fails under `CI=true`).
 *
 * @param name the test's name
 * @param fn the test body
 * @param options `ignore`: also ignored when this is true
 */
export function interopTest(
  name: string,
  fn: (t: Deno.TestContext) => Promise<void>,
  options: { ignore?: boolean } = {},
): void {
  Deno.test({ name, ignore: !HAVE_IPERF3 || (options.ignore ?? false), fn });
}

/**
 * A free TCP port on the loopback interface: bind port 0, read it, close.
 *
 * @param hostname the address to probe
 * @returns the port number
 */
export function freePort(hostname: string = LOOPBACK): number {
  using listener = Deno.listen({ hostname, port: 0 });
  return listener.addr.port;
}

/** Resolves after `ms` milliseconds; the timer never outlives the promise. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits for `work`, failing after `ms` milliseconds; the timer is always
 * cleared.
 *
 * @param work what to wait for
 * @param ms the time limit
 * @param what names `work` in the failure message
 * @returns what `work` resolved to
 */
export async function within<T>(
  work: Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Timed out after ${ms} ms: ${what}`)),
      ms,
    );
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** How a finished iperf3 process ended and what it printed. */
export interface Iperf3Result {
  /** Exit code. */
  code: number;
  /** The signal that ended it, if any. */
  signal: Deno.Signal | null;
  /** Everything on stdout. */
  stdout: string;
  /** Everything on stderr. */
  stderr: string;
}

/**
 * A running `iperf3` child process. `await using` kills it (if it is still
 * running) and reaps it, so the resource and op sanitizers stay quiet.
 */
export class Iperf3 implements AsyncDisposable {
  /** The arguments it was started with. */
  readonly args: readonly string[];
  readonly #child: Deno.ChildProcess;
  readonly #result: Promise<Iperf3Result>;
  #exited = false;

  /** @param args the command line after `iperf3` */
  constructor(args: string[]) {
    this.args = args;
    this.#child = new Deno.Command("iperf3", {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const decoder = new TextDecoder();
    this.#result = this.#child.output().then((out) => {
      this.#exited = true;
      return {
        code: out.code,
        signal: out.signal,
        stdout: decoder.decode(out.stdout),
        stderr: decoder.decode(out.stderr),
      };
    });
  }

  /** Whether the process has ended. */
  get exited(): boolean {
    return this.#exited;
  }

  /**
   * Waits for the process to end by itself.
   *
   * @param timeoutMs how long to wait before killing it and failing
   * @returns exit status and output
   */
  async wait(timeoutMs = 20_000): Promise<Iperf3Result> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    try {
      const first = await Promise.race([this.#result, timeout]);
      if (first !== "timeout") return first;
    } finally {
      clearTimeout(timer);
    }
    this.#kill();
    const late = await this.#result;
    throw new Error(
      `iperf3 ${this.args.join(" ")} did not exit within ${timeoutMs} ms\n` +
        `stdout: ${late.stdout}\nstderr: ${late.stderr}`,
    );
  }

  #kill(): void {
    if (this.#exited) return;
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // It exited between the check and the kill.
    }
  }

  /** Kills the process if it is still running and reaps it. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#kill();
    await this.#result;
    await this.#child.status;
  }
}

/** `end.sum_*` and `end.streams[].sender|receiver` objects of iperf3's `-J` document. */
export interface Iperf3Sum {
  /** Seconds from the start. */
  start: number;
  /** Seconds at the end. */
  end: number;
  /** Duration. */
  seconds: number;
  /** Bytes moved. */
  bytes: number;
  /** Rate. */
  "bits_per_second": number;
  /** Whether the local streams of that direction send. */
  sender: boolean;
}

/** The parts of iperf3's `-J` document the interop tests read. */
export interface Iperf3Json {
  /** Connection and test set-up. */
  start: {
    /** What the test asked for, as iperf3 understood it. */
    "test_start"?: {
      "protocol": string;
      "num_streams": number;
      "blksize": number;
      "duration": number;
      "bytes": number;
      "blocks": number;
      "reverse": number;
    };
  };
  /** One entry per reporting interval. */
  intervals: unknown[];
  /** Totals. */
  end: {
    "streams"?: { sender: Iperf3Sum; receiver: Iperf3Sum }[];
    "sum_sent"?: Iperf3Sum;
    "sum_received"?: Iperf3Sum;
    "sum_sent_bidir_reverse"?: Iperf3Sum;
    "sum_received_bidir_reverse"?: Iperf3Sum;
  };
  /** Present when the test failed. */
  error?: string;
}

/**
 * Parses iperf3's `-J` output and checks that it reports no error.
 *
 * @param result the finished iperf3 process
 * @returns the document
 */
export function parseIperf3Json(result: Iperf3Result): Iperf3Json {
  let doc: Iperf3Json;
  try {
    doc = JSON.parse(result.stdout) as Iperf3Json;
  } catch (error) {
    throw new Error(
      `iperf3 -J output does not parse: ${result.stdout}\nstderr: ${result.stderr}`,
      { cause: error },
    );
  }
  assert.equal(
    doc.error,
    undefined,
    `iperf3 reported an error: ${doc.error}\nstderr: ${result.stderr}`,
  );
  assert.ok(doc.start && doc.end && Array.isArray(doc.intervals));
  return doc;
}

/**
 * One `end` member of an iperf3 `-J` document, which must be present.
 *
 * @param doc the document
 * @param key e.g. `sum_received`
 * @returns the sum object
 */
export function endSum(
  doc: Iperf3Json,
  key:
    | "sum_sent"
    | "sum_received"
    | "sum_sent_bidir_reverse"
    | "sum_received_bidir_reverse",
): Iperf3Sum {
  const sum = doc.end[key];
  assert.ok(sum, `iperf3 -J document has no end.${key}`);
  return sum;
}

/**
 * iperf3's per-stream end objects, in stream creation order.
 *
 * @param doc the document
 * @returns `end.streams`
 */
export function endStreams(
  doc: Iperf3Json,
): { sender: Iperf3Sum; receiver: Iperf3Sum }[] {
  const streams = doc.end.streams;
  assert.ok(Array.isArray(streams), "iperf3 -J document has no end.streams");
  return streams;
}

/** Sent and received totals over some of a summary's streams. */
export interface Totals {
  /** Sum of `bytesSent`. */
  sent: number;
  /** Sum of `bytesReceived`. */
  received: number;
}

/**
 * Adds up a summary's streams.
 *
 * @param streams the streams to add
 * @returns sent and received totals
 */
export function totals(streams: StreamSummary[]): Totals {
  let sent = 0;
  let received = 0;
  for (const s of streams) {
    sent += s.bytesSent;
    received += s.bytesReceived;
  }
  return { sent, received };
}

/**
 * Checks that a TCP transfer's receiver got no more than was sent and at
 * least `minShare` of it.
 *
 * @param what names the direction in failure messages
 * @param t the totals
 * @param minShare the lowest plausible received/sent ratio
 */
export function assertPlausible(
  what: string,
  t: Totals,
  minShare: number,
): void {
  assert.ok(t.sent > 0, `${what}: nothing was sent`);
  assert.ok(
    t.received <= t.sent,
    `${what}: received ${t.received} > sent ${t.sent}`,
  );
  assert.ok(
    t.received >= t.sent * minShare,
    `${what}: received ${t.received} is below ${
      minShare * 100
    }% of sent ${t.sent}`,
  );
}

/** How often our client retries while the iperf3 server is not listening yet. */
const CONNECT_ATTEMPTS = 200;
const CONNECT_RETRY_MS = 25;

/** Our side is interrupted (and the test fails) if a run takes longer than this. */
const OUR_RUN_LIMIT_MS = 30_000;

/** An abort signal that fires after `ms`; dispose it to clear the timer. */
function runLimit(ms: number): AbortController & Disposable {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new Error(`Our side took longer than ${ms} ms`)),
    ms,
  );
  return Object.assign(controller, {
    [Symbol.dispose]: () => clearTimeout(timer),
  });
}

function isRefused(error: unknown): boolean {
  return error instanceof IperfError &&
    error.code === ERROR_CODES.IECONNECT &&
    error.cause instanceof Deno.errors.ConnectionRefused;
}

/** What one run of our client produced. */
export interface OurClientRun {
  /** What `runClientSession` returned. */
  outcome: ClientOutcome;
  /** The "summary" event's figures (the same object as `outcome.summary`). */
  summary: TestSummary;
  /** Every event, in order. */
  events: SessionEvent[];
  /** The text lines a `TextReporter` made of the events (what `runCli` prints). */
  lines: string[];
}

/**
 * Runs our client in-process against an iperf3 server, the way `runCli`
 * does (same argument parsing, same reporter) but keeping the events.
 *
 * Readiness: the iperf3 server cannot be probed with a throw-away TCP
 * connection, because a `-1` server counts that connection as its one test
 * (it fails with "unable to receive parameters from client" and exits).
 * A refused connection, however, never reaches it, so the client simply
 * retries while the connection is refused (bounded).
 *
 * @param args our client's command line, e.g. `["-c", "127.0.0.1", "-p", "5201"]`
 * @param server the iperf3 server; its early exit stops the retries
 * @returns outcome, summary, events and text lines
 */
export async function runOurClient(
  args: string[],
  server: Iperf3,
): Promise<OurClientRun> {
  const config = parseCommandLine(args);
  if (config.role !== "client") throw new TypeError("Expected client args");
  for (let attempt = 1;; attempt++) {
    const events: SessionEvent[] = [];
    const lines: string[] = [];
    const reporter = new TextReporter({
      role: "client",
      format: config.output.format,
      verbose: config.output.verbose,
      write: (line) => lines.push(line),
    });
    using limit = runLimit(OUR_RUN_LIMIT_MS);
    try {
      const outcome = await runClientSession(config.client, {
        signal: limit.signal,
        emit: (event) => {
          events.push(event);
          reporter.handle(event);
        },
      });
      const summaries = events.filter((e) => e.kind === "summary");
      assert.equal(summaries.length, 1, "one summary event");
      assert.equal(summaries[0]?.summary, outcome.summary);
      return { outcome, summary: outcome.summary, events, lines };
    } catch (error) {
      if (limit.signal.aborted) {
        throw new Error(`Our client ${args.join(" ")} timed out`, {
          cause: error,
        });
      }
      if (
        !isRefused(error) || attempt >= CONNECT_ATTEMPTS || server.exited
      ) throw error;
      await sleep(CONNECT_RETRY_MS);
    }
  }
}

/** What one `runCli` call printed. */
export interface CliRun {
  /** The exit code. */
  code: number;
  /** Everything written to stdout. */
  stdout: string;
  /** Everything written to stderr. */
  stderr: string;
}

/**
 * Runs our whole CLI in-process as a client against an iperf3 server,
 * retrying while the connection is refused (see {@linkcode runOurClient}).
 *
 * @param args the command line
 * @param server the iperf3 server
 * @returns exit code and output
 */
export async function runOurCliClient(
  args: string[],
  server: Iperf3,
): Promise<CliRun> {
  for (let attempt = 1;; attempt++) {
    let stdout = "";
    let stderr = "";
    using limit = runLimit(OUR_RUN_LIMIT_MS);
    const code = await runCli(args, {
      stdout: (text) => stdout += text,
      stderr: (text) => stderr += text,
      signal: limit.signal,
    });
    assert.ok(!limit.signal.aborted, `runCli ${args.join(" ")} timed out`);
    // A refused connection shows on stderr, or inside the -J document.
    const refused = code !== 0 &&
      (stderr + stdout).includes("Connection refused");
    if (!refused || attempt >= CONNECT_ATTEMPTS || server.exited) {
      return { code, stdout, stderr };
    }
    await sleep(CONNECT_RETRY_MS);
  }
}

/**
 * The command line of a one-off JSON iperf3 server on loopback:
 * `iperf3 -s -1 -J -B 127.0.0.1 -p port`.
 *
 * @param port a free port (see {@linkcode freePort})
 * @returns the arguments
 */
export function iperf3ServerArgs(port: number): string[] {
  return ["-s", "-1", "-J", "-B", LOOPBACK, "-p", String(port)];
}

/** Something that may end: an {@linkcode Iperf3} process, or see {@linkcode endsWith}. */
export interface Ending {
  /** Whether it has ended. */
  readonly exited: boolean;
}

/**
 * Marks when `work` settles, e.g. a server `runCli` runs, so that
 * {@linkcode runIperf3Client} stops retrying against a server that ended.
 *
 * @param work the running server
 * @returns its `exited` flag
 */
export function endsWith(work: Promise<unknown>): Ending {
  const state = { exited: false };
  const mark = () => {
    state.exited = true;
  };
  work.then(mark, mark);
  return state;
}

/**
 * Runs `iperf3 -c 127.0.0.1 -p port -J ...flags` to completion and parses
 * its document (exit code 0, no `error`).
 *
 * Given the `server`, a server just started, it retries while the
 * connection is refused (bounded, and only while the server runs), as
 * {@linkcode runOurClient} does: a refused connection never reaches the
 * server, so even a `-1` server still has its one test.
 *
 * @param port our server's port
 * @param flags the case's flags
 * @param server the server, when it may not be listening yet
 * @returns the client's `-J` document
 */
export async function runIperf3Client(
  port: number,
  flags: string[],
  server?: Ending,
): Promise<Iperf3Json> {
  const result = await runIperf3ClientUntilServed(
    port,
    ["-J", ...flags],
    server,
  );
  assert.equal(
    result.code,
    0,
    `iperf3 client exit code\nstdout: ${result.stdout}\nstderr: ${result.stderr}`,
  );
  return parseIperf3Json(result);
}

/**
 * Runs `iperf3 -c 127.0.0.1 -p port ...flags` and returns what it printed,
 * retrying while the connection is refused (its text, or a `-J` document's
 * "error", says so) as long as `server` has not ended.
 *
 * @param port the server's port
 * @param flags the client's flags after the port
 * @param server the server, when it may not be listening yet
 * @returns the last attempt's exit status and output
 */
export async function runIperf3ClientUntilServed(
  port: number,
  flags: string[],
  server?: Ending,
): Promise<Iperf3Result> {
  for (let attempt = 1;; attempt++) {
    await using client = new Iperf3([
      "-c",
      LOOPBACK,
      "-p",
      String(port),
      ...flags,
    ]);
    const result = await client.wait();
    const refused = (result.stdout + result.stderr).includes(
      "Connection refused",
    );
    if (
      !server || !refused || attempt >= CONNECT_ATTEMPTS || server.exited
    ) {
      return result;
    }
    await sleep(CONNECT_RETRY_MS);
  }
}

/** Our server, running in-process for one test function. */
export interface OurServer {
  /** Its loopback port. */
  port: number;
  /** Every event, in order. */
  events: SessionEvent[];
  /** The figures of every "summary" event. */
  summaries: TestSummary[];
  /** What `onTestError` was told. */
  errors: unknown[];
  /** The text lines a server `TextReporter` made of the events. */
  lines: string[];
  /**
   * Waits until the server is listening for test number `n` again, which
   * means test `n - 1` has completely finished.
   */
  listeningFor(n: number, timeoutMs?: number): Promise<void>;
}

/**
 * Runs `fn` with our server listening on 127.0.0.1 (port 0); always aborts
 * the server and awaits `serve` afterwards.
 *
 * @param fn the test body
 */
export async function withOurServer(
  fn: (server: OurServer) => Promise<void>,
  options: Pick<ServeOptions, "dataThreads"> = {},
): Promise<void> {
  const listener = listen({ hostname: LOOPBACK, port: 0 });
  const controller = new AbortController();
  const events: SessionEvent[] = [];
  const summaries: TestSummary[] = [];
  const errors: unknown[] = [];
  const lines: string[] = [];
  const reporter = new TextReporter({
    role: "server",
    write: (line) => lines.push(line),
  });
  const waiters = new Set<() => void>();
  const emit = (event: SessionEvent) => {
    events.push(event);
    if (event.kind === "summary") summaries.push(event.summary);
    reporter.handle(event);
    for (const wake of waiters) wake();
  };
  const listeningFor = async (n: number, timeoutMs = 10_000) => {
    const seen = () =>
      events.some((e) => e.kind === "listening" && e.testNumber === n);
    let timer: ReturnType<typeof setTimeout> | undefined;
    let wake = () => {};
    try {
      await new Promise<void>((resolve, reject) => {
        wake = () => {
          if (seen()) resolve();
        };
        waiters.add(wake);
        timer = setTimeout(
          () =>
            reject(
              new Error(
                `Our server did not get ready for test #${n} in ${timeoutMs} ms; errors: ${
                  errors.map(String).join("; ")
                }`,
              ),
            ),
          timeoutMs,
        );
        wake();
      });
    } finally {
      waiters.delete(wake);
      clearTimeout(timer);
    }
  };
  const served = serve(listener, {
    ...options,
    signal: controller.signal,
    emit,
    onTestError: (error) => errors.push(error),
    interval: 1,
  });
  try {
    await fn({
      port: listener.addr.port,
      events,
      summaries,
      errors,
      lines,
      listeningFor,
    });
  } finally {
    controller.abort();
    await served;
  }
}

/** Numbers as iperf3's unit formatter prints them: `%4.2f`, `%4.1f` or `%4.0f`. */
const NUM = String.raw`(?:\d\.\d\d|\d\d\.\d| \d{3}|\d{4})`;
/** A byte count (`XFER`): always adaptive bytes. */
export const XFER = `${NUM} [KMGT]?Bytes`;
/** A rate (`RATE`) in the default adaptive bits. */
export const RATE = `${NUM} [KMGT]?bits/sec`;
/** `%6.2f-%-6.2f` for times below 10 s. */
export const TIMES = String.raw`  \d\.\d\d-\d\.\d\d  `;
/** `%3u` / `%3d` retransmit counts. */
export const RETR = String.raw`(?: {2}\d| \d{2}|\d{3,})`;

/** iperf3's `SEPARATOR` between intervals and before the summary: 25 dashes, 49 characters. */
export const SEPARATOR_LINE =
  "- - - - - - - - - - - - - - - - - - - - - - - - -";

/** Escapes text for use inside a RegExp. */
export function quote(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Classifies every line by the first template it matches (one character
 * per template) and returns the classes as a string, so a whole output can
 * be checked against one shape regex. Fails on a line no template matches.
 *
 * @param lines the output lines
 * @param templates single-character keys to line regexes
 * @returns one key per line
 */
export function lineShape(
  lines: string[],
  templates: Record<string, RegExp>,
): string {
  let shape = "";
  lines.forEach((line, i) => {
    const key = Object.entries(templates).find(([, re]) => re.test(line))
      ?.[0];
    assert.ok(
      key !== undefined,
      `line ${i + 1} matches no iperf3 3.12 template: ${
        JSON.stringify(line)
      }\n${lines.join("\n")}`,
    );
    shape += key;
  });
  return shape;
}

/**
 * Splits output into lines, dropping the final newline's empty tail.
 *
 * @param text the output
 * @returns its lines
 */
export function splitLines(text: string): string[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}
