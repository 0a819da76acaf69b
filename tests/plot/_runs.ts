/**
 * Real loopback runs for the plot tests: our client (`runCli`, in this
 * process) against our server, short (`-t 1 -i 0.2`, five intervals).
 *
 * @module
 */

import assert from "node:assert/strict";
import type { IperfJson } from "../../lib/report/json_types.ts";
import { cli, type CliRun } from "../_support/cli.ts";
import { withServer } from "../_support/server.ts";

/** The test length and report interval every run uses. */
export const RUN_ARGS: readonly string[] = ["-t", "1", "-i", "0.2"];

/**
 * Runs the client with `args` against a fresh server.
 *
 * @param args client options after `-c 127.0.0.1 -p PORT` and {@linkcode RUN_ARGS}
 * @returns what it printed and its exit code
 */
export async function loopbackRun(args: readonly string[]): Promise<CliRun> {
  let run: CliRun | undefined;
  await withServer(async (server) => {
    run = await cli([
      "-c",
      "127.0.0.1",
      "-p",
      String(server.port),
      ...RUN_ARGS,
      ...args,
    ]);
  });
  assert.ok(run);
  assert.equal(run.code, 0, run.stderr);
  return run;
}

/**
 * A `-J` document of a real run.
 *
 * @param args client options (`-P 2`, `-u -R`...)
 * @returns the document
 */
export async function loopbackDocument(
  args: readonly string[],
): Promise<IperfJson> {
  const run = await loopbackRun([...args, "-J"]);
  return JSON.parse(run.stdout) as IperfJson;
}
