/**
 * Go's `time.ParseDuration` (`30s`, `500ms`, `1m30s`, `1.5h`), with Go's
 * error texts, which edgard/iperf3_exporter passes to the HTTP client
 * (`'period' parameter must be a duration: time: missing unit in duration
 * "5"`) and which the `--iperf3.timeout` flag reports.
 *
 * @module
 */

/** Nanoseconds per unit, Go's `unitMap`. */
const UNITS: ReadonlyMap<string, bigint> = new Map([
  ["ns", 1n],
  ["us", 1_000n],
  ["\u00b5s", 1_000n],
  ["\u03bcs", 1_000n],
  ["ms", 1_000_000n],
  ["s", 1_000_000_000n],
  ["m", 60_000_000_000n],
  ["h", 3_600_000_000_000n],
]);

const LIMIT = 1n << 63n;

/**
 * Parses a Go duration: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, or `0`.
 *
 * @param text the duration
 * @returns nanoseconds (a Go `time.Duration`)
 * @throws {TypeError} `time: invalid duration "x"`, `time: missing unit in
 *   duration "5"` or `time: unknown unit "x" in duration "5x"`
 */
export function parseGoDuration(text: string): bigint {
  const invalid = () => new TypeError(`time: invalid duration ${quote(text)}`);
  let s = text;
  let negative = false;
  if (s.startsWith("-") || s.startsWith("+")) {
    negative = s.startsWith("-");
    s = s.slice(1);
  }
  if (s === "0") return 0n;
  if (s === "") throw invalid();
  let total = 0n;
  while (s !== "") {
    const number = /^(\d*)(?:\.(\d*))?/.exec(s);
    const whole = number?.[1] ?? "";
    const fraction = number?.[2];
    // Digits before or after the point, at least one of them.
    if (whole === "" && (fraction === undefined || fraction === "")) {
      throw invalid();
    }
    s = s.slice(number?.[0].length ?? 0);
    const unitText = /^[^.0-9]*/.exec(s)?.[0] ?? "";
    if (unitText === "") {
      throw new TypeError(`time: missing unit in duration ${quote(text)}`);
    }
    s = s.slice(unitText.length);
    const unit = UNITS.get(unitText);
    if (unit === undefined) {
      throw new TypeError(
        `time: unknown unit ${quote(unitText)} in duration ${quote(text)}`,
      );
    }
    // Go's leadingInt fails past 1<<63; the product is checked too.
    const v = BigInt(whole === "" ? "0" : whole);
    if (v > LIMIT || v > LIMIT / unit) throw invalid();
    let part = v * unit;
    if (fraction !== undefined && fraction !== "") {
      // Go keeps the fraction's digits while they fit (at most 1<<63) and
      // scales through float64, as here.
      let f = 0n;
      let scale = 1;
      for (const digit of fraction) {
        const next = f * 10n + BigInt(digit);
        if (next > LIMIT) break;
        f = next;
        scale *= 10;
      }
      part += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
      if (part > LIMIT) throw invalid();
    }
    total += part;
    if (total > LIMIT) throw invalid();
  }
  if (negative) return -total;
  if (total > LIMIT - 1n) throw invalid();
  return total;
}

/**
 * Go's `Duration.Seconds()`.
 *
 * @param ns a duration in nanoseconds
 * @returns it in seconds
 */
export function goDurationSeconds(ns: bigint): number {
  const second = 1_000_000_000n;
  return Number(ns / second) + Number(ns % second) / 1e9;
}

/**
 * Go's `time.quote`: double quotes, a backslash before `"` and `\`, and
 * `\xNN` for each byte of a control or non-ASCII character.
 */
function quote(text: string): string {
  let out = '"';
  const encoder = new TextEncoder();
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (code >= 0x80 || code < 0x20) {
      for (const byte of encoder.encode(ch)) {
        out += `\\x${byte.toString(16).padStart(2, "0")}`;
      }
    } else {
      out += ch === '"' || ch === "\\" ? `\\${ch}` : ch;
    }
  }
  return `${out}"`;
}
