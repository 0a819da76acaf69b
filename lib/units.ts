/**
 * iperf3-compatible unit handling: parsing `-n`/`-l`/`-w`/`-k` sizes, `-b`
 * bitrates and `-f` format letters, and formatting byte counts and rates the
 * way iperf3 3.12 does in `unit_snprintf` (see `units.c`).
 *
 * @module
 */

import { formatFixed } from "./printf.ts";

/**
 * A unit format letter, as given to `-f`. Lowercase letters report bits with
 * steps of 1000, uppercase letters report bytes with steps of 1024. `a` and
 * `A` pick the unit adaptively; `b` and `B` force plain bits or bytes.
 */
export type UnitFormat =
  | "a"
  | "A"
  | "b"
  | "B"
  | "k"
  | "K"
  | "m"
  | "M"
  | "g"
  | "G"
  | "t"
  | "T";

/** A parsed `-b` argument: the target rate and the optional `/N` burst. */
export interface ParsedRate {
  /** Target rate in bits per second, truncated to an integer; 0 is unlimited. */
  bitsPerSecond: number;
  /** Packets per burst from `/N`, 1 to 1000, or 0 when no burst was given. */
  burst: number;
}

/** Unit labels for byte formats, indexed by conversion level (units.c `label_byte`). */
const BYTE_LABELS = ["Byte", "KByte", "MByte", "GByte", "TByte"] as const;
/** Unit labels for bit formats, indexed by conversion level (units.c `label_bit`). */
const BIT_LABELS = ["bit", "Kbit", "Mbit", "Gbit", "Tbit"] as const;

/**
 * Factors that the value is multiplied by, per conversion level. They are
 * computed with the same chained divisions as units.c `conversion_bytes` and
 * `conversion_bits`, so each double is bit-for-bit the one iperf3 uses
 * (`1.0 / 1000 / 1000` is not exactly `1e-6`).
 */
const BYTE_FACTORS = [
  1.0,
  1.0 / 1024,
  1.0 / 1024 / 1024,
  1.0 / 1024 / 1024 / 1024,
  1.0 / 1024 / 1024 / 1024 / 1024,
] as const;
/** Bit counterparts of `BYTE_FACTORS`. */
const BIT_FACTORS = [
  1.0,
  1.0 / 1000,
  1.0 / 1000 / 1000,
  1.0 / 1000 / 1000 / 1000,
  1.0 / 1000 / 1000 / 1000 / 1000,
] as const;

/** Conversion level forced by each non-adaptive letter, after upper-casing. */
const FORCED_LEVELS: Readonly<Record<string, number>> = {
  B: 0,
  K: 1,
  M: 2,
  G: 3,
  T: 4,
};

/** Highest conversion level, tera. */
const TERA_LEVEL = 4;

/** Binary multipliers for size suffixes (units.c `KILO_UNIT` ... `TERA_UNIT`). */
const SIZE_MULTIPLIERS: Readonly<Record<string, number>> = {
  K: 1024.0,
  M: 1024.0 * 1024.0,
  G: 1024.0 * 1024.0 * 1024.0,
  T: 1024.0 * 1024.0 * 1024.0 * 1024.0,
};

/** Decimal multipliers for rate suffixes (units.c `KILO_RATE_UNIT` ...). */
const RATE_MULTIPLIERS: Readonly<Record<string, number>> = {
  K: 1000.0,
  M: 1000.0 * 1000.0,
  G: 1000.0 * 1000.0 * 1000.0,
  T: 1000.0 * 1000.0 * 1000.0 * 1000.0,
};

/** A plain decimal number with an optional one-letter suffix, nothing else. */
const NUMBER_WITH_SUFFIX = /^(\d+(?:\.\d*)?|\.\d+)([kmgtKMGT]?)$/;

/** Largest `-b` burst count (iperf.h `MAX_BURST`). */
const MAX_BURST = 1000;

/** The letters `-f` accepts in iperf3 3.12. */
const FORMAT_LETTERS = "kmgtKMGT";

/**
 * Format a byte count, or a rate in bytes per second, exactly like iperf3 3.12
 * `unit_snprintf`: lowercase formats convert to bits, the number is printed
 * with `%4.2f`, `%4.1f` or `%4.0f` so it keeps about three significant digits,
 * and a space and the singular unit label follow. Callers append `s` (totals)
 * or `s/sec` (rates).
 *
 * @param value a byte count or bytes per second
 * @param format the unit letter; `a` and `A` choose the unit adaptively
 * @returns text such as `1.42 GByte`, ` 640 KByte` or `12.2 Gbit`
 * @throws {RangeError} when `format` is not a `UnitFormat` letter
 *
 * @example Usage
 * ```ts
 * import { formatUnit } from "./units.ts";
 * formatUnit(655872, "A") + "s"; // " 640 KBytes"
 * formatUnit(1e9 / 8, "a") + "s/sec"; // "1.00 Gbits/sec"
 * ```
 */
export function formatUnit(value: number, format: UnitFormat): string {
  if (typeof format !== "string" || !/^[aAbBkKmMgGtT]$/.test(format)) {
    throw new RangeError(
      `Invalid unit format "${String(format)}": expected one of "aAbBkKmMgGtT"`,
    );
  }
  const bits = format === format.toLowerCase();
  let number = bits ? value * 8 : value;
  const step = bits ? 1000.0 : 1024.0;

  let level = FORCED_LEVELS[format.toUpperCase()];
  if (level === undefined) {
    // Adaptive: pick the level by dividing a copy, but scale the original by
    // the constant factor below, as units.c does; the two can differ slightly.
    let scaled = number;
    level = 0;
    while (scaled >= step && level < TERA_LEVEL) {
      scaled /= step;
      level++;
    }
  }

  number *= (bits ? BIT_FACTORS : BYTE_FACTORS)[level] ?? 1.0;
  const label = (bits ? BIT_LABELS : BYTE_LABELS)[level] ?? "";
  // 9.995 would print as 10.00 and 99.95 as 100.0, so switch format early.
  const precision = number < 9.995 ? 2 : number < 99.95 ? 1 : 0;
  return `${formatFixed(number, precision, 4)} ${label}`;
}

/**
 * Parse a size argument (`-n`, `-l`, `-w`, `-k`) like iperf3 `unit_atoi`: a
 * decimal number, possibly with a fraction, and an optional `K`, `M`, `G` or
 * `T` suffix in either case meaning 1024, 1024², 1024³ or 1024⁴. The result
 * is truncated to an integer, as iperf3's cast does. Unlike iperf3, anything
 * else (signs, exponents, spaces, trailing characters) is rejected.
 *
 * @param text the argument as typed, for example `128K` or `1.5M`
 * @returns the size in bytes, a safe integer
 * @throws {RangeError} when `text` is not a valid size or the size is not a
 * safe integer
 *
 * @example Usage
 * ```ts
 * import { parseSize } from "./units.ts";
 * parseSize("1.5M"); // 1572864
 * ```
 */
export function parseSize(text: string): number {
  const match = NUMBER_WITH_SUFFIX.exec(text);
  if (match === null) {
    throw new RangeError(
      `Invalid size "${text}": expected a number with an optional K, M, G or T suffix`,
    );
  }
  const [, digits = "", suffix = ""] = match;
  const bytes = Math.trunc(
    Number(digits) * (SIZE_MULTIPLIERS[suffix.toUpperCase()] ?? 1),
  );
  if (!Number.isSafeInteger(bytes)) {
    throw new RangeError(
      `Invalid size "${text}": expected at most ${Number.MAX_SAFE_INTEGER} bytes`,
    );
  }
  return bytes;
}

/**
 * Parse a `-b` bitrate like iperf3: a decimal number with an optional `K`,
 * `M`, `G` or `T` suffix in either case meaning 10³, 10⁶, 10⁹ or 10¹²
 * (`unit_atof_rate`), optionally followed by `/N`, a burst of 1 to 1000
 * packets. The rate is truncated to whole bits per second. Unlike iperf3,
 * anything else is rejected.
 *
 * @param text the argument as typed, for example `10M` or `1G/100`
 * @returns the rate in bits per second and the burst, 0 when not given
 * @throws {RangeError} when the rate or the burst count is invalid
 *
 * @example Usage
 * ```ts
 * import { parseRate } from "./units.ts";
 * parseRate("1.5m/10"); // { bitsPerSecond: 1500000, burst: 10 }
 * ```
 */
export function parseRate(text: string): ParsedRate {
  const slash = text.indexOf("/");
  const rateText = slash === -1 ? text : text.slice(0, slash);
  let burst = 0;
  // iperf3 checks the burst before it looks at the rate.
  if (slash !== -1) {
    const burstText = text.slice(slash + 1);
    burst = /^\d+$/.test(burstText) ? Number(burstText) : 0;
    if (burst < 1 || burst > MAX_BURST) {
      throw new RangeError(
        `Invalid burst count "${burstText}": expected 1 to ${MAX_BURST}`,
      );
    }
  }
  const match = NUMBER_WITH_SUFFIX.exec(rateText);
  if (match === null) {
    throw new RangeError(
      `Invalid bitrate "${text}": expected a number with an optional K, M, G or T suffix`,
    );
  }
  const [, digits = "", suffix = ""] = match;
  const bitsPerSecond = Math.trunc(
    Number(digits) * (RATE_MULTIPLIERS[suffix.toUpperCase()] ?? 1),
  );
  if (!Number.isSafeInteger(bitsPerSecond)) {
    throw new RangeError(
      `Invalid bitrate "${text}": expected at most ${Number.MAX_SAFE_INTEGER} bits per second`,
    );
  }
  return { bitsPerSecond, burst };
}

/**
 * Parse a `-f` argument. Like iperf3 3.12 it accepts only the letters
 * `kmgtKMGT` (adaptive `a` is the default and cannot be chosen), but the
 * argument must be exactly one letter.
 *
 * @param text the argument as typed
 * @returns the unit format letter
 * @throws {RangeError} with iperf3's message when `text` is not one of the letters
 *
 * @example Usage
 * ```ts
 * import { parseUnitFormat } from "./units.ts";
 * parseUnitFormat("M"); // "M"
 * ```
 */
export function parseUnitFormat(text: string): UnitFormat {
  if (text.length !== 1 || !FORMAT_LETTERS.includes(text)) {
    throw new RangeError(
      "bad format specifier (valid formats are in the set [kmgtKMGT])",
    );
  }
  return text as UnitFormat;
}
