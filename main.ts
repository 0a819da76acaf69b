/**
 * The `iperf3`-compatible command: parses the arguments, hooks SIGINT/SIGTERM
 * to an AbortController, runs the client or the server, exits with iperf3's
 * exit code.
 *
 * @module
 */

import { runCli } from "./lib/cli/run.ts";

const encoder = new TextEncoder();

function writeAllSync(
  file: { writeSync(p: Uint8Array): number },
  text: string,
): void {
  const bytes = encoder.encode(text);
  let written = 0;
  while (written < bytes.byteLength) {
    written += file.writeSync(bytes.subarray(written));
  }
}

/** Runs iperf-ts as a command; resolves to the exit code. */
export async function main(args: string[]): Promise<number> {
  const controller = new AbortController();
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT", "SIGBREAK"]
    : ["SIGINT", "SIGTERM", "SIGHUP"];
  const onSignal = () => {
    // A second signal while shutting down forces the exit.
    if (controller.signal.aborted) Deno.exit(1);
    controller.abort();
  };
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  // When stdout goes away (`| head`), stop the test as Ctrl-C would: the
  // peer is told, and nothing more is written.
  let stdoutOpen = true;
  const stdout = (text: string) => {
    if (!stdoutOpen) return;
    try {
      writeAllSync(Deno.stdout, text);
    } catch (error) {
      if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
      stdoutOpen = false;
      controller.abort();
    }
  };
  try {
    return await runCli(args, {
      stdout,
      stderr: (text) => writeAllSync(Deno.stderr, text),
      signal: controller.signal,
    });
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
