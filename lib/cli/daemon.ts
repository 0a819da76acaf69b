/**
 * `-D`: run the server as a detached background process. Deno cannot fork,
 * so the command starts itself again, detached, with the same arguments
 * minus `-D`, and returns.
 *
 * @module
 */

import { UsageError } from "../errors.ts";

/** What the detached server needs besides the arguments. */
export interface DaemonOptions {
  /** Files the server writes (`--logfile`, `--pidfile`), for the permission to write them. */
  writes: string[];
}

/**
 * Starts the server again as a detached process and returns at once.
 *
 * @param args the command line, `-D` included (it is removed)
 * @param options the files it will write
 * @returns the child's process id
 * @throws {UsageError} when this process may not start programs (`--allow-run`)
 */
export function spawnDaemon(args: string[], options: DaemonOptions): number {
  const rest = args.filter((a) => a !== "-D" && a !== "--daemon");
  const exec = Deno.execPath();
  const runningScript = /(^|[\\/])deno(\.exe)?$/i.test(exec);
  const command = runningScript
    ? [
      "run",
      "--allow-net",
      "--allow-sys=hostname,osRelease",
      ...(options.writes.length
        ? [`--allow-write=${options.writes.join(",")}`]
        : []),
      Deno.mainModule,
      ...rest,
    ]
    : rest;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(exec, {
      args: command,
      stdin: "null",
      stdout: "null",
      stderr: "null",
      detached: true,
    }).spawn();
  } catch (error) {
    throw new UsageError(
      `-D needs to start a detached copy of this program (run with --allow-run): ${
        error instanceof Error ? error.message.split("\n")[0] : String(error)
      }`,
    );
  }
  child.unref();
  return child.pid;
}
