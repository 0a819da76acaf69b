/**
 * C `strftime` in the C/POSIX locale, as glibc implements it, for iperf3's
 * `--timestamps[=format]` line prefix (default `"%c "`, see
 * `iperf_printf` in iperf_api.c).
 *
 * @module
 */

/** Options for {@link strftime}. */
export interface StrftimeOptions {
  /**
   * Use UTC instead of the local time zone: the fields come from the UTC
   * getters, `%Z` prints `UTC` and `%z` prints `+0000`, as with `TZ=UTC`.
   */
  utc?: boolean;
}

/** The fields of a C `struct tm`, plus the zone details `%z`, `%Z` and `%s` need. */
interface BrokenDownTime {
  /** Full year, like `tm_year + 1900`. */
  year: number;
  /** 0 to 11. */
  month: number;
  /** 1 to 31. */
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 (Sunday) to 6. */
  weekday: number;
  /** 0 to 365. */
  yearDay: number;
  /** Minutes east of UTC, like `tm_gmtoff / 60`. */
  offsetMinutes: number;
  /** Zone abbreviation, like `tm_zone`. */
  zone: string;
  /** Seconds since the epoch, rounded down. */
  epochSeconds: number;
}

/** How one conversion is written: glibc's per-conversion state. */
interface Spec {
  /** `_`, `-`, `0`, or `""` when no padding flag was given. */
  pad: string;
  /** Field width, or -1 when none was given. */
  width: number;
  upper: boolean;
  lower: boolean;
}

const DAY_NAMES = [
  "Sunday",
  "Monday",
  "Tuesday",
  "Wednesday",
  "Thursday",
  "Friday",
  "Saturday",
] as const;

const MONTH_NAMES = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
] as const;

/** Composite conversions and what they expand to in the C locale. */
const SUBFORMATS: Readonly<Record<string, string>> = {
  c: "%a %b %e %H:%M:%S %Y",
  D: "%m/%d/%y",
  F: "%Y-%m-%d",
  r: "%I:%M:%S %p",
  R: "%H:%M",
  T: "%H:%M:%S",
  x: "%m/%d/%y",
  X: "%H:%M:%S",
};

/**
 * Largest field width honoured. glibc accepts any `int`, but iperf3 formats
 * into a 100-byte buffer, and a clamp keeps `%999999999d` from building a
 * gigabyte string.
 */
const MAX_WIDTH = 1024;

/** Conversions that glibc rejects after an `E` modifier (printed literally). */
const REJECTS_E = new Set("abdeghjklmwABDFGHIMSUVW%");
/** Conversions that glibc rejects after an `O` modifier (printed literally). */
const REJECTS_O = new Set("acxADFXY%");

/**
 * Short zone names from `Intl`, built on first use: US English knows the
 * American abbreviations (`EST`), British English the European ones (`CET`,
 * `BST`); both fall back to `GMT+1` style names for the rest.
 */
let zoneFormats: Intl.DateTimeFormat[] | undefined;

/**
 * Format a date like C `strftime(3)` from glibc in the C/POSIX locale. All of
 * glibc's conversions are supported: `%a %A %b %B %c %C %d %D %e %F %g %G %h
 * %H %I %j %k %l %m %M %n %p %P %r %R %s %S %t %T %u %U %V %w %W %x %X %y %Y
 * %z %Z %%`, with glibc's `_ - 0 ^ #` flags, a field width (at most 1024)
 * and the `E`/`O` modifiers (which change nothing in the C locale). As in glibc, an unknown
 * conversion is copied to the output as it is written, and so is a lone `%`
 * at the end of the format.
 *
 * In local time `%Z` is the zone's short name as `Intl.DateTimeFormat` gives
 * it in US or British English (`EST`, `CET`, `UTC`), or where neither has
 * one, the numeric form the tz database uses (`+03`, `+0530`). glibc prints
 * the tz database's abbreviation, so the two differ where only the tz
 * database has a name (`EAT`, `SAST`) or for dates before about 1970.
 *
 * @param format the `strftime` format, for example `"%c "`
 * @param date the time to format
 * @param options `utc` to format in UTC instead of the local time zone
 * @returns the formatted text, for example `Tue Nov 24 00:59:45 2026`
 * @throws {RangeError} when `date` is an invalid date
 *
 * @example Usage
 * ```ts
 * import { strftime } from "./strftime.ts";
 * const date = new Date(Date.UTC(2026, 10, 24, 0, 59, 45));
 * strftime("%c ", date, { utc: true }); // "Tue Nov 24 00:59:45 2026 "
 * ```
 */
export function strftime(
  format: string,
  date: Date,
  options: StrftimeOptions = {},
): string {
  const time = date.getTime();
  if (Number.isNaN(time)) {
    throw new RangeError("Cannot format date: invalid time value");
  }
  return formatTime(format, breakDown(date, options.utc ?? false));
}

/** glibc's `__strftime_internal` loop over one format. */
function formatTime(format: string, tm: BrokenDownTime): string {
  let out = "";
  let i = 0;
  while (i < format.length) {
    const percent = format.indexOf("%", i);
    if (percent < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, percent);
    let f = percent + 1;
    const spec: Spec = { pad: "", width: -1, upper: false, lower: false };
    let changeCase = false;
    for (;; f++) {
      const c = format[f];
      if (c === "_" || c === "-" || c === "0") spec.pad = c;
      else if (c === "^") spec.upper = true;
      else if (c === "#") changeCase = true;
      else break;
    }
    if (isDigit(format[f])) {
      spec.width = 0;
      while (isDigit(format[f])) {
        spec.width = Math.min(spec.width * 10 + Number(format[f]), MAX_WIDTH);
        f++;
      }
    }
    let modifier = "";
    if (format[f] === "E" || format[f] === "O") {
      modifier = format[f++] as string;
    }
    const conversion = format[f];
    if (conversion === undefined) {
      // A `%` (with its flags) at the end of the format prints as it is.
      out += addText(format.slice(percent, f), spec);
      break;
    }
    i = f + 1;
    const text = convert(conversion, modifier, spec, changeCase, tm);
    out += text ?? badFormat(format, percent, f, spec);
  }
  return out;
}

/**
 * One conversion, or `undefined` when glibc would take its `bad_format` path.
 */
function convert(
  conversion: string,
  modifier: string,
  spec: Spec,
  changeCase: boolean,
  tm: BrokenDownTime,
): string | undefined {
  if (modifier === "E" && REJECTS_E.has(conversion)) return undefined;
  if (modifier === "O" && REJECTS_O.has(conversion)) return undefined;
  const hour12 = tm.hour % 12 === 0 ? 12 : tm.hour % 12;
  switch (conversion) {
    case "%":
    case "n":
    case "t": {
      const literal = conversion === "n"
        ? "\n"
        : conversion === "t"
        ? "\t"
        : "%";
      return addText(literal, spec);
    }
    case "a":
    case "A":
    case "b":
    case "h":
    case "B": {
      if (changeCase) {
        spec.upper = true;
        spec.lower = false;
      }
      const day = DAY_NAMES[tm.weekday] as string;
      const month = MONTH_NAMES[tm.month] as string;
      const name = conversion === "a"
        ? day.slice(0, 3)
        : conversion === "A"
        ? day
        : conversion === "B"
        ? month
        : month.slice(0, 3);
      return addText(name, spec);
    }
    case "p":
    case "P":
      if (conversion === "P") spec.lower = true;
      if (changeCase) {
        spec.upper = false;
        spec.lower = true;
      }
      return addText(tm.hour > 11 ? "PM" : "AM", spec);
    case "Z":
      if (changeCase) {
        spec.upper = false;
        spec.lower = true;
      }
      return addText(tm.zone, spec);
    case "c":
    case "D":
    case "F":
    case "r":
    case "R":
    case "T":
    case "x":
    case "X": {
      // glibc formats the expansion on its own, then pads and upper-cases it
      // as a whole; the flags do not reach the inner conversions.
      const inner = formatTime(SUBFORMATS[conversion] as string, tm);
      return addText(inner, { ...spec, lower: false });
    }
    case "C":
      return addNumber(
        Math.floor(tm.year / 100),
        1,
        spec,
        false,
      );
    case "d":
      return addNumber(tm.day, 2, spec, false);
    case "e":
      return addNumber(tm.day, 2, spec, true);
    case "H":
      return addNumber(tm.hour, 2, spec, false);
    case "I":
      return addNumber(hour12, 2, spec, false);
    case "k":
      return addNumber(tm.hour, 2, spec, true);
    case "l":
      return addNumber(hour12, 2, spec, true);
    case "j":
      return addNumber(tm.yearDay + 1, 3, spec, false);
    case "m":
      return addNumber(tm.month + 1, 2, spec, false);
    case "M":
      return addNumber(tm.minute, 2, spec, false);
    case "S":
      return addNumber(tm.second, 2, spec, false);
    case "s":
      // glibc writes the digits itself and skips `DO_NUMBER`'s padding, so a
      // width pads the whole text, even in front of a minus sign.
      return addText(String(tm.epochSeconds), spec);
    case "u":
      return addNumber((tm.weekday + 6) % 7 + 1, 1, spec, false);
    case "w":
      return addNumber(tm.weekday, 1, spec, false);
    case "U":
      return addNumber(
        Math.floor((tm.yearDay - tm.weekday + 7) / 7),
        2,
        spec,
        false,
      );
    case "W":
      return addNumber(
        Math.floor((tm.yearDay - (tm.weekday + 6) % 7 + 7) / 7),
        2,
        spec,
        false,
      );
    case "g":
    case "G":
    case "V": {
      const iso = isoWeek(tm);
      if (conversion === "g") {
        return addNumber(positiveModulo(iso.year, 100), 2, spec, false);
      }
      if (conversion === "G") return addNumber(iso.year, 1, spec, false);
      return addNumber(iso.week, 2, spec, false);
    }
    case "y":
      return addNumber(positiveModulo(tm.year, 100), 2, spec, false);
    case "Y":
      return addNumber(tm.year, 1, spec, false);
    case "z": {
      const sign = tm.offsetMinutes < 0 ? "-" : "+";
      const minutes = Math.abs(tm.offsetMinutes);
      const hhmm = Math.floor(minutes / 60) * 100 + minutes % 60;
      return addText(sign, spec) + addNumber(hhmm, 4, spec, false);
    }
    default:
      return undefined;
  }
}

/**
 * glibc's `bad_format`: copy the conversion from its `%` through the
 * offending character, padded to the width. The copy starts at the last `%`
 * seen, so `%E%` prints a single `%`.
 */
function badFormat(
  format: string,
  percent: number,
  end: number,
  spec: Spec,
): string {
  const start = format.lastIndexOf("%", end);
  return addText(format.slice(Math.max(start, percent), end + 1), spec);
}

/** glibc's `cpy`: pad to the width (zeros only with the `0` flag) and fix case. */
function addText(text: string, spec: Spec): string {
  const cased = spec.lower
    ? text.toLowerCase()
    : spec.upper
    ? text.toUpperCase()
    : text;
  if (spec.width <= cased.length) return cased;
  return (spec.pad === "0" ? "0" : " ").repeat(spec.width - cased.length) +
    cased;
}

/**
 * glibc's `DO_NUMBER` (and `DO_NUMBER_SPACEPAD` when `spacePad`): at least
 * `digits` digits or the width, padded with zeros, or with spaces for the
 * `_` flag; the `-` flag drops the padding.
 */
function addNumber(
  value: number,
  digits: number,
  spec: Spec,
  spacePad: boolean,
): string {
  const pad = spacePad && spec.pad !== "0" && spec.pad !== "-" ? "_" : spec.pad;
  const wanted = Math.max(digits, spec.width);
  const sign = value < 0 ? "-" : "";
  const magnitude = String(Math.abs(value));
  const padding = wanted - sign.length - magnitude.length;
  if (pad === "-" || padding <= 0) {
    return addText(sign + magnitude, { ...spec, pad });
  }
  if (pad === "_") return " ".repeat(padding) + sign + magnitude;
  return sign + "0".repeat(padding) + magnitude;
}

/** ISO 8601 week-based year and week number, as glibc's `%G` and `%V`. */
function isoWeek(tm: BrokenDownTime): { year: number; week: number } {
  let year = tm.year;
  let days = isoWeekDays(tm.yearDay, tm.weekday);
  if (days < 0) {
    // This week belongs to the previous year's last ISO week.
    year--;
    days = isoWeekDays(tm.yearDay + 365 + (isLeap(year) ? 1 : 0), tm.weekday);
  } else {
    const next = isoWeekDays(
      tm.yearDay - 365 - (isLeap(year) ? 1 : 0),
      tm.weekday,
    );
    if (next >= 0) {
      year++;
      days = next;
    }
  }
  return { year, week: Math.floor(days / 7) + 1 };
}

/**
 * glibc's `iso_week_days`: days from the start of the first ISO week of the
 * year to the day `yearDay` falling on `weekday`.
 */
function isoWeekDays(yearDay: number, weekday: number): number {
  const bigEnoughMultipleOf7 = (Math.trunc(366 / 7) + 2) * 7;
  return yearDay - (yearDay - weekday + 4 + bigEnoughMultipleOf7) % 7 + 3;
}

/** Gregorian leap year test, like glibc's `__isleap`. */
function isLeap(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

/** `((n % m) + m) % m`: the non-negative remainder. */
function positiveModulo(n: number, m: number): number {
  return ((n % m) + m) % m;
}

/** ASCII digit test, like glibc's `ISDIGIT`. */
function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "9";
}

/** `localtime_r` / `gmtime_r`: split a date into `struct tm` fields. */
function breakDown(date: Date, utc: boolean): BrokenDownTime {
  const year = utc ? date.getUTCFullYear() : date.getFullYear();
  const month = utc ? date.getUTCMonth() : date.getMonth();
  const day = utc ? date.getUTCDate() : date.getDate();
  const offsetMinutes = utc ? 0 : -date.getTimezoneOffset();
  const startOfYear = new Date(0);
  startOfYear.setUTCFullYear(year, 0, 1);
  const today = new Date(0);
  today.setUTCFullYear(year, month, day);
  return {
    year,
    month,
    day,
    hour: utc ? date.getUTCHours() : date.getHours(),
    minute: utc ? date.getUTCMinutes() : date.getMinutes(),
    second: utc ? date.getUTCSeconds() : date.getSeconds(),
    weekday: utc ? date.getUTCDay() : date.getDay(),
    yearDay: Math.round((today.getTime() - startOfYear.getTime()) / 86400000),
    offsetMinutes,
    zone: utc ? "UTC" : zoneName(date, offsetMinutes),
    epochSeconds: Math.floor(date.getTime() / 1000),
  };
}

/**
 * The local zone's abbreviation for `date`, like glibc's `tm_zone`: the short
 * name from `Intl` in US or else British English, and otherwise the numeric
 * form the tz database uses for zones without one (`+03`, `+0530`).
 */
function zoneName(date: Date, offsetMinutes: number): string {
  zoneFormats ??= ["en-US", "en-GB"].map((locale) =>
    new Intl.DateTimeFormat(locale, { timeZoneName: "short" })
  );
  for (const format of zoneFormats) {
    const name = format.formatToParts(date)
      .find((part) => part.type === "timeZoneName")?.value;
    if (name !== undefined && !/^GMT[+-]/.test(name)) return name;
  }
  const sign = offsetMinutes < 0 ? "-" : "+";
  const minutes = Math.abs(offsetMinutes);
  const hours = String(Math.floor(minutes / 60)).padStart(2, "0");
  return minutes % 60 === 0
    ? sign + hours
    : sign + hours + String(minutes % 60).padStart(2, "0");
}
