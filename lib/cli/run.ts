/**
 * Wires the command line to the sessions and reporters, and maps every
 * outcome to iperf3's messages and an exit code. `main.ts` only supplies the
 * process's streams and signal.
 *
 * @module
 */

import {
  ERROR_CODES,
  InterruptedError,
  IperfError,
  ProtocolError,
  UsageError,
} from "../errors.ts";
import type { SessionEvent } from "../events.ts";
import { IPERF_PROTOCOL_VERSION } from "../protocol/params.ts";
import { TextReporter } from "../report/text.ts";
import { runClientSession } from "../session/client.ts";
import { listen, serve } from "../session/server.ts";
import { parseCommandLine } from "./args.ts";
import { USAGE_LONG, USAGE_SHORT } from "./usage.ts";

/** iperf-ts's own version. */
export const VERSION = "0.1.0";

/** Where the CLI writes, and what stops it. */
export interface CliIo {
  /** Normal output (stdout). */
  stdout: (text: string) => void;
  /** Errors and warnings (stderr). */
  stderr: (text: string) => void;
  /** Aborted on SIGINT/SIGTERM. */
  signal?: AbortSignal;
}

/**
 * Runs iperf-ts with a command line, as the `iperf3` binary would.
 *
 * @param args the arguments after the program name
 * @param io output functions and the interrupt signal
 * @returns the process exit code
 */
export async function runCli(args: string[], io: CliIo): Promise<number> {
  let config;
  try {
    config = parseCommandLine(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`iperf3: parameter error - ${error.message}\n${USAGE_SHORT}`);
    return error.exitCode;
  }
  if (config.role === "help") {
    io.stdout(USAGE_LONG);
    return 0;
  }
  if (config.role === "version") {
    io.stdout(
      `iperf-ts ${VERSION} (iperf3 protocol ${IPERF_PROTOCOL_VERSION})\n` +
        `Deno ${Deno.version.deno} ${Deno.build.target}\n`,
    );
    return 0;
  }
  const prefix = config.role === "client" && config.output.title !== undefined
    ? `${config.output.title}:  `
    : "";
  const reporter = new TextReporter({
    role: config.role,
    format: config.output.format,
    verbose: config.output.verbose,
    write: (line) => io.stdout(`${prefix}${line}\n`),
  });
  const emit = (event: SessionEvent) => reporter.handle(event);
  const signal = io.signal ?? new AbortController().signal;

  if (config.role === "client") {
    try {
      await runClientSession(config.client, { signal, emit });
      return 0;
    } catch (error) {
      if (error instanceof InterruptedError) {
        io.stderr(`iperf3: interrupt - ${error.iperfText}\n`);
        return 0;
      }
      io.stderr(`iperf3: error - ${describe(error)}\n`);
      return 1;
    }
  }

  let listener: Deno.TcpListener;
  try {
    listener = listen({
      port: config.server.port,
      ...(config.server.bindAddress === undefined
        ? {}
        : { hostname: config.server.bindAddress }),
      ...(config.server.family === undefined
        ? {}
        : { family: config.server.family }),
    });
  } catch (error) {
    io.stderr(`iperf3: error - ${describe(error)}\n`);
    return 1;
  }
  await serve(listener, {
    signal,
    emit,
    interval: config.server.interval,
    oneOff: config.server.oneOff,
    onTestError: (error) => io.stderr(serverErrorLine(error)),
  });
  if (signal.aborted) {
    io.stderr("iperf3: interrupt - the server has terminated\n");
  }
  return 0;
}

function describe(error: unknown): string {
  if (error instanceof IperfError) return error.iperfText;
  if (error instanceof Error) return error.message;
  return String(error);
}

function serverErrorLine(error: unknown): string {
  if (error instanceof InterruptedError) {
    return "iperf3: the client has terminated\n";
  }
  if (
    error instanceof ProtocolError && error.code === ERROR_CODES.IECTRLCLOSE
  ) {
    return "iperf3: the client has unexpectedly closed the connection\n";
  }
  return `iperf3: error - ${describe(error)}\n`;
}
