import assert from "node:assert/strict";
import { nativeSockets } from "../../lib/net/native.ts";
import { runCli } from "../../lib/cli/run.ts";
import { ERROR_CODES, IperfError, ServerError } from "../../lib/errors.ts";
import { writeAll } from "../../lib/net/io.ts";
import {
  encodeCookie,
  encodeJsonFrame,
  makeCookie,
  readServerErrorPayload,
  readState,
} from "../../lib/protocol/codec.ts";
import { STATES } from "../../lib/protocol/states.ts";
import { runClientSession } from "../../lib/session/client.ts";
import { tcpParams, withServer } from "../_support/server.ts";

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

Deno.test("serve() --rcv-timeout ends a test whose client stops sending, and says why", async () => {
  await withServer(async (server) => {
    const cookie = makeCookie();
    const control = await Deno.connect({
      hostname: "127.0.0.1",
      port: server.port,
    });
    const data = await Deno.connect({
      hostname: "127.0.0.1",
      port: server.port,
    }).catch((e) => {
      control.close();
      throw e;
    });
    try {
      await writeAll(control, encodeCookie(cookie));
      assert.equal(await readState(control), STATES.PARAM_EXCHANGE);
      await writeAll(
        control,
        encodeJsonFrame({
          tcp: true,
          time: 0,
          num: 1 << 30,
          parallel: 1,
          len: 131072,
        }),
      );
      assert.equal(await readState(control), STATES.CREATE_STREAMS);
      await writeAll(data, encodeCookie(cookie));
      assert.equal(await readState(control), STATES.TEST_START);
      assert.equal(await readState(control), STATES.TEST_RUNNING);
      const started = performance.now();
      // Send nothing: after 400 ms the server gives up with iperf3's 144.
      assert.equal(await readState(control), STATES.SERVER_ERROR);
      const payload = await readServerErrorPayload(control);
      assert.equal(payload.code, ERROR_CODES.IENOMSG);
      assert.ok(performance.now() - started < 5000);
    } finally {
      data.close();
      control.close();
    }
    for (let i = 0; i < 100 && server.errors.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const error = server.errors[0];
    assert.ok(
      error instanceof IperfError && error.code === ERROR_CODES.IENOMSG,
      String(error),
    );
  }, { receiveTimeoutMs: 400 });
});

Deno.test("serve() --server-bitrate-limit refuses too fast a request and stops too fast a test", async () => {
  await withServer(async (server) => {
    await assert.rejects(
      runClientSession({
        host: "127.0.0.1",
        port: server.port,
        interval: 0,
        params: tcpParams({ time: 1, bandwidth: 60_000_000, parallel: 2 }),
      }),
      (error: unknown) =>
        error instanceof ServerError &&
        error.code === ERROR_CODES.IETOTALRATE &&
        error.iperfText ===
          "total required bandwidth is larger than server limit",
    );
    // Unlimited TCP on loopback goes far above 100 Mbit/s: stopped within the window.
    await assert.rejects(
      runClientSession({
        host: "127.0.0.1",
        port: server.port,
        interval: 0,
        params: tcpParams({ time: 10 }),
      }),
      (error: unknown) =>
        error instanceof ServerError && error.code === ERROR_CODES.IETOTALRATE,
    );
    // Within the limit, a test passes.
    const ok = await runClientSession({
      host: "127.0.0.1",
      port: server.port,
      interval: 0,
      params: tcpParams({ time: 1, bandwidth: 20_000_000 }),
    });
    assert.ok((ok.summary.streams[0]?.bytesReceived ?? 0) > 0);
  }, { bitrateLimit: 100_000_000, bitrateLimitWindow: 1 });
});

Deno.test("serve() --server-max-duration refuses longer and unlimited tests with iperf3's number 37", async () => {
  await withServer(async (server) => {
    for (
      const params of [
        tcpParams({ time: 20 }),
        tcpParams({ time: 0, bytes: 1 << 20 }),
      ]
    ) {
      await assert.rejects(
        runClientSession({
          host: "127.0.0.1",
          port: server.port,
          interval: 0,
          params,
        }),
        (error: unknown) =>
          error instanceof ServerError &&
          error.code === ERROR_CODES.IEMAXSERVERTESTDURATION,
      );
    }
    const ok = await runClientSession({
      host: "127.0.0.1",
      port: server.port,
      interval: 0,
      params: tcpParams({ time: 1 }),
    });
    assert.ok((ok.summary.streams[0]?.bytesReceived ?? 0) > 0);
  }, { maxDuration: 10 });
});

Deno.test("runCli() -s -1 --idle-timeout stops an unused server; -I writes and removes the PID file", async () => {
  const pidfile = await Deno.makeTempFile({ prefix: "iperf-ts-pid-" });
  const port = freePort();
  let stdout = "";
  let stderr = "";
  const started = performance.now();
  const server = runCli([
    "-s",
    "-1",
    "-B",
    "127.0.0.1",
    "-p",
    String(port),
    "--idle-timeout",
    "1",
    "-I",
    pidfile,
  ], {
    stdout: (text) => stdout += text,
    stderr: (text) => stderr += text,
  });
  // The server writes the PID file as it starts, later on a busy machine:
  // it is read until it is not empty, at most 5 s or until the server ends
  // (the idle timeout removes it after 1 s).
  let ended = false;
  server.then(() => ended = true, () => ended = true);
  const deadline = performance.now() + 5000;
  let written = "";
  while (!written && !ended && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    written = (await Deno.readTextFile(pidfile).catch(() => "")).trim();
  }
  assert.equal(written, String(Deno.pid));
  assert.equal(await server, 0, stderr);
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 900 && elapsed < 5000, `stopped after ${elapsed} ms`);
  await assert.rejects(Deno.stat(pidfile), Deno.errors.NotFound);
  assert.match(stdout, /Server listening on \d+ \(test #1\)/);
});

Deno.test("runCli() --cntl-ka runs a normal test with keepalive on the control connection", async () => {
  await withServer(async (server) => {
    let stdout = "";
    const code = await runCli([
      "-c",
      "127.0.0.1",
      "-p",
      String(server.port),
      "-n",
      "1M",
      "--cntl-ka",
    ], {
      stdout: (text) => stdout += text,
      stderr: (text) => stdout += text,
    });
    assert.equal(code, 0, stdout);
    assert.match(stdout, /iperf Done\.\n$/);
  }, { keepAlive: true });
});

Deno.test({
  name:
    "runCli() --cntl-ka=IDLE/INTVL/CNT sets the control connection's keepalive timings (-d says so)",
  ignore: nativeSockets() === undefined,
  fn: async () => {
    await withServer(async (server) => {
      let stdout = "";
      const code = await runCli([
        "-c",
        "127.0.0.1",
        "-p",
        String(server.port),
        "-n",
        "1M",
        "--cntl-ka=20/4/2",
        "-d",
      ], {
        stdout: (text) => stdout += text,
        stderr: (text) => stdout += text,
      });
      assert.equal(code, 0, stdout);
      assert.match(
        stdout,
        /control connection TCP keepalive TCP_KEEPIDLE\/TCP_KEEPINTVL\/TCP_KEEPCNT are set to 20\/4\/2\n/,
      );
    }, {
      keepAlive: true,
      keepAliveSettings: { idle: 30, interval: 5, count: 3 },
    });
  },
});

Deno.test("serve() with credentials answers a malformed or missing token with SERVER_ERROR 142, and goes on", async () => {
  const { generateKeyPairSync } = await import("node:crypto");
  const { privateKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  await withServer(async (server) => {
    for (
      const extra of [{ authtoken: "garbage" }, {
        authtoken: btoa("x".repeat(256)),
      }, {}]
    ) {
      const control = await Deno.connect({
        hostname: "127.0.0.1",
        port: server.port,
      });
      try {
        await writeAll(control, encodeCookie(makeCookie()));
        assert.equal(await readState(control), STATES.PARAM_EXCHANGE);
        await writeAll(
          control,
          encodeJsonFrame({
            tcp: true,
            time: 1,
            parallel: 1,
            len: 131072,
            ...extra,
          }),
        );
        assert.equal(await readState(control), STATES.SERVER_ERROR);
        assert.equal(
          (await readServerErrorPayload(control)).code,
          ERROR_CODES.IEAUTHTEST,
        );
      } finally {
        control.close();
      }
    }
    await assert.rejects(
      runClientSession({
        host: "127.0.0.1",
        port: server.port,
        interval: 0,
        params: tcpParams({ time: 1 }),
      }),
      (error: unknown) =>
        error instanceof ServerError &&
        error.iperfText === "test authorization failed",
    );
  }, {
    auth: {
      privateKeyPem: privateKey,
      users: new Map([["mario", "0".repeat(64)]]),
    },
  });
});
