/**
 * JSON text laid out byte for byte like the cJSON 1.7.15 library that iperf3
 * bundles (`src/cjson.c`): `cJSON_Print` for the `-J` document and
 * `cJSON_PrintUnformatted` for `--json-stream` lines.
 *
 * The input is plain data: objects (their own enumerable string keys, in
 * insertion order), arrays, strings, numbers, booleans and `null`. Object
 * members whose value is `undefined` are skipped and array elements that are
 * `undefined` print as `null`, as `JSON.stringify` does. A JS object cannot
 * hold the same key twice, so the duplicate `target_bitrate` member that
 * iperf3 3.12 writes in a UDP server's `start` object cannot be reproduced.
 *
 * @module
 */

import { formatG } from "../printf.ts";

/** 2^63 as a double: the bound of the `int64_t` that cJSON keeps next to every number. */
const TWO_POW_63 = 2 ** 63;
/** `LLONG_MAX`, which `cJSON_CreateNumber` stores for numbers at or above 2^63. */
const INT64_MAX = 2n ** 63n - 1n;
/** `LLONG_MIN`, which `cJSON_CreateNumber` stores for numbers at or below -2^63. */
const INT64_MIN = -(2n ** 63n);

/**
 * The deepest nesting of objects and arrays {@linkcode formatCJson} and
 * {@linkcode formatCJsonCompact} print; the value itself is level 1. The
 * printer recurses, and a bound well inside the stack turns a too-deep value
 * into a clear `RangeError` instead of a stack overflow. Peer JSON is already
 * refused deeper than `MAX_JSON_DEPTH` (64) levels by `readJsonFrame`, and
 * iperf3's own documents are about 7 levels deep.
 */
export const MAX_CJSON_DEPTH = 256;

/** Escapes with a short form in `print_string_ptr`; other controls use `\u00xx`. */
const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  "\\": "\\\\",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

/**
 * Format a value like cJSON's `cJSON_Print`, the layout of iperf3's `-J`
 * output: each object member on its own line, indented with one tab per
 * nesting level and written as `"key":` + tab + value; arrays on one line
 * with `, ` between elements; objects inside arrays indented one level
 * deeper. The text has no trailing newline.
 *
 * Numbers that equal their `int64_t` truncation print as signed integers
 * (as in iperf3 3.14 and later), others as `%1.15g`, or `%1.17g` when the
 * shorter text does not read back within one `DBL_EPSILON` of the value.
 * `NaN` and infinities print as `null`.
 *
 * @param value the plain data to format
 * @returns the JSON text, without a trailing newline
 * @throws {TypeError} when the value, or anything inside it, is a bigint,
 * symbol or function, when the value itself is `undefined`, or when it
 * contains a circular reference
 * @throws {RangeError} when objects and arrays nest deeper than
 * {@linkcode MAX_CJSON_DEPTH} levels
 *
 * @example Usage
 * ```ts
 * import { formatCJson } from "./cjson.ts";
 * formatCJson({ end: {}, bytes: 131072, seconds: 1.0000070333480835 });
 * // '{\n\t"end":\t{\n\t},\n\t"bytes":\t131072,\n\t"seconds":\t1.0000070333480835\n}'
 * ```
 */
export function formatCJson(value: unknown): string {
  const out: string[] = [];
  printValue(value, out, true, 0, new Set());
  return out.join("");
}

/**
 * Format a value like cJSON's `cJSON_PrintUnformatted`, the form of iperf3's
 * `--json-stream` lines: the same escaping and numbers as {@link formatCJson},
 * without any whitespace.
 *
 * @param value the plain data to format
 * @returns the JSON text on one line, for example `{"a":1,"b":[1,2]}`
 * @throws {TypeError} when the value, or anything inside it, is a bigint,
 * symbol or function, when the value itself is `undefined`, or when it
 * contains a circular reference
 * @throws {RangeError} when objects and arrays nest deeper than
 * {@linkcode MAX_CJSON_DEPTH} levels
 *
 * @example Usage
 * ```ts
 * import { formatCJsonCompact } from "./cjson.ts";
 * formatCJsonCompact({ event: "interval", data: { bytes: 2, rate: 0.5 } });
 * // '{"event":"interval","data":{"bytes":2,"rate":0.5}}'
 * ```
 */
export function formatCJsonCompact(value: unknown): string {
  const out: string[] = [];
  printValue(value, out, false, 0, new Set());
  return out.join("");
}

/**
 * Append one value; `depth` counts the enclosing objects and arrays, like
 * cJSON's `printbuffer.depth`, which both `print_object` and `print_array`
 * raise.
 */
function printValue(
  value: unknown,
  out: string[],
  pretty: boolean,
  depth: number,
  seen: Set<object>,
): void {
  switch (typeof value) {
    case "string":
      out.push(quote(value));
      return;
    case "number":
      out.push(formatNumber(value));
      return;
    case "boolean":
      out.push(value ? "true" : "false");
      return;
    case "object":
      break;
    default:
      throw new TypeError(
        `Cannot format value as JSON: unsupported type "${typeof value}"`,
      );
  }
  if (value === null) {
    out.push("null");
    return;
  }
  if (seen.has(value)) {
    throw new TypeError("Cannot format value as JSON: circular reference");
  }
  if (depth >= MAX_CJSON_DEPTH) {
    throw new RangeError(
      `Cannot format value as JSON: nesting deeper than ${MAX_CJSON_DEPTH} levels`,
    );
  }
  seen.add(value);
  if (Array.isArray(value)) {
    printArray(value, out, pretty, depth, seen);
  } else {
    printObject(value, out, pretty, depth, seen);
  }
  seen.delete(value);
}

/** `print_array`: `[a, b]` on one line (`[a,b]` when compact). */
function printArray(
  items: readonly unknown[],
  out: string[],
  pretty: boolean,
  depth: number,
  seen: Set<object>,
): void {
  out.push("[");
  for (let i = 0; i < items.length; i++) {
    if (i > 0) out.push(pretty ? ", " : ",");
    const item = items[i];
    printValue(item === undefined ? null : item, out, pretty, depth + 1, seen);
  }
  out.push("]");
}

/** `print_object`: one member a line, indented with tabs, when pretty. */
function printObject(
  object: object,
  out: string[],
  pretty: boolean,
  depth: number,
  seen: Set<object>,
): void {
  const inner = depth + 1;
  const indent = pretty ? "\t".repeat(inner) : "";
  const entries = Object.entries(object).filter(([, v]) => v !== undefined);
  out.push(pretty ? "{\n" : "{");
  for (let i = 0; i < entries.length; i++) {
    const [key, member] = entries[i] as [string, unknown];
    out.push(indent, quote(key), pretty ? ":\t" : ":");
    printValue(member, out, pretty, inner, seen);
    if (i < entries.length - 1) out.push(",");
    if (pretty) out.push("\n");
  }
  if (pretty) out.push("\t".repeat(depth));
  out.push("}");
}

/**
 * `print_string_ptr`: escape `"`, backslash and control characters; leave
 * `/`, DEL and non-ASCII text as it is. Hex digits are lowercase (`u%04x`).
 */
function quote(text: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x20 && code !== 0x22 && code !== 0x5c) continue;
    const escape = SHORT_ESCAPES[text[i] as string] ??
      "\\u" + code.toString(16).padStart(4, "0");
    out += text.slice(start, i) + escape;
    start = i + 1;
  }
  return out + text.slice(start) + '"';
}

/** `print_number` as patched by iperf3 3.14 and later (signed `PRId64`). */
function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return "null";
  // `cJSON_CreateNumber` keeps a saturated int64 copy in `valueint`; the
  // number prints as that integer when the double equals it. For doubles of
  // 2^53 and above BigInt gives the exact value that `%lld` would print.
  const truncated = value >= TWO_POW_63
    ? INT64_MAX
    : value <= -TWO_POW_63
    ? INT64_MIN
    : BigInt(Math.trunc(value));
  if (value === Number(truncated)) return truncated.toString();
  const short = formatG(value, 15);
  return nearlyEqual(Number(short), value) ? short : formatG(value, 17);
}

/**
 * cJSON's `compare_double`: equal within one `DBL_EPSILON` of the larger
 * magnitude, so a `%1.15g` text that reads back one unit in the last place
 * away is still accepted (0.1 + 0.2 prints as `0.3`).
 */
function nearlyEqual(a: number, b: number): boolean {
  const larger = Math.max(Math.abs(a), Math.abs(b));
  return Math.abs(a - b) <= larger * Number.EPSILON;
}
