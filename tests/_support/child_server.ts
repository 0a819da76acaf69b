/**
 * A server of ours in a child process (`main.ts -s`), for tests that read
 * its /proc entries; and `/proc` reads through `cat` and `ls`, as Deno reads
 * another Deno's /proc only with --allow-all.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../../main.ts", import.meta.url));

/** The loopback address the child serves on. */
export const CHILD_HOST = "127.0.0.1";

/**
 * What a command printed on stdout.
 *
 * @param command the program (on the test permissions' run list)
 * @param args its arguments
 * @returns stdout as text
 */
export function commandText(command: string, args: string[]): string {
  return new TextDecoder().decode(
    new Deno.Command(command, { args, stderr: "null" }).outputSync().stdout,
  );
}

/** A port free now on the loopback address. */
export function freeChildPort(): number {
  const l = Deno.listen({ hostname: CHILD_HOST, port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

/**
 * Starts `main.ts -s -B 127.0.0.1 -p PORT ...args` with net and ffi
 * permissions, waits until it accepts connections (bounded), runs `body`,
 * and ends the child whatever happens.
 *
 * @param args more server flags
 * @param body what to do with the child's pid and port
 */
export async function withChildServer(
  args: string[],
  body: (server: { pid: number; port: number }) => Promise<void>,
): Promise<void> {
  const port = freeChildPort();
  const child = new Deno.Command("deno", {
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      "--allow-net=127.0.0.1",
      "--allow-ffi",
      MAIN,
      "-s",
      ...args,
      "-B",
      CHILD_HOST,
      "-p",
      String(port),
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    let up = false;
    for (let i = 0; i < 200 && !up; i++) {
      try {
        (await Deno.connect({ hostname: CHILD_HOST, port })).close();
        up = true;
      } catch {
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    if (!up) throw new Error(`server on ${port} did not start`);
    await body({ pid: child.pid, port });
  } finally {
    child.kill();
    await child.status;
  }
}
