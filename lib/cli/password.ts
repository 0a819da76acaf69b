/**
 * The password for `--username`: from `IPERF3_PASSWORD`, else asked for on
 * the terminal without echo (iperf3 uses `getpass`).
 *
 * @module
 */

/** The longest password accepted, in bytes (iperf3's `getpass` keeps far less). */
const MAX_PASSWORD_BYTES = 4096;

/**
 * The password: `IPERF3_PASSWORD` when it is set (and readable), else a
 * prompt on the terminal with echo off, else a line from standard input.
 * At most `MAX_PASSWORD_BYTES` bytes are taken, so `< /dev/zero` ends at once.
 *
 * @param prompt the prompt text (iperf3: `Password: `)
 * @returns the password
 * @throws {TypeError} when there is no password to be had
 * @throws {RangeError} when the password is longer than `MAX_PASSWORD_BYTES`
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
      const bytes = new Uint8Array(MAX_PASSWORD_BYTES);
      let length = 0;
      const one = new Uint8Array(1);
      while (true) {
        const n = await stdin.read(one);
        const b = one[0] ?? 0;
        if (n === null || b === 0x0d || b === 0x0a) break;
        if (b === 0x03) {
          throw new TypeError("interrupted at the password prompt");
        }
        if (b === 0x7f || b === 0x08) {
          length = Math.max(0, length - 1);
        } else {
          if (length === MAX_PASSWORD_BYTES) throw tooLong();
          bytes[length++] = b;
        }
      }
      return new TextDecoder().decode(bytes.subarray(0, length));
    } finally {
      stdin.setRaw(false);
      await Deno.stderr.write(encoder.encode("\n"));
    }
  }
  // Not a terminal: the first line of standard input, read up to the cap
  // and its line end (CRLF) and no further.
  const buffer = new Uint8Array(MAX_PASSWORD_BYTES + 2);
  let length = 0;
  let lineEnd = -1;
  while (lineEnd < 0 && length < buffer.byteLength) {
    const n = await stdin.read(buffer.subarray(length));
    if (n === null) break;
    lineEnd = buffer.subarray(length, length + n).indexOf(0x0a);
    if (lineEnd >= 0) lineEnd += length;
    length += n;
  }
  let end = lineEnd < 0 ? length : lineEnd;
  if (end > 0 && buffer[end - 1] === 0x0d) end--;
  if (end > MAX_PASSWORD_BYTES) throw tooLong();
  const line = new TextDecoder().decode(buffer.subarray(0, end));
  if (line === "") {
    throw new TypeError(
      "no password: set IPERF3_PASSWORD or type it when asked",
    );
  }
  return line;
}

function tooLong(): RangeError {
  return new RangeError(
    `the password is longer than ${MAX_PASSWORD_BYTES} bytes`,
  );
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
