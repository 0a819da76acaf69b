/**
 * The password for `--username`: from `IPERF3_PASSWORD`, else asked for on
 * the terminal without echo (iperf3 uses `getpass`).
 *
 * @module
 */

/**
 * The password: `IPERF3_PASSWORD` when it is set (and readable), else a
 * prompt on the terminal with echo off, else a line from standard input.
 *
 * @param prompt the prompt text (iperf3: `Password: `)
 * @returns the password
 * @throws {TypeError} when there is no password to be had
 */
export async function readPassword(prompt = "Password: "): Promise<string> {
  const env = envPassword();
  if (env !== undefined) return env;
  const encoder = new TextEncoder();
  const stdin = Deno.stdin;
  if (stdin.isTerminal()) {
    await Deno.stderr.write(encoder.encode(prompt));
    stdin.setRaw(true);
    try {
      const bytes: number[] = [];
      const one = new Uint8Array(1);
      while (true) {
        const n = await stdin.read(one);
        const b = one[0] ?? 0;
        if (n === null || b === 0x0d || b === 0x0a) break;
        if (b === 0x03) {
          throw new TypeError("interrupted at the password prompt");
        }
        if (b === 0x7f || b === 0x08) bytes.pop();
        else bytes.push(b);
      }
      return new TextDecoder().decode(new Uint8Array(bytes));
    } finally {
      stdin.setRaw(false);
      await Deno.stderr.write(encoder.encode("\n"));
    }
  }
  // Not a terminal: the first line of standard input.
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(256);
  while (true) {
    const n = await stdin.read(buffer);
    if (n === null) break;
    chunks.push(buffer.slice(0, n));
    if (buffer.subarray(0, n).includes(0x0a)) break;
  }
  const text = new TextDecoder().decode(
    new Uint8Array(chunks.flatMap((c) => [...c])),
  );
  const line = text.split(/\r?\n/)[0] ?? "";
  if (line === "") {
    throw new TypeError(
      "no password: set IPERF3_PASSWORD or type it when asked",
    );
  }
  return line;
}

function envPassword(): string | undefined {
  try {
    const state =
      Deno.permissions.querySync({ name: "env", variable: "IPERF3_PASSWORD" })
        .state;
    return state === "granted" ? Deno.env.get("IPERF3_PASSWORD") : undefined;
  } catch {
    return undefined;
  }
}
