/**
 * Go's `strconv` as edgard/iperf3_exporter uses it on a probe's query and
 * headers: `Atoi`, `ParseBool`, `ParseFloat` and `Quote`, with Go's error
 * texts. Those texts reach the HTTP client word for word
 * (`'port' parameter must be an integer: strconv.Atoi: parsing "x": invalid
 * syntax`), so they follow Go, not our message style.
 *
 * @module
 */

const encoder = new TextEncoder();

/**
 * Go's `strconv.Quote`: double quotes, Go escapes for `"`, `\` and control
 * characters, `\u`/`\U` for other non-printable runes.
 *
 * @param text the string
 * @returns it quoted
 */
export function goQuote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (code < 0x80 && code >= 0x20 && code !== 0x7f) out += ch;
    else if (SHORT_ESCAPES[ch] !== undefined) out += SHORT_ESCAPES[ch];
    else if (code < 0x20 || code === 0x7f) out += `\\x${hex(code, 2)}`;
    else if (PRINTABLE.test(ch)) out += ch;
    else if (code < 0x10000) out += `\\u${hex(code, 4)}`;
    else out += `\\U${hex(code, 8)}`;
  }
  return `${out}"`;
}

/**
 * Go's `strconv.Atoi` on a 64-bit machine: an optional sign and decimal
 * digits, nothing else (no spaces, no underscores).
 *
 * @param text the text
 * @returns the value (a `bigint`: Go's `int` is 64 bits wide)
 * @throws {TypeError} `strconv.Atoi: parsing "x": invalid syntax`
 * @throws {RangeError} `strconv.Atoi: parsing "x": value out of range`
 */
export function goAtoi(text: string): bigint {
  const fail = (why: string) =>
    `strconv.Atoi: parsing ${goQuote(text)}: ${why}`;
  let digits = text;
  const negative = text.startsWith("-");
  if (negative || text.startsWith("+")) digits = text.slice(1);
  if (digits === "") throw new TypeError(fail("invalid syntax"));
  let n = 0n;
  // ParseUint's order: a bad character is reported unless the value
  // overflowed uint64 before it.
  for (const byte of encoder.encode(digits)) {
    if (byte < 0x30 || byte > 0x39) throw new TypeError(fail("invalid syntax"));
    n = n * 10n + BigInt(byte - 0x30);
    if (n > UINT64_MAX) throw new RangeError(fail("value out of range"));
  }
  if (negative ? n > INT64_LIMIT : n >= INT64_LIMIT) {
    throw new RangeError(fail("value out of range"));
  }
  return negative ? -n : n;
}

/**
 * Go's `strconv.ParseBool`.
 *
 * @param text one of `1 t T TRUE true True 0 f F FALSE false False`
 * @returns the value
 * @throws {TypeError} `strconv.ParseBool: parsing "x": invalid syntax`
 */
export function goParseBool(text: string): boolean {
  if (TRUE_WORDS.includes(text)) return true;
  if (FALSE_WORDS.includes(text)) return false;
  throw new TypeError(
    `strconv.ParseBool: parsing ${goQuote(text)}: invalid syntax`,
  );
}

/**
 * Go's `strconv.ParseFloat(text, 64)`: decimal and hexadecimal (`0x1p-2`)
 * literals with Go's digit-separating underscores, `inf`, `infinity` and
 * `nan` in any case.
 *
 * @param text the text
 * @returns the value
 * @throws {TypeError} `strconv.ParseFloat: parsing "x": invalid syntax`
 * @throws {RangeError} `strconv.ParseFloat: parsing "x": value out of range`
 */
export function goParseFloat(text: string): number {
  const fail = (why: string) =>
    `strconv.ParseFloat: parsing ${goQuote(text)}: ${why}`;
  const special = /^([+-]?)(inf|infinity)$/i.exec(text);
  if (special) return special[1] === "-" ? -Infinity : Infinity;
  if (/^nan$/i.test(text)) return NaN;
  let value: number;
  const hexMatch = HEX_FLOAT.exec(text);
  if (DECIMAL_FLOAT.test(text)) {
    value = Number(text.replaceAll("_", ""));
  } else if (hexMatch) {
    const [, sign, whole = "", afterWhole, alone, exponent = "0"] = hexMatch;
    const fraction = (afterWhole ?? alone ?? "").replaceAll("_", "");
    const digits = `${whole}${fraction}`.replaceAll("_", "") || "0";
    const power = Number(exponent.replaceAll("_", "")) - 4 * fraction.length;
    value = Number(BigInt(`0x${digits}`)) * 2 ** power;
    if (Number.isNaN(value)) value = 0;
    if (sign === "-") value = -value;
  } else {
    throw new TypeError(fail("invalid syntax"));
  }
  if (!Number.isFinite(value)) throw new RangeError(fail("value out of range"));
  return value;
}

const UINT64_MAX = (1n << 64n) - 1n;
const INT64_LIMIT = 1n << 63n;
const TRUE_WORDS = ["1", "t", "T", "TRUE", "true", "True"];
const FALSE_WORDS = ["0", "f", "F", "FALSE", "false", "False"];

/** Decimal digits, underscores only between two digits (Go's literal syntax). */
const DIGITS = String.raw`\d(?:_?\d)*`;
const DECIMAL_FLOAT = new RegExp(
  `^[+-]?(?:${DIGITS}(?:\\.(?:${DIGITS})?)?|\\.${DIGITS})(?:[eE][+-]?${DIGITS})?$`,
);
/** Hex mantissa (an underscore may follow the `0x` prefix) and a `p` exponent, which ParseFloat requires. */
const HEX_FLOAT = new RegExp(
  String
    .raw`^([+-]?)0[xX](?:((?:_?[0-9a-fA-F])+)(?:\.([0-9a-fA-F](?:_?[0-9a-fA-F])*)?)?|\.([0-9a-fA-F](?:_?[0-9a-fA-F])*))[pP]([+-]?${DIGITS})$`,
);

const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  "\x07": "\\a",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\v": "\\v",
};

/** Go's `unicode.IsPrint` beyond ASCII: letters, marks, numbers, punctuation, symbols. */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

function hex(code: number, width: number): string {
  return code.toString(16).padStart(width, "0");
}
