/**
 * The value kinds of the option table: how one option's text (the command
 * line's) or typed value (the library API's) becomes a validated value, with
 * iperf3's messages. Every function throws {@linkcode UsageError}.
 *
 * @module
 */

import type { KeepAliveSettings } from "../net/stream_socket.ts";
import { UsageError } from "../errors.ts";
import { LIMITS } from "../protocol/params.ts";
import {
  type ParsedRate,
  parseRate,
  parseSize,
  parseUnitFormat,
  type UnitFormat,
} from "../units.ts";

/**
 * How one option's value is read and checked.
 *
 * `parse` reads the command line's text (undefined for a flag, or an
 * optional value left out); `check` validates a value that arrives typed
 * (the library API) and returns it. Both name the option by its long name
 * in messages.
 */
export interface ValueKind<T> {
  /** What the value is, for docs/flags.md ("whole number 1-65535"). */
  readonly describe: string;
  /** Reads the text given on the command line. */
  parse(text: string | undefined, name: string): T;
  /** Validates a typed value; returns it. */
  check(value: T, name: string): T;
  /**
   * Present when the option may be given more than once: how a later value
   * joins the ones before (`--web.listen-address A --web.listen-address B`).
   */
  combine?(earlier: T, later: T): T;
}

/** A flag: present or not. */
export const FLAG: ValueKind<boolean> = {
  describe: "flag",
  parse: () => true,
  check: (value) => value,
};

/**
 * Any text; `emptyMessage`, when given, refuses the empty string.
 *
 * @param emptyMessage the message for an empty value
 * @returns the kind
 */
export function text(emptyMessage?: string): ValueKind<string> {
  const check = (value: string) => {
    if (emptyMessage !== undefined && value === "") {
      throw new UsageError(emptyMessage);
    }
    return value;
  };
  return {
    describe: "text",
    parse: (value) => check(value ?? ""),
    check,
  };
}

/**
 * A whole number from `min` to `max`; outside that, `range` is the message.
 *
 * @param min the smallest accepted
 * @param max the largest accepted
 * @param range iperf3's message for a number out of range
 * @returns the kind
 */
export function wholeNumber(
  min: number,
  max: number,
  range: string,
): ValueKind<number> {
  const check = (n: number, name: string) => {
    if (!Number.isInteger(n)) {
      throw new UsageError(
        `invalid --${name} value "${n}": expected a whole number`,
      );
    }
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new UsageError(range);
    }
    return n;
  };
  return {
    describe: `whole number ${min}-${max}`,
    parse: (value, name) => check(integerText(value ?? "", name), name),
    check,
  };
}

/** `-i`: seconds, 0 or 0.1 to 60. */
export const REPORT_INTERVAL: ValueKind<number> = {
  describe: "seconds, 0 or 0.1-60",
  parse(value, name) {
    const t = (value ?? "").trim();
    const n = /^\d+(\.\d*)?$|^\.\d+$/.test(t) ? Number(t) : NaN;
    if (Number.isNaN(n)) {
      throw new UsageError(
        `invalid --${name} value "${value}": expected seconds`,
      );
    }
    return this.check(n, name);
  },
  check(n, name) {
    if (!Number.isFinite(n)) {
      throw new UsageError(`invalid --${name} value "${n}": expected seconds`);
    }
    if (n !== 0 && (n < 0.1 || n > 60)) {
      throw new UsageError(
        "invalid report interval (min = 0.1, max = 60 seconds)",
      );
    }
    return n;
  },
};

/** `-f`: one of `kmgtKMGT`. */
export const UNIT_FORMAT: ValueKind<UnitFormat> = {
  describe: "one of k m g t K M G T",
  parse: (value) => unitFormat(value ?? ""),
  check: (value) => unitFormat(value),
};

function unitFormat(value: string): UnitFormat {
  try {
    return parseUnitFormat(value);
  } catch (error) {
    throw new UsageError(errorText(error));
  }
}

/**
 * A byte or block count with an optional K/M/G/T suffix, above 0 (`-n`, `-k`).
 */
export const POSITIVE_SIZE: ValueKind<number> = {
  describe: "count with K/M/G suffix, above 0",
  parse(value, name) {
    const n = size(value ?? "", name);
    if (n <= 0) {
      throw new UsageError(
        `invalid --${name} value "${value}": must be above 0`,
      );
    }
    return n;
  },
  check(n, name) {
    if (!(Number.isSafeInteger(n) && n > 0)) {
      throw new UsageError(`invalid --${name} value "${n}": must be above 0`);
    }
    return n;
  },
};

/**
 * A size with an optional K/M/G suffix (`-l`); its range depends on `-u`
 * and is checked where the config is built.
 */
export const SIZE: ValueKind<number> = {
  describe: "bytes with K/M/G suffix",
  parse: (value, name) => size(value ?? "", name),
  check(n, name) {
    if (!Number.isSafeInteger(n)) {
      throw new UsageError(
        `invalid --${name} value "${n}": expected a whole number of bytes`,
      );
    }
    return n;
  },
};

/** `-w`: a size with an optional K/M/G suffix, at most 512 MiB (iperf3's MAX_TCP_BUFFER). */
export const SOCKET_BUFFER: ValueKind<number> = {
  describe: `bytes with K/M/G suffix, at most ${LIMITS.MAX_TCP_BUFFER}`,
  parse: (value, name) => SOCKET_BUFFER.check(size(value ?? "", name), name),
  check(n, name) {
    if (!(Number.isFinite(n) && n >= 0)) {
      throw new UsageError(
        `invalid --${name} value "${n}": expected a size in bytes`,
      );
    }
    if (n > LIMITS.MAX_TCP_BUFFER) {
      throw new UsageError(
        `socket buffer size too large (maximum = ${LIMITS.MAX_TCP_BUFFER} bytes)`,
      );
    }
    return Math.floor(n);
  },
};

/** `-b` and `--fq-rate`: bits/s with an optional K/M/G/T suffix and `/burst`. */
export const RATE: ValueKind<ParsedRate> = {
  describe: "bits/s with K/M/G/T suffix, optional /burst (1-1000)",
  parse(value, name) {
    try {
      return parseRate(value ?? "");
    } catch (error) {
      throw new UsageError(`invalid --${name} value: ${errorText(error)}`);
    }
  },
  check(rate, name) {
    const { bitsPerSecond, burst } = rate;
    if (!(Number.isSafeInteger(bitsPerSecond) && bitsPerSecond >= 0)) {
      throw new UsageError(
        `invalid --${name} value: Invalid bitrate "${bitsPerSecond}": expected a whole number of bits per second`,
      );
    }
    if (
      !Number.isSafeInteger(burst) || burst < 0 || burst > LIMITS.MAX_BURST
    ) {
      throw new UsageError(
        `invalid --${name} value: Invalid burst count "${burst}": expected 1 to ${LIMITS.MAX_BURST}`,
      );
    }
    return rate;
  },
};

/** `--server-bitrate-limit RATE[/SECONDS]`. */
export interface BitrateLimit {
  /** Total bits/s, above 0. */
  bitsPerSecond: number;
  /** Seconds the rate is averaged over (1-3600), when given. */
  window?: number;
}

const LIMIT_WINDOW = wholeNumber(
  1,
  3600,
  "invalid time interval for calculating average data rate",
);

/** `--server-bitrate-limit`: a rate above 0, optionally `/SECONDS` averaged over. */
export const BITRATE_LIMIT: ValueKind<BitrateLimit> = {
  describe: "bits/s with K/M/G/T suffix, optional /seconds (1-3600)",
  parse(value, name) {
    const [rateText, windowText] = (value ?? "").split("/");
    const rate = RATE.parse(rateText ?? "", name);
    const limit: BitrateLimit = { bitsPerSecond: rate.bitsPerSecond };
    BITRATE_LIMIT.check(limit, name);
    if (windowText !== undefined) {
      limit.window = LIMIT_WINDOW.parse(windowText, name);
    }
    return limit;
  },
  check(limit, name) {
    if (!(limit.bitsPerSecond > 0)) {
      throw new UsageError(`--${name} must be above 0`);
    }
    if (limit.window !== undefined) LIMIT_WINDOW.check(limit.window, name);
    return limit;
  },
};

/** `-C`: a congestion control algorithm's name. */
export const CONGESTION: ValueKind<string> = {
  describe: "algorithm name (1-15 letters, digits, - or _)",
  parse: (value, name) => CONGESTION.check(value ?? "", name),
  check(value) {
    if (!/^[A-Za-z0-9_-]{1,15}$/.test(value)) {
      throw new UsageError(
        `invalid --congestion value "${value}": a congestion control algorithm name (1-15 letters, digits, - or _)`,
      );
    }
    return value;
  },
};

const BAD_TOS = "bad TOS value (must be between 0 and 255 inclusive)";

/** `-S`: the whole TOS byte, as C's `strtol(..., 0)` reads it (hex, octal, decimal). */
export const TOS: ValueKind<number> = {
  describe: "0-255 (decimal, 0 octal or 0x hex)",
  parse: (value, name) => TOS.check(cNumber(value ?? ""), name),
  check(n) {
    if (!(Number.isInteger(n) && n >= 0 && n <= LIMITS.MAX_TOS)) {
      throw new UsageError(BAD_TOS);
    }
    return n;
  },
};

/** `-L`: an IPv6 flow label, 1-0xfffff, read as iperf3's `strtol(optarg, 0)` (decimal, 0x hex, 0 octal). */
export const FLOW_LABEL: ValueKind<number> = {
  describe: "1-1048575 (decimal, 0 octal or 0x hex)",
  parse: (value, name) => FLOW_LABEL.check(cNumber(value ?? ""), name),
  check(n) {
    if (!(Number.isInteger(n) && n >= 1 && n <= 0xfffff)) {
      throw new UsageError("unable to set IPv6 flow label");
    }
    return n;
  },
};

/** DSCP names iperf3 knows (RFC 4594 and friends), as code points. */
const DSCP_NAMES: Readonly<Record<string, number>> = {
  cs0: 0,
  cs1: 8,
  cs2: 16,
  cs3: 24,
  cs4: 32,
  cs5: 40,
  cs6: 48,
  cs7: 56,
  af11: 10,
  af12: 12,
  af13: 14,
  af21: 18,
  af22: 20,
  af23: 22,
  af31: 26,
  af32: 28,
  af33: 30,
  af41: 34,
  af42: 36,
  af43: 38,
  ef: 46,
  va: 44,
  le: 1,
  // RFC 1349 TOS bits, which iperf3 3.21 names here too.
  lowdelay: 0x10 >> 2,
  throughput: 0x08 >> 2,
  reliability: 0x04 >> 2,
};

/** `--dscp`: a code point (0-63) or name; the value is the TOS byte it makes (code point << 2). */
export const DSCP: ValueKind<number> = {
  describe:
    "0-63 or a name (ef, af11-43, cs0-7, va, le, lowdelay, throughput, reliability)",
  parse(value) {
    const t = (value ?? "").trim().toLowerCase();
    const n = DSCP_NAMES[t] ?? cNumber(t);
    if (!(n >= 0 && n <= 63)) {
      throw new UsageError(
        `bad DSCP value "${value}" (0-63, or a name such as ef, af11, cs1)`,
      );
    }
    return n << 2;
  },
  check(tos) {
    if (!(Number.isInteger(tos) && tos >= 0 && tos <= 252 && tos % 4 === 0)) {
      throw new UsageError(
        `bad DSCP value "${tos >> 2}" (0-63, or a name such as ef, af11, cs1)`,
      );
    }
    return tos;
  },
};

/** `--plot FILE`: the picture's file, `.svg` or `.html` (the name says which). */
export const PLOT_FILE: ValueKind<string> = {
  describe: "file name ending in .svg or .html",
  parse: (value, name) => checkPlotFile(value ?? "", name),
  check: (value, name) => checkPlotFile(value, name),
};

function checkPlotFile(value: string, name: string): string {
  if (!/\.(svg|html?)$/i.test(value)) {
    throw new UsageError(
      `--${name} takes a file name ending in .svg or .html: "${value}"`,
    );
  }
  return value;
}

/** `--timestamps[=FORMAT]`: a strftime format, iperf3's `"%c "` when none is given. */
export const TIMESTAMP_FORMAT: ValueKind<string> = {
  describe: "strftime(3) format",
  parse: (value) => value ?? "%c ",
  check: (value) => value,
};

/** `-d`/`--debug[=LEVEL]`: the level, 4 (all) when none is given. */
export const DEBUG_LEVEL: ValueKind<number> = {
  describe: "level 1-4",
  parse(value, name) {
    if (value === undefined) return 4;
    return DEBUG_LEVEL.check(integerText(value, name), name);
  },
  check(n, name) {
    if (!Number.isSafeInteger(n)) {
      throw new UsageError(
        `invalid --${name} value "${n}": expected a whole number`,
      );
    }
    // iperf3: a negative level means all messages.
    return n < 0 || n > 4 ? 4 : n;
  },
};

/** `--cntl-ka` alone, or with `=IDLE/INTVL/CNT` timings. */
export type KeepAliveOption = true | KeepAliveSettings;

/**
 * `--cntl-ka[=IDLE/INTVL/CNT]` (iperf3 3.19+): each part optional, 0 or
 * empty for the system's value; the idle time must exceed interval x count.
 */
export const KEEP_ALIVE: ValueKind<KeepAliveOption> = {
  describe: "IDLE/INTERVAL/COUNT seconds, each optional",
  parse(value) {
    if (value === undefined) return true;
    const parts = value.split("/");
    if (parts.length > 3 || parts.some((p) => !/^\d*$/.test(p))) {
      throw new UsageError(
        `invalid --cntl-ka value "${value}": expected IDLE/INTERVAL/COUNT, whole numbers, each optional`,
      );
    }
    const [idle = 0, interval = 0, count = 0] = parts.map((p) =>
      Number(p || 0)
    );
    return KEEP_ALIVE.check({ idle, interval, count }, "cntl-ka");
  },
  check(value) {
    if (value === true) return value;
    const { idle, interval, count } = value;
    if (idle && interval && count && idle <= interval * count) {
      throw new UsageError(
        `Keepalive Idle time (${idle}) should be greater than Retries-interval (${interval}) times Retries-count (${count})`,
      );
    }
    return value;
  },
};

/** The message of an error from a parser in `units.ts`. */
function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function integerText(value: string, name: string): number {
  if (!/^\d+$/.test(value.trim())) {
    throw new UsageError(
      `invalid --${name} value "${value}": expected a whole number`,
    );
  }
  return Number(value);
}

function size(value: string, name: string): number {
  try {
    return parseSize(value);
  } catch (error) {
    throw new UsageError(`invalid --${name} value: ${errorText(error)}`);
  }
}

/** A C `strtol(text, 0)` number: decimal, 0x hex or 0 octal; NaN otherwise. */
function cNumber(value: string): number {
  const t = value.trim();
  if (/^0[xX][0-9a-fA-F]+$/.test(t)) return parseInt(t.slice(2), 16);
  if (/^0[0-7]+$/.test(t)) return parseInt(t.slice(1), 8);
  if (/^\d+$/.test(t)) return Number(t);
  return NaN;
}
