/**
 * `cli()`: runs the command line in this process (`runCli`) and keeps what
 * it printed.
 *
 * @module
 */

import { runCli } from "../../lib/cli/run.ts";

/** What a command line printed, and its exit code. */
export interface CliRun {
  /** The exit code. */
  code: number;
  /** Everything written to stdout. */
  stdout: string;
  /** Everything written to stderr. */
  stderr: string;
}

/**
 * Runs `args` as the `iperf3` command would, capturing its output.
 *
 * @param args the arguments after the program name
 * @param signal interrupts it as Ctrl-C would
 * @returns exit code and output
 */
export async function cli(
  args: string[],
  signal?: AbortSignal,
): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(args, {
    stdout: (text) => stdout += text,
    stderr: (text) => stderr += text,
    ...(signal ? { signal } : {}),
  });
  return { code, stdout, stderr };
}
