/**
 * Exact re-implementations of the C `printf` number conversions that iperf3
 * uses in its reports (`%*.*f` and `%.*g`), with glibc's rounding.
 *
 * glibc rounds the exact binary value of a double, breaking exact ties to
 * even, whereas `Number.prototype.toFixed` rounds ties away from zero. To get
 * the C result every time, the double is expanded into its exact decimal
 * value with `BigInt` arithmetic and rounded as a decimal string.
 *
 * @module
 */

/** Largest precision accepted; 1074 fraction digits make any double exact. */
const MAX_PRECISION = 1100;
/** Largest field width accepted, far above anything a report line needs. */
const MAX_WIDTH = 1000;

/** A non-negative finite value written as `digits / 10^scale`, exactly. */
interface ExactDecimal {
  digits: bigint;
  scale: number;
}

/**
 * Format a number like C `%*.*f` (or `%-*.*f` when `leftAlign` is set), as
 * glibc prints it: the exact binary value is rounded to `precision` decimals
 * with ties to even, then padded with spaces to `width`.
 *
 * @param value the number to format; `NaN` prints as `nan`, infinities as
 * `inf` and `-inf`, and `-0` keeps its sign
 * @param precision digits after the decimal point, an integer from 0 to 1100
 * @param width minimum field width, padded with spaces
 * @param leftAlign pad on the right instead of the left, like the `-` flag
 * @returns the formatted text, at least `width` characters long
 * @throws {RangeError} when `precision` or `width` is not a non-negative integer
 *
 * @example Usage
 * ```ts
 * import { formatFixed } from "./printf.ts";
 * formatFixed(640.5, 0, 4); // " 640"
 * formatFixed(0.125, 2); // "0.12"
 * ```
 */
export function formatFixed(
  value: number,
  precision: number,
  width = 0,
  leftAlign = false,
): string {
  checkCount("precision", precision, MAX_PRECISION);
  checkCount("width", width, MAX_WIDTH);
  const negative = value < 0 || Object.is(value, -0);
  let body: string;
  if (Number.isNaN(value)) {
    body = "nan";
  } else if (!Number.isFinite(value)) {
    body = negative ? "-inf" : "inf";
  } else {
    const exact = exactDecimal(Math.abs(value));
    const scaled = exact.scale > precision
      ? roundHalfEven(exact.digits, exact.scale - precision)
      : exact.digits * 10n ** BigInt(precision - exact.scale);
    body = (negative ? "-" : "") + placePoint(scaled.toString(), precision);
  }
  return leftAlign ? body.padEnd(width) : body.padStart(width);
}

/**
 * Format a number like C `%.*g` as glibc prints it: round the exact binary
 * value to `precision` significant digits with ties to even, use exponent
 * style when the decimal exponent is below -4 or at least `precision`, and
 * remove trailing zeros and a trailing decimal point. A precision of 0 counts
 * as 1, as in C. `%1.15g` and `%1.17g` are `formatG(value, 15)` and
 * `formatG(value, 17)`, since a width of 1 never pads.
 *
 * @param value the number to format; `NaN` prints as `nan`, infinities as
 * `inf` and `-inf`, and `-0` keeps its sign
 * @param precision significant digits, an integer from 0 to 1100
 * @returns the formatted text, for example `1e+02` or `5.6e-05`
 * @throws {RangeError} when `precision` is not a non-negative integer
 *
 * @example Usage
 * ```ts
 * import { formatG } from "./printf.ts";
 * formatG(100, 2); // "1e+02"
 * formatG(90.256197959165334, 17); // "90.256197959165334"
 * ```
 */
export function formatG(value: number, precision: number): string {
  checkCount("precision", precision, MAX_PRECISION);
  const negative = value < 0 || Object.is(value, -0);
  const sign = negative ? "-" : "";
  if (Number.isNaN(value)) return "nan";
  if (!Number.isFinite(value)) return sign + "inf";
  if (value === 0) return sign + "0";

  const significant = precision === 0 ? 1 : precision;
  const exact = exactDecimal(Math.abs(value));
  let digits = exact.digits.toString();
  // Decimal exponent of the leading digit, as `%e` would print it.
  let exponent = digits.length - 1 - exact.scale;
  if (digits.length > significant) {
    digits = roundHalfEven(exact.digits, digits.length - significant)
      .toString();
    if (digits.length > significant) {
      // Rounding carried into a new leading digit (9.96 -> 10).
      digits = digits.slice(0, significant);
      exponent += 1;
    }
  } else {
    digits = digits.padEnd(significant, "0");
  }

  if (exponent < -4 || exponent >= significant) {
    const mantissa = stripFraction(digits[0] + "." + digits.slice(1));
    const magnitude = String(Math.abs(exponent)).padStart(2, "0");
    return `${sign}${mantissa}e${exponent < 0 ? "-" : "+"}${magnitude}`;
  }
  // Fixed style with precision significant - 1 - exponent: `digits` already
  // holds exactly the digits that conversion would print.
  const text = exponent >= 0
    ? digits.slice(0, exponent + 1) + "." + digits.slice(exponent + 1)
    : "0." + "0".repeat(-exponent - 1) + digits;
  return sign + stripFraction(text);
}

/** Throw a `RangeError` unless `count` is an integer from 0 to `max`. */
function checkCount(name: string, count: number, max: number): void {
  if (!Number.isInteger(count) || count < 0 || count > max) {
    throw new RangeError(
      `Invalid ${name} "${count}": expected an integer from 0 to ${max}`,
    );
  }
}

/**
 * Expand a non-negative finite double into its exact decimal value. A double
 * is `mantissa * 2^exponent`; for a negative exponent that equals
 * `mantissa * 5^-exponent / 10^-exponent`.
 */
function exactDecimal(value: number): ExactDecimal {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  const high = view.getUint32(0);
  const low = view.getUint32(4);
  const biased = (high >>> 20) & 0x7ff;
  let mantissa = (BigInt(high & 0xfffff) << 32n) | BigInt(low);
  let exponent: number;
  if (biased === 0) {
    exponent = -1074; // subnormal: no hidden bit
  } else {
    mantissa |= 1n << 52n;
    exponent = biased - 1075;
  }
  if (exponent >= 0) {
    return { digits: mantissa << BigInt(exponent), scale: 0 };
  }
  return { digits: mantissa * 5n ** BigInt(-exponent), scale: -exponent };
}

/** Divide `n` by `10^drop`, rounding half to even. */
function roundHalfEven(n: bigint, drop: number): bigint {
  const divisor = 10n ** BigInt(drop);
  const quotient = n / divisor;
  const twiceRest = (n % divisor) * 2n;
  if (
    twiceRest > divisor || (twiceRest === divisor && quotient % 2n === 1n)
  ) {
    return quotient + 1n;
  }
  return quotient;
}

/** Insert a decimal point `decimals` digits from the right of `digits`. */
function placePoint(digits: string, decimals: number): string {
  if (decimals === 0) return digits;
  const padded = digits.padStart(decimals + 1, "0");
  const split = padded.length - decimals;
  return padded.slice(0, split) + "." + padded.slice(split);
}

/** Remove trailing fraction zeros and then a trailing point, as `%g` does. */
function stripFraction(text: string): string {
  if (!text.includes(".")) return text;
  return text.replace(/0+$/, "").replace(/\.$/, "");
}
