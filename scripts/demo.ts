/**
 * The loopback demo: starts an iperf-ts server on a free port of 127.0.0.1,
 * runs a short iperf-ts client test against it, and prints both sides'
 * output as iperf3 would. Extra arguments go to the client
 * (`deno task demo -R -P 2`).
 *
 * @module
 */

import { runCli } from "../lib/cli/run.ts";
import { TextReporter } from "../lib/report/text.ts";
import { listen, serve } from "../lib/session/server.ts";

const encoder = new TextEncoder();
function print(text: string): void {
  const bytes = encoder.encode(text);
  let written = 0;
  while (written < bytes.byteLength) {
    written += Deno.stdout.writeSync(bytes.subarray(written));
  }
}
function printError(text: string): void {
  Deno.stderr.writeSync(encoder.encode(text));
}

const controller = new AbortController();
const listener = listen({ hostname: "127.0.0.1", port: 0 });
const port = listener.addr.port;
const serverLines: string[] = [];
const reporter = new TextReporter({
  role: "server",
  write: (line) => serverLines.push(line),
});
const server = serve(listener, {
  signal: controller.signal,
  oneOff: true,
  emit: (event) => reporter.handle(event),
  onTestError: (error) => serverLines.push(`iperf3: error - ${String(error)}`),
});

const args = Deno.args.length > 0 ? Deno.args : ["-t", "3"];
print(
  `iperf-ts demo: server on 127.0.0.1 port ${port}, client: ${
    args.join(" ")
  }\n\n`,
);
const code = await runCli(["-c", "127.0.0.1", "-p", String(port), ...args], {
  stdout: print,
  stderr: printError,
});
// The server ends by itself after its one test; if the client never got
// that far, stop it.
if (code !== 0) controller.abort();
await server;
print(`\nServer output:\n${serverLines.join("\n")}\n`);
Deno.exit(code);
