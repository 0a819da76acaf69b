import assert from "node:assert/strict";
import {
  goAtoi,
  goParseBool,
  goParseFloat,
  goQuote,
} from "../../lib/exporter/go_strconv.ts";
import {
  goDurationSeconds,
  parseGoDuration,
} from "../../lib/exporter/go_duration.ts";

/** The message a call throws, or "" when it returns. */
function thrown(call: () => unknown): string {
  try {
    call();
    return "";
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

Deno.test("goAtoi() reads Go's int: sign, decimal digits, 64 bits", () => {
  assert.equal(goAtoi("5201"), 5201n);
  assert.equal(goAtoi("+80"), 80n);
  assert.equal(goAtoi("-1"), -1n);
  assert.equal(goAtoi("-0"), 0n);
  assert.equal(goAtoi("007"), 7n);
  assert.equal(goAtoi("9223372036854775807"), 9223372036854775807n);
  assert.equal(goAtoi("-9223372036854775808"), -9223372036854775808n);
});

Deno.test("goAtoi() fails with strconv's texts", () => {
  const syntax = (s: string) =>
    `strconv.Atoi: parsing ${goQuote(s)}: invalid syntax`;
  for (
    const s of ["x", "", "+", "-", " 1", "1 ", "1_000", "0x10", "1.0", "١"]
  ) {
    assert.equal(thrown(() => goAtoi(s)), syntax(s), s);
  }
  assert.equal(
    thrown(() => goAtoi("x")),
    'strconv.Atoi: parsing "x": invalid syntax',
  );
  for (
    const s of [
      "9223372036854775808",
      "-9223372036854775809",
      "99999999999999999999",
      // The overflow comes before the bad character, as in ParseUint.
      "99999999999999999999x",
    ]
  ) {
    assert.equal(
      thrown(() => goAtoi(s)),
      `strconv.Atoi: parsing "${s}": value out of range`,
    );
  }
  assert.equal(
    thrown(() => goAtoi("1x99999999999999999999")),
    'strconv.Atoi: parsing "1x99999999999999999999": invalid syntax',
  );
});

Deno.test("goQuote() escapes as strconv.Quote", () => {
  assert.equal(goQuote("abc"), '"abc"');
  assert.equal(goQuote('a"b\\c'), '"a\\"b\\\\c"');
  assert.equal(goQuote("a\tb\n\x00\x7f"), '"a\\tb\\n\\x00\\x7f"');
  assert.equal(goQuote("é١"), '"é١"');
  assert.equal(goQuote("\u200b"), '"\\u200b"');
});

Deno.test("goParseBool() takes strconv's twelve words", () => {
  for (const s of ["1", "t", "T", "TRUE", "true", "True"]) {
    assert.equal(goParseBool(s), true);
  }
  for (const s of ["0", "f", "F", "FALSE", "false", "False"]) {
    assert.equal(goParseBool(s), false);
  }
  for (const s of ["yes", "tRUE", "", "2", " true"]) {
    assert.equal(
      thrown(() => goParseBool(s)),
      `strconv.ParseBool: parsing ${goQuote(s)}: invalid syntax`,
    );
  }
});

Deno.test("goParseFloat() reads Go's float literals", () => {
  assert.equal(goParseFloat("4"), 4);
  assert.equal(goParseFloat("4.5"), 4.5);
  assert.equal(goParseFloat(".5"), 0.5);
  assert.equal(goParseFloat("5."), 5);
  assert.equal(goParseFloat("-1e1"), -10);
  assert.equal(goParseFloat("1_0.2_5"), 10.25);
  assert.equal(goParseFloat("0x1p-2"), 0.25);
  assert.equal(goParseFloat("0x_1.8p1"), 3);
  assert.equal(goParseFloat("Inf"), Infinity);
  assert.equal(goParseFloat("-infinity"), -Infinity);
  assert.ok(Number.isNaN(goParseFloat("NaN")));
  assert.equal(goParseFloat("1e-400"), 0);
  for (const s of ["x", "1_", "_1", "1__0", "1e", ".", "0x1", "+nan", "4s"]) {
    assert.equal(
      thrown(() => goParseFloat(s)),
      `strconv.ParseFloat: parsing ${goQuote(s)}: invalid syntax`,
      s,
    );
  }
  assert.equal(
    thrown(() => goParseFloat("1e400")),
    'strconv.ParseFloat: parsing "1e400": value out of range',
  );
});

Deno.test("parseGoDuration() reads Go durations", () => {
  const seconds = (s: string) => goDurationSeconds(parseGoDuration(s));
  assert.equal(seconds("30s"), 30);
  assert.equal(seconds("500ms"), 0.5);
  assert.equal(seconds("1m30s"), 90);
  assert.equal(seconds("1.5h"), 5400);
  assert.equal(seconds("-5s"), -5);
  assert.equal(seconds("+2s"), 2);
  assert.equal(seconds("0"), 0);
  assert.equal(seconds("-0"), 0);
  assert.equal(seconds(".5s"), 0.5);
  assert.equal(seconds("1.s"), 1);
  assert.equal(seconds("1h2m3s4ms5us6ns"), 3723.004005006);
  assert.equal(parseGoDuration("10\u00b5s"), 10_000n);
  assert.equal(parseGoDuration("10\u03bcs"), 10_000n);
  assert.equal(parseGoDuration("9223372036854775807ns"), (1n << 63n) - 1n);
  assert.equal(parseGoDuration("-9223372036854775808ns"), -(1n << 63n));
});

Deno.test("parseGoDuration() fails with time's texts", () => {
  const cases: [string, string][] = [
    ["5", 'time: missing unit in duration "5"'],
    ["1s5", 'time: missing unit in duration "1s5"'],
    ["5x", 'time: unknown unit "x" in duration "5x"'],
    ["3e5s", 'time: unknown unit "e" in duration "3e5s"'],
    ["5é", 'time: unknown unit "\\xc3\\xa9" in duration "5\\xc3\\xa9"'],
    ["x", 'time: invalid duration "x"'],
    ["", 'time: invalid duration ""'],
    ["-", 'time: invalid duration "-"'],
    [".s", 'time: invalid duration ".s"'],
    ["s", 'time: invalid duration "s"'],
    ["9223372036854775808ns", 'time: invalid duration "9223372036854775808ns"'],
    ["3000000h", 'time: invalid duration "3000000h"'],
  ];
  for (const [text, message] of cases) {
    assert.equal(thrown(() => parseGoDuration(text)), message, text);
  }
});
