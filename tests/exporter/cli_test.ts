import assert from "node:assert/strict";
import { parseCommandLine } from "../../lib/cli/args.ts";
import { UsageError } from "../../lib/errors.ts";
import { cli } from "../_support/cli.ts";

function exporterConfig(args: string[]) {
  const config = parseCommandLine(["--exporter", ...args]);
  if (config.role !== "exporter") throw new Error(`role ${config.role}`);
  return config.exporter;
}

function usageError(args: string[]): string {
  try {
    parseCommandLine(args);
  } catch (error) {
    assert.ok(error instanceof UsageError, String(error));
    return error.message;
  }
  throw new Error(`${args.join(" ")} was accepted`);
}

Deno.test("parseCommandLine() takes --exporter with edgard's defaults", () => {
  assert.deepEqual(exporterConfig([]), {
    listenAddresses: [":9579"],
    timeout: 30,
    telemetryPath: "/metrics",
    probePath: "/probe",
    logLevel: "info",
    logFormat: "logfmt",
  });
});

Deno.test("parseCommandLine() reads the dotted flags as --name=value and --name value", () => {
  const config = exporterConfig([
    "--web.listen-address=:9579",
    "--web.listen-address",
    "[::1]:9579",
    "--iperf3.timeout",
    "1m30s",
    "--web.telemetry-path=/m",
    "--web.probe-path",
    "/p",
    "--log.level=debug",
    "--log.format",
    "json",
  ]);
  assert.deepEqual(config, {
    listenAddresses: [":9579", "[::1]:9579"],
    timeout: 90,
    telemetryPath: "/m",
    probePath: "/p",
    logLevel: "debug",
    logFormat: "json",
  });
  assert.equal(exporterConfig(["--iperf3.timeout=500ms"]).timeout, 0.5);
  // As edgard: an unknown level is info, any format but json is logfmt.
  assert.equal(exporterConfig(["--log.level", "loud"]).logLevel, "info");
  assert.equal(exporterConfig(["--log.format", "text"]).logFormat, "logfmt");
});

Deno.test("parseCommandLine() refuses --exporter with -s, -c or their options, and exporter flags without it", () => {
  assert.equal(
    usageError(["--exporter", "-s"]),
    "cannot be both exporter and server",
  );
  assert.equal(
    usageError(["-c", "h", "--exporter"]),
    "cannot be both exporter and client",
  );
  assert.equal(
    usageError(["--exporter", "-p", "1"]),
    "option --port cannot be used with --exporter",
  );
  assert.equal(
    usageError(["-s", "--web.listen-address", ":1"]),
    "some option you are trying to set is exporter only: --web.listen-address",
  );
  assert.equal(
    usageError(["-c", "h", "--iperf3.timeout=1s"]),
    "some option you are trying to set is exporter only: --iperf3.timeout",
  );
  assert.equal(
    usageError(["--exporter", "--iperf3.timeout", "5"]),
    'invalid --iperf3.timeout value "5": time: missing unit in duration "5"',
  );
  assert.equal(
    usageError(["--exporter", "--iperf3.timeout=-1s"]),
    "timeout must be greater than 0",
  );
  assert.equal(
    usageError(["--exporter", "--web.telemetry-path="]),
    "metrics path cannot be empty",
  );
  assert.equal(
    usageError(["--exporter", "--web.probe-path", ""]),
    "probe path cannot be empty",
  );
  assert.equal(
    usageError(["--exporter", "--web.listen-address", "9579"]),
    'invalid --web.listen-address value "9579": address 9579: missing port in address',
  );
  assert.equal(
    usageError(["--exporter", "--web.listen-address"]),
    "option '--web.listen-address' requires an argument",
  );
});

Deno.test("runCli() prints an exporter usage error as one line and exits 1", async () => {
  for (
    const args of [
      ["--exporter", "-s"],
      ["-c", "h", "--exporter"],
      ["--exporter", "--web.config.file", "web.yml"],
    ]
  ) {
    const run = await cli(args);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /^iperf3: [^\n]+\n$/);
  }
  assert.match((await cli(["--help"])).stdout, /\nExporter specific:\n/);
});

Deno.test("runCli() --exporter logs as edgard, stops on the signal and exits 0", async () => {
  const controller = new AbortController();
  const running = cli(
    ["--exporter", "--web.listen-address", "127.0.0.1:0"],
    controller.signal,
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  controller.abort();
  const run = await running;
  assert.equal(run.code, 0);
  assert.equal(run.stdout, "");
  const lines = run.stderr.trimEnd().split("\n");
  assert.deepEqual(
    lines.map((line) => line.replace(/^time=\S+ /, "")),
    [
      /^level=INFO msg="Starting iperf3 exporter" version=\S+$/,
      /^level=INFO msg="Listening on" address=127\.0\.0\.1:\d+$/,
      /^level=INFO msg="Stopping iperf3 exporter"$/,
      /^level=INFO msg="Server stopped gracefully"$/,
    ].map((pattern, i) => {
      const line = (lines[i] ?? "").replace(/^time=\S+ /, "");
      assert.match(line, pattern);
      return line;
    }),
  );
  assert.match(lines[0] ?? "", /^time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}/);
});

Deno.test("runCli() --exporter on a port in use logs the error and exits 1", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const run = await cli([
    "--exporter",
    "--web.listen-address",
    `127.0.0.1:${taken.addr.port}`,
    "--log.format",
    "json",
  ]);
  assert.equal(run.code, 1);
  const last = JSON.parse(run.stderr.trimEnd().split("\n").at(-1) ?? "{}");
  assert.equal(last.level, "ERROR");
  assert.equal(last.msg, "HTTP server error");
  assert.match(last.err, /Cannot listen on "127\.0\.0\.1:\d+"/);
});
