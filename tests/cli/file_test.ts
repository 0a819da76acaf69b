/**
 * `-F`: a sending stream reads the file, a receiving stream writes it, as
 * iperf3's `diskfile_send`/`diskfile_recv`. The file that arrives is
 * compared byte for byte with the one sent, our two sides and against
 * iperf3 (3.12 in CI) both ways; the `Sent X / SIZE (P%) of NAME` line and
 * the `diskfile` object are checked; a file that cannot be opened and UDP
 * are iperf3's errors. Also `--no-fq-socket-pacing`, iperf3's deprecated
 * `--fq-rate 0`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cli } from "../_support/cli.ts";
import { withServer } from "../_support/server.ts";
import { parseCommandLine } from "../../lib/cli/args.ts";
import { runCli } from "../../lib/cli/run.ts";
import {
  type Ending,
  freePort,
  interopTest,
  Iperf3,
  iperf3ServerArgs,
  LOOPBACK,
  runIperf3ClientUntilServed,
  runOurCliClient,
} from "../interop/_iperf3.ts";

/** 3 000 000 random bytes: not a multiple of the 128 KiB block, so the last write is short. */
const SIZE = 3_000_000;

async function withFiles(
  body: (dir: string, source: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "iperf-ts-file-" });
  try {
    const source = `${dir}/source.bin`;
    const bytes = new Uint8Array(SIZE);
    for (let i = 0; i < SIZE; i += 65536) {
      crypto.getRandomValues(bytes.subarray(i, Math.min(i + 65536, SIZE)));
    }
    await Deno.writeFile(source, bytes);
    await body(dir, source);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function assertSameFile(a: string, b: string): Promise<void> {
  const [x, y] = await Promise.all([Deno.readFile(a), Deno.readFile(b)]);
  assert.equal(y.byteLength, x.byteLength, `${b} has the size of ${a}`);
  assert.ok(x.every((v, i) => v === y[i]), `${b} equals ${a}`);
}

/** Runs our one-off server with `serverArgs` beside the body, returning what it printed. */
async function withOurCliServer(
  serverArgs: string[],
  body: (port: number, server: Ending) => Promise<void>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const port = freePort();
  let stdout = "";
  let stderr = "";
  let done = false;
  const server = runCli(["-s", "-1", "-p", String(port), ...serverArgs], {
    stdout: (text) => stdout += text,
    stderr: (text) => stderr += text,
  }).finally(() => done = true);
  try {
    await body(port, {
      get exited() {
        return done;
      },
    });
  } finally {
    await server;
  }
  return { code: await server, stdout, stderr };
}

Deno.test("-F: our client sends a file and our server writes it, byte for byte; the test ends at the file's end", async () => {
  await withFiles(async (dir, source) => {
    const target = `${dir}/target.bin`;
    let client = { code: -1, stdout: "", stderr: "" };
    const server = await withOurCliServer(["-F", target], async (port) => {
      client = await retryRefused(() =>
        cli(["-c", LOOPBACK, "-p", String(port), "-F", source])
      );
    });
    assert.equal(client.code, 0, client.stderr + client.stdout);
    assert.equal(server.code, 0, server.stderr);
    await assertSameFile(source, target);
    // Both sides print iperf3's line after the sender line; -F without -t
    // sends the file's size (2.86 MByte), not 10 s.
    assert.match(
      client.stdout,
      new RegExp(
        String
          .raw`sender\n        Sent 2\.86 MByte / 2\.86 MByte \(100%\) of ${source}\n.*receiver`,
      ),
    );
    assert.match(
      server.stdout,
      new RegExp(
        String
          .raw`        Sent 2\.86 MByte / 2\.86 MByte \(100%\) of ${target}\n.*receiver`,
      ),
    );
    assert.doesNotMatch(client.stdout, / 1\.00-2\.00 /);
  });
});

Deno.test("-F -R: our server sends its file, our client writes it; -J carries iperf3's diskfile object", async () => {
  await withFiles(async (dir, source) => {
    const target = `${dir}/received.bin`;
    let client = { code: -1, stdout: "", stderr: "" };
    await withOurCliServer(["-F", source], async (port) => {
      client = await retryRefused(() =>
        cli([
          "-c",
          LOOPBACK,
          "-p",
          String(port),
          "-R",
          "-t",
          "2",
          "-F",
          target,
          "-J",
        ])
      );
    });
    assert.equal(client.code, 0, client.stderr + client.stdout);
    await assertSameFile(source, target);
    const doc = JSON.parse(client.stdout);
    const stream = doc.end.streams[0];
    // iperf3's key order: sender, diskfile, receiver.
    assert.deepEqual(Object.keys(stream), ["sender", "diskfile", "receiver"]);
    assert.deepEqual(stream.diskfile, {
      sent: SIZE,
      received: SIZE,
      size: SIZE,
      "percent_sent": 100,
      "percent_received": 100,
      filename: target,
    });
  });
});

Deno.test("-F with -P 2: each stream writes the file from its start (iperf3 opens it per stream)", async () => {
  await withFiles(async (dir, source) => {
    const target = `${dir}/p2.bin`;
    await withServer(async (server) => {
      const run = await cli([
        "-c",
        LOOPBACK,
        "-p",
        String(server.port),
        "-P",
        "2",
        "-t",
        "3",
        "-F",
        source,
      ]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(server.errors.length, 0, String(server.errors));
      // The first stream at the file's end ends the test, long before 3 s.
      assert.doesNotMatch(run.stdout, / 1\.00-2\.00 /);
      const sent = run.stdout.match(/Sent [\d.]+ MByte \/ 2\.86 MByte/g);
      assert.equal(sent?.length, 2, run.stdout);
    }, { file: target });
    // Both streams truncated and wrote the same file: its content is one
    // stream's copy of the source, whichever wrote last.
    const info = await Deno.stat(target);
    assert.ok(info.size > 0 && info.size <= SIZE, `size ${info.size}`);
  });
});

Deno.test("-F errors: a file that cannot be opened is IEFILE on either side; UDP is refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "iperf-ts-file-" });
  const absent = `${dir}/missing/f`;
  try {
    await fileErrors(absent);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function fileErrors(absent: string): Promise<void> {
  await withServer(async (server) => {
    const port = String(server.port);
    const missing = await cli([
      "-c",
      LOOPBACK,
      "-p",
      port,
      "-F",
      absent,
    ]);
    assert.equal(missing.code, 1);
    assert.equal(
      missing.stderr,
      "iperf3: error - unable to open -F file: No such file or directory\n",
    );
    const udp = await cli(["-c", LOOPBACK, "-p", port, "-u", "-F", "/tmp/x"]);
    assert.equal(udp.code, 1);
    assert.match(
      udp.stderr,
      /^iperf3: parameter error - cannot transfer file using UDP\n/,
    );
  });
  // The server's own file: told to the client (iperf3's server only hangs up).
  const refusedBy = async (file: string, flags: string[], line: RegExp) => {
    await withServer(async (server) => {
      const port = String(server.port);
      const run = await cli(["-c", LOOPBACK, "-p", port, "-t", "1", ...flags]);
      assert.equal(run.code, 1);
      assert.match(run.stderr, line);
    }, { file });
  };
  await refusedBy(absent, [], /^iperf3: error - unable to open -F file\n/);
  await refusedBy(
    "/tmp/x",
    ["-u"],
    /^iperf3: error - cannot transfer file using UDP\n/,
  );
}

interopTest(
  "-F interop: iperf3's client sends a file to our server, our client sends one to iperf3's server",
  async () => {
    await withFiles(async (dir, source) => {
      const ours = `${dir}/at-ours.bin`;
      await withOurCliServer(["-F", ours], async (port, server) => {
        const result = await runIperf3ClientUntilServed(
          port,
          ["-F", source],
          server,
        );
        assert.equal(result.code, 0, result.stdout + result.stderr);
        assert.match(
          result.stdout,
          /Sent 2\.86 MByte \/ 2\.86 MByte \(100%\)/,
        );
      });
      await assertSameFile(source, ours);

      const theirs = `${dir}/at-iperf3.bin`;
      const port = freePort();
      await using server = new Iperf3([
        ...iperf3ServerArgs(port),
        "-F",
        theirs,
      ]);
      const run = await runOurCliClient(
        ["-c", LOOPBACK, "-p", String(port), "-F", source],
        server,
      );
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const result = await server.wait();
      assert.equal(result.code, 0, result.stdout + result.stderr);
      await assertSameFile(source, theirs);
    });
  },
);

Deno.test("--no-fq-socket-pacing is iperf3's deprecated --fq-rate 0, with its warning on stderr", async () => {
  const config = parseCommandLine([
    "-c",
    "h",
    "--fq-rate",
    "10M",
    "--no-fq-socket-pacing",
  ]);
  assert.ok(config.role === "client");
  assert.equal(config.client.params.fqRate, 0);
  const run = await cli(["-c", LOOPBACK, "-p", "1", "--no-fq-socket-pacing"]);
  assert.match(
    run.stderr,
    /^Warning: {2}--no-fq-socket-pacing is deprecated\n/,
  );
});

/** Runs `run` until its connection is not refused (the one-off server may not listen yet), at most 50 times. */
async function retryRefused(
  run: () => Promise<{ code: number; stdout: string; stderr: string }>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  for (let attempt = 1;; attempt++) {
    const result = await run();
    if (
      result.code === 0 || attempt >= 50 ||
      !(result.stdout + result.stderr).includes("Connection refused")
    ) return result;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interopTest(
  "iperf3's client that cannot open its -F file leaves quietly: our server prints no error, as iperf3's",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "iperf-ts-file-" });
    try {
      const server = await withOurCliServer([], async (port, ending) => {
        const result = await runIperf3ClientUntilServed(
          port,
          ["-F", `${dir}/missing`],
          ending,
        );
        assert.match(
          result.stderr,
          /unable to open -F file/,
          `iperf3 client: ${result.stdout}${result.stderr}`,
        );
      });
      const printed =
        `server: ${server.code}\n${server.stdout}${server.stderr}`;
      assert.equal(server.code, 0, printed);
      assert.equal(server.stderr, "", printed);
      assert.match(
        server.stdout,
        /Accepted connection from 127\.0\.0\.1/,
        printed,
      );
      assert.doesNotMatch(server.stdout, /error/, printed);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
