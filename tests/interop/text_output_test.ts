/**
 * Text output against the real iperf3: every line our client and our server
 * print for a `-t 2 -P 2` test must have the exact shape of iperf3 3.12's
 * templates (iperf_locale.c), trailing spaces included, in iperf3's order.
 * The iperf3 client's own output against our server is checked the same way,
 * which also shows that the results we send make sense to it.
 *
 * Each line is classified by the template it matches (one character per
 * template) and the resulting string is matched against the expected order.
 *
 * @module
 */

import assert from "node:assert/strict";
import { runCli } from "../../lib/cli/run.ts";
import {
  freePort,
  interopTest,
  Iperf3,
  iperf3ServerArgs,
  lineShape,
  LOOPBACK,
  parseIperf3Json,
  quote,
  RATE,
  RETR,
  runOurCliClient,
  SEPARATOR_LINE,
  splitLines,
  TIMES,
  within,
  XFER,
} from "./_iperf3.ts";

const HEADER = "[ ID] Interval           Transfer     Bitrate";

/** `[  5]`-style stream id as `[%3d]`. */
function id(socket: number): string {
  return quote(`[${String(socket).padStart(3)}]`);
}

/** A TCP interval line without retransmit info: `ID T sec  XFER  RATE` + 18 spaces. */
function bwLine(idRe: string, tail = ""): RegExp {
  return new RegExp(`^${idRe} ${TIMES} sec  ${XFER}  ${RATE} {18}${tail}$`);
}

/** Checks that each stream's interval lines follow on from each other, from 0.00 to about `seconds`. */
function checkTimes(lines: string[], seconds: number): void {
  const lastEnd = new Map<string, string>();
  for (const line of lines) {
    const m = /^(\[[ \dSUM]{3}\]) +(\d+\.\d\d)-(\d+\.\d\d) +sec {2}.* {13,18}$/
      .exec(line);
    if (!m) continue;
    const [, who, start, end] = m as unknown as [
      string,
      string,
      string,
      string,
    ];
    assert.equal(start, lastEnd.get(who) ?? "0.00", `interval start: ${line}`);
    lastEnd.set(who, end);
  }
  assert.ok(lastEnd.size > 0, "no interval lines");
  for (const [who, end] of lastEnd) {
    const value = Number(end);
    assert.ok(
      value >= seconds - 0.05 && value <= seconds + 0.5,
      `${who} intervals end at ${end}, expected about ${seconds}`,
    );
  }
}

/** iperf3's report_bw_retrans_cwnd_format. */
function retrCwndLine(idText: string): RegExp {
  return new RegExp(
    `^${idText} ${TIMES} sec  ${XFER}  ${RATE}  ${RETR}   ${XFER} {7}$`,
  );
}

/** iperf3's report_bw_retrans_format. */
function retrLine(idText: string, side: string): RegExp {
  return new RegExp(
    `^${idText} ${TIMES} sec  ${XFER}  ${RATE}  ${RETR} {13}${side}$`,
  );
}

interopTest(
  "runCli() client text output against iperf3 -s: -t 2 -P 2",
  async () => {
    const port = freePort();
    await using server = new Iperf3(iperf3ServerArgs(port));
    const run = await runOurCliClient(
      ["-c", LOOPBACK, "-p", String(port), "-t", "2", "-P", "2"],
      server,
    );
    assert.equal(run.stderr, "");
    assert.equal(run.code, 0);
    const result = await server.wait();
    assert.equal(result.code, 0, result.stderr);
    parseIperf3Json(result);

    const lines = splitLines(run.stdout);
    assert.ok(run.stdout.endsWith("\niperf Done.\n"));
    const p = String(port);
    const shape = lineShape(lines, {
      C: new RegExp(`^Connecting to host 127\\.0\\.0\\.1, port ${p}$`),
      L: new RegExp(
        `^\\[  [57]\\] local 127\\.0\\.0\\.1 port \\d+ connected to 127\\.0\\.0\\.1 port ${p}$`,
      ),
      // We send and read TCP_INFO (the test permissions grant --allow-ffi):
      // Retr and Cwnd columns exactly where iperf3 3.12 prints them.
      R: new RegExp(`^${quote(HEADER)}         Retr  Cwnd$`),
      h: new RegExp(`^${quote(HEADER)}         Retr$`),
      i: retrCwndLine(id(5)),
      j: retrCwndLine(id(7)),
      S: new RegExp(`^\\[SUM\\] ${TIMES} sec  ${XFER}  ${RATE}  ${RETR} {13}$`),
      "-": new RegExp(`^${quote(SEPARATOR_LINE)}$`),
      a: retrLine(id(5), "sender"),
      b: bwLine(id(5), "receiver"),
      c: retrLine(id(7), "sender"),
      d: bwLine(id(7), "receiver"),
      A: retrLine(quote("[SUM]"), "sender"),
      B: bwLine(quote("[SUM]"), "receiver"),
      e: /^$/,
      D: /^iperf Done\.$/,
    });
    assert.equal(SEPARATOR_LINE.length, 49);
    // Intervals: header before the first, separator before each later one;
    // then separator, header, sender/receiver per stream, SUMs, "iperf Done.".
    assert.match(shape, /^CLLRijS(-ijS){1,2}-habcdABeD$/, run.stdout);
    checkTimes(lines.filter((l) => !/(sender|receiver)$/.test(l)), 2);
    for (const line of lines.filter((l) => /(sender|receiver)$/.test(l))) {
      assert.match(line, /^\[[ \dSUM]{3}\] {3}0\.00-2\.\d\d {3}sec/);
    }
  },
);

interopTest(
  "runCli() server text output with iperf3 -c: -t 2 -P 2",
  async () => {
    const port = freePort();
    const controller = new AbortController();
    let stdout = "";
    let stderr = "";
    let listening = () => {};
    const ready = new Promise<void>((resolve) => listening = resolve);
    const served = runCli(["-s", "-1", "-B", LOOPBACK, "-p", String(port)], {
      stdout: (text) => {
        stdout += text;
        if (stdout.includes("Server listening on")) listening();
      },
      stderr: (text) => stderr += text,
      signal: controller.signal,
    });
    let code: number | undefined;
    try {
      const first = await within(
        Promise.race([
          ready.then(() => "ready" as const),
          served.then(() => "exited" as const),
        ]),
        5000,
        "our server to start listening",
      );
      assert.equal(first, "ready", `our server did not start: ${stderr}`);
      await using client = new Iperf3([
        "-c",
        LOOPBACK,
        "-p",
        String(port),
        "-t",
        "2",
        "-P",
        "2",
      ]);
      const result = await client.wait();
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, "");
      code = await within(served, 10_000, "our one-off server to return");

      // iperf3 3.12's client output with our server's results merged in.
      const theirs = splitLines(result.stdout);
      const p = String(port);
      const anyId = String.raw`\[[ \d]{2}\d\]`;
      const cwnd = XFER;
      const theirShape = lineShape(theirs, {
        C: new RegExp(`^Connecting to host 127\\.0\\.0\\.1, port ${p}$`),
        L: new RegExp(
          `^${anyId} local 127\\.0\\.0\\.1 port \\d+ connected to 127\\.0\\.0\\.1 port ${p}$`,
        ),
        R: new RegExp(`^${quote(HEADER)}         Retr  Cwnd$`),
        h: new RegExp(`^${quote(HEADER)}         Retr$`),
        i: new RegExp(
          `^${anyId} ${TIMES} sec  ${XFER}  ${RATE}  ${RETR}   ${cwnd} {7}$`,
        ),
        S: new RegExp(
          `^\\[SUM\\] ${TIMES} sec  ${XFER}  ${RATE}  ${RETR} {13}$`,
        ),
        "-": new RegExp(`^${quote(SEPARATOR_LINE)}$`),
        a: new RegExp(
          `^${anyId} ${TIMES} sec  ${XFER}  ${RATE}  ${RETR} {13}sender$`,
        ),
        b: bwLine(anyId, "receiver"),
        A: new RegExp(
          `^\\[SUM\\] ${TIMES} sec  ${XFER}  ${RATE}  ${RETR} {13}sender$`,
        ),
        B: bwLine(quote("[SUM]"), "receiver"),
        e: /^$/,
        D: /^iperf Done\.$/,
      });
      assert.match(theirShape, /^CLLRiiS(-iiS){1,2}-hababABeD$/, result.stdout);
      // The receiver lines show what our server counted: not zero.
      for (const line of theirs.filter((l) => l.endsWith("receiver"))) {
        assert.doesNotMatch(line, / {2}0\.00 Bytes /, line);
      }

      // Our server's own output, as iperf3 3.12's server prints it.
      const ours = splitLines(stdout);
      const ourShape = lineShape(ours, {
        "=": /^-{59}$/,
        W: new RegExp(`^Server listening on ${p} \\(test #1\\)$`),
        X: /^Accepted connection from 127\.0\.0\.1, port \d+$/,
        L: new RegExp(
          `^\\[  [58]\\] local 127\\.0\\.0\\.1 port ${p} connected to 127\\.0\\.0\\.1 port \\d+$`,
        ),
        H: new RegExp(`^${quote(HEADER)}$`),
        i: bwLine(id(5)),
        j: bwLine(id(8)),
        S: bwLine(quote("[SUM]")),
        "-": new RegExp(`^${quote(SEPARATOR_LINE)}$`),
        b: bwLine(id(5), "receiver"),
        d: bwLine(id(8), "receiver"),
        B: bwLine(quote("[SUM]"), "receiver"),
      });
      // A one-off server prints no new banner after its test; it only knows
      // the receiver side, so there are no sender lines.
      assert.match(ourShape, /^=W=XLLHijS(-ijS){1,3}-HbdB$/, stdout);
      checkTimes(ours.filter((l) => !l.endsWith("receiver")), 2);
    } finally {
      controller.abort();
      code ??= await served;
    }
    assert.equal(code, 0);
    assert.equal(stderr, "");
  },
);
