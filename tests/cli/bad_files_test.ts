/**
 * Bad files and flags: a log file that cannot be opened or written, key and
 * users files that never end (`/dev/zero`), a password on standard input that
 * never ends. Each gives one `iperf3: error - ...` line, exit code 1, no stack
 * trace, and ends within seconds. Exit codes and stderr of the real process
 * come from a child `deno run main.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { fileURLToPath } from "node:url";
import { runCli } from "../../lib/cli/run.ts";
import { readCapped } from "../../lib/cli/read_capped.ts";
import { waitForEvents, withServer } from "../_support/server.ts";

const MAIN = fileURLToPath(new URL("../../main.ts", import.meta.url));
/** Every case must end well within this (the old code read /dev/zero until killed). */
const LIMIT_MS = 5_000;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * `runCli` in this process, stopped (and failed) after `LIMIT_MS`; with
 * `failStdout`, every write to stdout throws that error (a disk that is full,
 * a terminal that is gone).
 */
async function cli(args: string[], failStdout?: Error): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), LIMIT_MS);
  const start = performance.now();
  try {
    const code = await runCli(args, {
      stdout: (text) => {
        if (failStdout) throw failStdout;
        stdout += text;
      },
      stderr: (text) => stderr += text,
      signal: controller.signal,
    });
    return { code, stdout, stderr, ms: performance.now() - start };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `deno run main.ts` in a child, killed after twice `LIMIT_MS`; `feed` gets
 * its standard input (else it reads nothing). Deno opens a device such as
 * `/dev/full` for writing only under `--allow-all`, hence `all`.
 */
async function child(
  args: string[],
  options: {
    all?: boolean;
    feed?: (stdin: WritableStream<Uint8Array>) => Promise<void>;
  } = {},
): Promise<Run> {
  const start = performance.now();
  const feed = options.feed;
  const process = new Deno.Command("deno", {
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      "--unstable-net",
      ...(options.all ? ["--allow-all"] : [
        "--allow-net=127.0.0.1",
        "--allow-sys=hostname,osRelease",
        "--allow-read",
        "--allow-write=/tmp",
      ]),
      MAIN,
      ...args,
    ],
    stdin: feed ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(2 * LIMIT_MS),
  }).spawn();
  const fed = feed?.(process.stdin);
  const out = await process.output();
  await fed;
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
    ms: performance.now() - start,
  };
}

/** One error line on stderr, exit code 1, no stack trace, in time. */
function assertOneLine(run: Run, line: string): void {
  assert.doesNotMatch(run.stderr, /^\s+at /m, run.stderr);
  assert.equal(run.stderr, `iperf3: error - ${line}\n`);
  assert.equal(run.code, 1);
  assert.ok(run.ms < LIMIT_MS, `took ${Math.round(run.ms)} ms`);
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

/** A temporary directory with a fresh RSA key pair, removed afterwards. */
async function withKeys(
  body: (keys: { dir: string; pub: string; priv: string }) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "iperf-ts-bad-files-" });
  try {
    const pair = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      publicKeyEncoding: { type: "spki", format: "pem" },
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
    });
    const keys = { dir, pub: `${dir}/pub.pem`, priv: `${dir}/priv.pem` };
    await Deno.writeTextFile(keys.pub, pair.publicKey);
    await Deno.writeTextFile(keys.priv, pair.privateKey);
    await body(keys);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("runCli() --logfile in a missing directory: one line, exit 1", async () => {
  const path = "/tmp/iperf-ts-no-such-dir/x.log";
  for (
    const role of [["-c", "127.0.0.1"], [
      "-s",
      "-B",
      "127.0.0.1",
      "-p",
      String(freePort()),
    ]]
  ) {
    const run = await cli([...role, "--logfile", path]);
    assertOneLine(
      run,
      `unable to open log file "${path}": No such file or directory`,
    );
    assert.equal(run.stdout, "");
  }
});

Deno.test("runCli() --logfile on a directory: one line, exit 1", async () => {
  for (
    const role of [["-c", "127.0.0.1"], [
      "-s",
      "-B",
      "127.0.0.1",
      "-p",
      String(freePort()),
    ]]
  ) {
    const run = await cli([...role, "--logfile", "/tmp"]);
    assertOneLine(run, 'unable to open log file "/tmp": Is a directory');
  }
});

Deno.test("runCli() client whose output fails stops at the first write: one line, exit 1", async () => {
  await withServer(async (server) => {
    const run = await cli(
      ["-c", "127.0.0.1", "-p", String(server.port), "-n", "1M"],
      new Error("No space left on device (os error 28)"),
    );
    assertOneLine(
      run,
      "unable to write to standard output: No space left on device",
    );
  });
});

Deno.test("runCli() client -J whose output fails when the document is written: one line, exit 1", async () => {
  await withServer(async (server) => {
    const run = await cli(
      ["-c", "127.0.0.1", "-p", String(server.port), "-n", "1M", "-J"],
      new Error("Input/output error (os error 5)"),
    );
    assertOneLine(
      run,
      "unable to write to standard output: Input/output error",
    );
    // The test itself ran to its end with the server.
    await waitForEvents(server, "ended", 1);
  });
});

Deno.test("runCli() server whose output fails stops, closes its listener, exit 1", async () => {
  const port = freePort();
  const run = await cli(
    ["-s", "-B", "127.0.0.1", "-p", String(port)],
    new Error("No space left on device (os error 28)"),
  );
  assertOneLine(
    run,
    "unable to write to standard output: No space left on device",
  );
  // The port is free again (the sanitizers check that nothing else leaked).
  Deno.listen({ hostname: "127.0.0.1", port }).close();
});

Deno.test("runCli() server -J whose output fails after a test stops, exit 1", async () => {
  const port = freePort();
  const server = cli(
    ["-s", "-B", "127.0.0.1", "-p", String(port), "-J"],
    new Error("No space left on device (os error 28)"),
  );
  const client = await cli(["-c", "127.0.0.1", "-p", String(port), "-n", "1M"]);
  assert.equal(client.code, 0, client.stderr);
  assertOneLine(
    await server,
    "unable to write to standard output: No space left on device",
  );
  Deno.listen({ hostname: "127.0.0.1", port }).close();
});

Deno.test("main.ts --logfile /dev/full: one line on stderr, exit 1, client and server", async () => {
  await withServer(async (server) => {
    for (
      const role of [
        ["-c", "127.0.0.1", "-p", String(server.port), "-n", "1M"],
        ["-c", "127.0.0.1", "-p", String(server.port), "-n", "1M", "-J"],
        ["-s", "-B", "127.0.0.1", "-p", String(freePort())],
      ]
    ) {
      const run = await child([...role, "--logfile", "/dev/full"], {
        all: true,
      });
      assertOneLine(
        run,
        'unable to write to log file "/dev/full": No space left on device',
      );
      assert.equal(run.stdout, "");
    }
  });
});

Deno.test("main.ts -s -J --logfile /dev/full stops after the first test: exit 1", async () => {
  const port = freePort();
  const server = child(
    [
      "-s",
      "-B",
      "127.0.0.1",
      "-p",
      String(port),
      "-J",
      "--logfile",
      "/dev/full",
    ],
    { all: true },
  );
  // The child needs a moment to listen: retry the refused connection.
  let client: Run | undefined;
  for (let i = 0; i < 50; i++) {
    client = await cli(["-c", "127.0.0.1", "-p", String(port), "-n", "1M"]);
    if (client.code === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(client?.code, 0, client?.stderr);
  const run = await server;
  assert.doesNotMatch(run.stderr, /^\s+at /m, run.stderr);
  assert.equal(
    run.stderr,
    'iperf3: error - unable to write to log file "/dev/full": No space left on device\n',
  );
  assert.equal(run.code, 1);
});

Deno.test("main.ts --logfile /dev/full without --allow-all: one line, exit 1", async () => {
  const run = await child([
    "-c",
    "127.0.0.1",
    "-p",
    String(freePort()),
    "--logfile",
    "/dev/full",
  ]);
  assert.doesNotMatch(run.stderr, /^\s+at /m, run.stderr);
  assert.match(
    run.stderr,
    /^iperf3: error - unable to open log file "\/dev\/full": Permission denied \(Requires (write|all) access to "\/dev\/full", run again with the --allow-(write|all) flag\)\n$/,
  );
  assert.equal(run.code, 1);
});

Deno.test("main.ts --logfile in a missing directory: one line on stderr, exit 1", async () => {
  const path = "/tmp/iperf-ts-no-such-dir/x.log";
  const run = await child([
    "-s",
    "-B",
    "127.0.0.1",
    "-p",
    String(freePort()),
    "--logfile",
    path,
  ]);
  assertOneLine(
    run,
    `unable to open log file "${path}": No such file or directory`,
  );
});

Deno.test("main.ts --rsa-public-key-path /dev/zero: refused past 64 KiB, exit 1", async () => {
  const run = await child([
    "-c",
    "127.0.0.1",
    "-p",
    String(freePort()),
    "--username",
    "u",
    "--rsa-public-key-path",
    "/dev/zero",
  ]);
  assertOneLine(
    run,
    'the RSA public key file "/dev/zero" is larger than 64 KiB',
  );
});

Deno.test("main.ts --rsa-private-key-path /dev/zero: refused past 64 KiB, exit 1", async () => {
  const run = await child([
    "-s",
    "-B",
    "127.0.0.1",
    "-p",
    String(freePort()),
    "--rsa-private-key-path",
    "/dev/zero",
    "--authorized-users-path",
    "/dev/zero",
  ]);
  assertOneLine(
    run,
    'the RSA private key file "/dev/zero" is larger than 64 KiB',
  );
});

Deno.test("main.ts --authorized-users-path /dev/zero: refused past 1 MiB, exit 1", async () => {
  await withKeys(async (keys) => {
    const port = freePort();
    const run = await child([
      "-s",
      "-B",
      "127.0.0.1",
      "-p",
      String(port),
      "--rsa-private-key-path",
      keys.priv,
      "--authorized-users-path",
      "/dev/zero",
    ]);
    assertOneLine(
      run,
      'the authorized users file "/dev/zero" is larger than 1 MiB',
    );
    // The listener it had opened is gone with it.
    Deno.listen({ hostname: "127.0.0.1", port }).close();
  });
});

Deno.test("main.ts --username with endless standard input: password refused past 4096 bytes, exit 1", async () => {
  await withKeys(async (keys) => {
    let sent = 0;
    const run = await child([
      "-c",
      "127.0.0.1",
      "-p",
      String(freePort()),
      "--username",
      "u",
      "--rsa-public-key-path",
      keys.pub,
    ], {
      feed: async (stdin) => {
        // `< /dev/zero`: zeros, no line end, until the reader goes away.
        const writer = stdin.getWriter();
        const zeros = new Uint8Array(64 * 1024);
        try {
          while (sent < 1024 * 1024 * 1024) {
            await writer.write(zeros);
            sent += zeros.byteLength;
          }
          await writer.close();
        } catch {
          // The child exited and closed its end (EPIPE).
        }
      },
    });
    assertOneLine(run, "the password is longer than 4096 bytes");
    assert.ok(sent < 1024 * 1024 * 1024);
  });
});

Deno.test("main.ts --username with a 4097-byte line on standard input: password refused", async () => {
  await withKeys(async (keys) => {
    const run = await child([
      "-c",
      "127.0.0.1",
      "-p",
      String(freePort()),
      "--username",
      "u",
      "--rsa-public-key-path",
      keys.pub,
    ], {
      feed: async (stdin) => {
        const writer = stdin.getWriter();
        await writer.write(new TextEncoder().encode(`${"a".repeat(4097)}\n`))
          .catch(() => {});
        await writer.close().catch(() => {});
      },
    });
    assertOneLine(run, "the password is longer than 4096 bytes");
  });
});

Deno.test("readCapped() refuses /dev/zero after the cap and reads a small file whole", async () => {
  const start = performance.now();
  await assert.rejects(
    readCapped("/dev/zero", { maxBytes: 64 * 1024, label: "test file" }),
    {
      name: "RangeError",
      message: 'the test file "/dev/zero" is larger than 64 KiB',
    },
  );
  assert.ok(performance.now() - start < LIMIT_MS);
  const path = await Deno.makeTempFile({ prefix: "iperf-ts-capped-" });
  try {
    await Deno.writeTextFile(path, "x".repeat(1024));
    assert.equal(await readCapped(path, { maxBytes: 1024 }), "x".repeat(1024));
    await Deno.writeTextFile(path, "x".repeat(1025));
    await assert.rejects(readCapped(path, { maxBytes: 1024 }), {
      name: "RangeError",
      message: `the file "${path}" is larger than 1 KiB`,
    });
  } finally {
    await Deno.remove(path);
  }
});
