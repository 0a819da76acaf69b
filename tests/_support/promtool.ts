/**
 * `promtool check metrics` on an exposition. The test permissions'
 * run list (deno.json) has `deno` but not `promtool`, so the check runs in
 * a child Deno allowed to run only `promtool`: this file, as a script.
 *
 * @module
 */

/** What the check found. */
export type PromtoolResult =
  | { kind: "checked"; code: number; output: string }
  | { kind: "missing"; reason: string };

/** The exit code the script uses when promtool is not installed. */
const MISSING = 127;

/**
 * Runs `promtool check metrics` with `text` on its stdin.
 *
 * @param text the exposition
 * @returns promtool's exit code and output, or why it could not run
 */
export async function promtoolCheck(text: string): Promise<PromtoolResult> {
  const child = new Deno.Command("deno", {
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      "--allow-run=promtool",
      new URL(import.meta.url).pathname,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  const output = new TextDecoder().decode(out.stdout) +
    new TextDecoder().decode(out.stderr);
  if (out.code === MISSING) return { kind: "missing", reason: output.trim() };
  return { kind: "checked", code: out.code, output };
}

if (import.meta.main) {
  const input = new Uint8Array(
    await new Response(Deno.stdin.readable).arrayBuffer(),
  );
  let code = 0;
  try {
    const child = new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(input);
    await writer.close();
    code = (await child.status).code;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    await Deno.stderr.write(
      new TextEncoder().encode(
        "promtool is not installed (Debian: apt-get install prometheus)\n",
      ),
    );
    code = MISSING;
  }
  Deno.exit(code);
}
