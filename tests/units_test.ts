import assert from "node:assert/strict";
import {
  formatUnit,
  parseRate,
  parseSize,
  parseUnitFormat,
  type UnitFormat,
} from "../lib/units.ts";

// formatUnit() goldens come from iperf3 3.12's own units.c `unit_snprintf`,
// compiled into a small C harness and fed each double by its bit pattern.
// parseSize() and parseRate() goldens come from `unit_atoi` and
// `unit_atof_rate` in the same harness.

Deno.test("formatUnit() picks units adaptively like iperf3", () => {
  assert.equal(formatUnit(0, "A"), "0.00 Byte");
  assert.equal(formatUnit(0, "a"), "0.00 bit");
  assert.equal(formatUnit(1023, "A"), "1023 Byte");
  assert.equal(formatUnit(1024, "A"), "1.00 KByte");
  assert.equal(formatUnit(1.5 * 2 ** 30, "A"), "1.50 GByte");
  assert.equal(formatUnit(1e9 / 8, "a"), "1.00 Gbit");
  assert.equal(formatUnit(1.75e9, "a"), "14.0 Gbit");
});

Deno.test("formatUnit() rounds exact ties to even", () => {
  // 655872 bytes is exactly 640.5 KBytes.
  assert.equal(formatUnit(655872, "A") + "s", " 640 KBytes");
  // 999.5 bytes is a tie that goes up to the even 1000.
  assert.equal(formatUnit(999.5, "A"), "1000 Byte");
});

Deno.test("formatUnit() switches precision at 9.995 and 99.95", () => {
  assert.equal(formatUnit(10234, "A"), "9.99 KByte");
  assert.equal(formatUnit(10235, "A"), "10.0 KByte");
  assert.equal(formatUnit(102348, "A"), "99.9 KByte");
  assert.equal(formatUnit(102349, "A"), " 100 KByte");
  assert.equal(formatUnit(1023487, "A"), " 999 KByte");
  assert.equal(formatUnit(1023488, "A"), "1000 KByte");
  assert.equal(formatUnit(1048575, "A"), "1024 KByte");
});

Deno.test("formatUnit() multiplies by the units.c conversion factors", () => {
  // 99950000 bits times (1.0 / 1000 / 1000) is 99.94999..., below 99.95,
  // where dividing by 1e6 would give exactly 99.95 and print " 100".
  assert.equal(formatUnit(12493750, "a"), "99.9 Mbit");
  assert.equal(formatUnit(12493750, "m"), "99.9 Mbit");
  // 1005 bits times (1.0 / 1000) is just above 1.005, so it rounds up.
  assert.equal(formatUnit(125.625, "a"), "1.01 Kbit");
  assert.equal(formatUnit(1256250, "a"), "10.0 Mbit");
});

Deno.test("formatUnit() stops at tera and widens the field", () => {
  assert.equal(formatUnit(1500 * 2 ** 40, "A"), "1500 TByte");
  assert.equal(formatUnit(2 ** 60, "A"), "1048576 TByte");
  assert.equal(formatUnit(1e18, "a"), "8000000 Tbit");
});

Deno.test("formatUnit() forces the unit for non-adaptive letters", () => {
  assert.equal(formatUnit(6289408, "k"), "50315 Kbit");
  assert.equal(formatUnit(6289408, "K"), "6142 KByte");
  assert.equal(formatUnit(6289408, "G"), "0.01 GByte");
  assert.equal(formatUnit(1, "b"), "8.00 bit");
  assert.equal(formatUnit(1e9, "B"), "1000000000 Byte");
});

Deno.test("formatUnit() rejects an unknown format letter", () => {
  assert.throws(() => formatUnit(1, "x" as UnitFormat), {
    name: "RangeError",
    message: 'Invalid unit format "x": expected one of "aAbBkKmMgGtT"',
  });
  assert.throws(() => formatUnit(1, "" as UnitFormat), RangeError);
  assert.throws(() => formatUnit(1, "kk" as UnitFormat), RangeError);
});

/** [bytes (or bytes/sec), format letter, iperf3 3.12 unit_snprintf output] */
const FORMAT_GOLDENS: [number, UnitFormat, string][] = [
  [0, "a", "0.00 bit"],
  [1, "a", "8.00 bit"],
  [0.5, "a", "4.00 bit"],
  [-1, "a", "-8.00 bit"],
  [1023, "a", "8.18 Kbit"],
  [1024, "a", "8.19 Kbit"],
  [1024 * 9.995, "a", "81.9 Kbit"],
  [1024 * 9.994, "a", "81.9 Kbit"],
  [10234, "a", "81.9 Kbit"],
  [10235, "a", "81.9 Kbit"],
  [102348, "a", " 819 Kbit"],
  [102349, "a", " 819 Kbit"],
  [1023488, "a", "8.19 Mbit"],
  [1023487, "a", "8.19 Mbit"],
  [655872, "a", "5.25 Mbit"],
  [655360, "a", "5.24 Mbit"],
  [1048575, "a", "8.39 Mbit"],
  [1048576, "a", "8.39 Mbit"],
  [1.5 * 2 ** 30, "a", "12.9 Gbit"],
  [8.13 * 2 ** 30, "a", "69.8 Gbit"],
  [2 ** 40, "a", "8.80 Tbit"],
  [1500 * 2 ** 40, "a", "13194 Tbit"],
  [2 ** 60, "a", "9223372 Tbit"],
  [1e9 / 8, "a", "1.00 Gbit"],
  [125, "a", "1.00 Kbit"],
  [124.9, "a", " 999 bit"],
  [125.625, "a", "1.01 Kbit"],
  [1e9, "a", "8.00 Gbit"],
  [1.75e9, "a", "14.0 Gbit"],
  [12493750, "a", "99.9 Mbit"],
  [1256250, "a", "10.0 Mbit"],
  [6289408, "a", "50.3 Mbit"],
  [131072, "a", "1.05 Mbit"],
  [1e15, "a", "8000 Tbit"],
  [1e18, "a", "8000000 Tbit"],
  [999.5, "a", "8.00 Kbit"],
  [1249375, "a", "10.0 Mbit"],
  [8000, "a", "64.0 Kbit"],
  [0, "A", "0.00 Byte"],
  [1, "A", "1.00 Byte"],
  [0.5, "A", "0.50 Byte"],
  [-1, "A", "-1.00 Byte"],
  [1023, "A", "1023 Byte"],
  [1024, "A", "1.00 KByte"],
  [1024 * 9.995, "A", "10.0 KByte"],
  [1024 * 9.994, "A", "9.99 KByte"],
  [10234, "A", "9.99 KByte"],
  [10235, "A", "10.0 KByte"],
  [102348, "A", "99.9 KByte"],
  [102349, "A", " 100 KByte"],
  [1023488, "A", "1000 KByte"],
  [1023487, "A", " 999 KByte"],
  [655872, "A", " 640 KByte"],
  [655360, "A", " 640 KByte"],
  [1048575, "A", "1024 KByte"],
  [1048576, "A", "1.00 MByte"],
  [1.5 * 2 ** 30, "A", "1.50 GByte"],
  [8.13 * 2 ** 30, "A", "8.13 GByte"],
  [2 ** 40, "A", "1.00 TByte"],
  [1500 * 2 ** 40, "A", "1500 TByte"],
  [2 ** 60, "A", "1048576 TByte"],
  [1e9 / 8, "A", " 119 MByte"],
  [125, "A", " 125 Byte"],
  [124.9, "A", " 125 Byte"],
  [125.625, "A", " 126 Byte"],
  [1e9, "A", " 954 MByte"],
  [1.75e9, "A", "1.63 GByte"],
  [12493750, "A", "11.9 MByte"],
  [1256250, "A", "1.20 MByte"],
  [6289408, "A", "6.00 MByte"],
  [131072, "A", " 128 KByte"],
  [1e15, "A", " 909 TByte"],
  [1e18, "A", "909495 TByte"],
  [999.5, "A", "1000 Byte"],
  [1249375, "A", "1.19 MByte"],
  [8000, "A", "7.81 KByte"],
  [0, "b", "0.00 bit"],
  [1, "b", "8.00 bit"],
  [0.5, "b", "4.00 bit"],
  [-1, "b", "-8.00 bit"],
  [1023, "b", "8184 bit"],
  [1024, "b", "8192 bit"],
  [1024 * 9.995, "b", "81879 bit"],
  [1024 * 9.994, "b", "81871 bit"],
  [10234, "b", "81872 bit"],
  [10235, "b", "81880 bit"],
  [102348, "b", "818784 bit"],
  [102349, "b", "818792 bit"],
  [1023488, "b", "8187904 bit"],
  [1023487, "b", "8187896 bit"],
  [655872, "b", "5246976 bit"],
  [655360, "b", "5242880 bit"],
  [1048575, "b", "8388600 bit"],
  [1048576, "b", "8388608 bit"],
  [1.5 * 2 ** 30, "b", "12884901888 bit"],
  [8.13 * 2 ** 30, "b", "69836168233 bit"],
  [2 ** 40, "b", "8796093022208 bit"],
  [1500 * 2 ** 40, "b", "13194139533312000 bit"],
  [2 ** 60, "b", "9223372036854775808 bit"],
  [1e9 / 8, "b", "1000000000 bit"],
  [125, "b", "1000 bit"],
  [124.9, "b", " 999 bit"],
  [125.625, "b", "1005 bit"],
  [1e9, "b", "8000000000 bit"],
  [1.75e9, "b", "14000000000 bit"],
  [12493750, "b", "99950000 bit"],
  [1256250, "b", "10050000 bit"],
  [6289408, "b", "50315264 bit"],
  [131072, "b", "1048576 bit"],
  [1e15, "b", "8000000000000000 bit"],
  [1e18, "b", "8000000000000000000 bit"],
  [999.5, "b", "7996 bit"],
  [1249375, "b", "9995000 bit"],
  [8000, "b", "64000 bit"],
  [0, "B", "0.00 Byte"],
  [1, "B", "1.00 Byte"],
  [0.5, "B", "0.50 Byte"],
  [-1, "B", "-1.00 Byte"],
  [1023, "B", "1023 Byte"],
  [1024, "B", "1024 Byte"],
  [1024 * 9.995, "B", "10235 Byte"],
  [1024 * 9.994, "B", "10234 Byte"],
  [10234, "B", "10234 Byte"],
  [10235, "B", "10235 Byte"],
  [102348, "B", "102348 Byte"],
  [102349, "B", "102349 Byte"],
  [1023488, "B", "1023488 Byte"],
  [1023487, "B", "1023487 Byte"],
  [655872, "B", "655872 Byte"],
  [655360, "B", "655360 Byte"],
  [1048575, "B", "1048575 Byte"],
  [1048576, "B", "1048576 Byte"],
  [1.5 * 2 ** 30, "B", "1610612736 Byte"],
  [8.13 * 2 ** 30, "B", "8729521029 Byte"],
  [2 ** 40, "B", "1099511627776 Byte"],
  [1500 * 2 ** 40, "B", "1649267441664000 Byte"],
  [2 ** 60, "B", "1152921504606846976 Byte"],
  [1e9 / 8, "B", "125000000 Byte"],
  [125, "B", " 125 Byte"],
  [124.9, "B", " 125 Byte"],
  [125.625, "B", " 126 Byte"],
  [1e9, "B", "1000000000 Byte"],
  [1.75e9, "B", "1750000000 Byte"],
  [12493750, "B", "12493750 Byte"],
  [1256250, "B", "1256250 Byte"],
  [6289408, "B", "6289408 Byte"],
  [131072, "B", "131072 Byte"],
  [1e15, "B", "1000000000000000 Byte"],
  [1e18, "B", "1000000000000000000 Byte"],
  [999.5, "B", "1000 Byte"],
  [1249375, "B", "1249375 Byte"],
  [8000, "B", "8000 Byte"],
  [0, "k", "0.00 Kbit"],
  [1, "k", "0.01 Kbit"],
  [0.5, "k", "0.00 Kbit"],
  [-1, "k", "-0.01 Kbit"],
  [1023, "k", "8.18 Kbit"],
  [1024, "k", "8.19 Kbit"],
  [1024 * 9.995, "k", "81.9 Kbit"],
  [1024 * 9.994, "k", "81.9 Kbit"],
  [10234, "k", "81.9 Kbit"],
  [10235, "k", "81.9 Kbit"],
  [102348, "k", " 819 Kbit"],
  [102349, "k", " 819 Kbit"],
  [1023488, "k", "8188 Kbit"],
  [1023487, "k", "8188 Kbit"],
  [655872, "k", "5247 Kbit"],
  [655360, "k", "5243 Kbit"],
  [1048575, "k", "8389 Kbit"],
  [1048576, "k", "8389 Kbit"],
  [1.5 * 2 ** 30, "k", "12884902 Kbit"],
  [8.13 * 2 ** 30, "k", "69836168 Kbit"],
  [2 ** 40, "k", "8796093022 Kbit"],
  [1500 * 2 ** 40, "k", "13194139533312 Kbit"],
  [2 ** 60, "k", "9223372036854776 Kbit"],
  [1e9 / 8, "k", "1000000 Kbit"],
  [125, "k", "1.00 Kbit"],
  [124.9, "k", "1.00 Kbit"],
  [125.625, "k", "1.01 Kbit"],
  [1e9, "k", "8000000 Kbit"],
  [1.75e9, "k", "14000000 Kbit"],
  [12493750, "k", "99950 Kbit"],
  [1256250, "k", "10050 Kbit"],
  [6289408, "k", "50315 Kbit"],
  [131072, "k", "1049 Kbit"],
  [1e15, "k", "8000000000000 Kbit"],
  [1e18, "k", "8000000000000000 Kbit"],
  [999.5, "k", "8.00 Kbit"],
  [1249375, "k", "9995 Kbit"],
  [8000, "k", "64.0 Kbit"],
  [0, "K", "0.00 KByte"],
  [1, "K", "0.00 KByte"],
  [0.5, "K", "0.00 KByte"],
  [-1, "K", "-0.00 KByte"],
  [1023, "K", "1.00 KByte"],
  [1024, "K", "1.00 KByte"],
  [1024 * 9.995, "K", "10.0 KByte"],
  [1024 * 9.994, "K", "9.99 KByte"],
  [10234, "K", "9.99 KByte"],
  [10235, "K", "10.0 KByte"],
  [102348, "K", "99.9 KByte"],
  [102349, "K", " 100 KByte"],
  [1023488, "K", "1000 KByte"],
  [1023487, "K", " 999 KByte"],
  [655872, "K", " 640 KByte"],
  [655360, "K", " 640 KByte"],
  [1048575, "K", "1024 KByte"],
  [1048576, "K", "1024 KByte"],
  [1.5 * 2 ** 30, "K", "1572864 KByte"],
  [8.13 * 2 ** 30, "K", "8524923 KByte"],
  [2 ** 40, "K", "1073741824 KByte"],
  [1500 * 2 ** 40, "K", "1610612736000 KByte"],
  [2 ** 60, "K", "1125899906842624 KByte"],
  [1e9 / 8, "K", "122070 KByte"],
  [125, "K", "0.12 KByte"],
  [124.9, "K", "0.12 KByte"],
  [125.625, "K", "0.12 KByte"],
  [1e9, "K", "976562 KByte"],
  [1.75e9, "K", "1708984 KByte"],
  [12493750, "K", "12201 KByte"],
  [1256250, "K", "1227 KByte"],
  [6289408, "K", "6142 KByte"],
  [131072, "K", " 128 KByte"],
  [1e15, "K", "976562500000 KByte"],
  [1e18, "K", "976562500000000 KByte"],
  [999.5, "K", "0.98 KByte"],
  [1249375, "K", "1220 KByte"],
  [8000, "K", "7.81 KByte"],
  [0, "m", "0.00 Mbit"],
  [1, "m", "0.00 Mbit"],
  [0.5, "m", "0.00 Mbit"],
  [-1, "m", "-0.00 Mbit"],
  [1023, "m", "0.01 Mbit"],
  [1024, "m", "0.01 Mbit"],
  [1024 * 9.995, "m", "0.08 Mbit"],
  [1024 * 9.994, "m", "0.08 Mbit"],
  [10234, "m", "0.08 Mbit"],
  [10235, "m", "0.08 Mbit"],
  [102348, "m", "0.82 Mbit"],
  [102349, "m", "0.82 Mbit"],
  [1023488, "m", "8.19 Mbit"],
  [1023487, "m", "8.19 Mbit"],
  [655872, "m", "5.25 Mbit"],
  [655360, "m", "5.24 Mbit"],
  [1048575, "m", "8.39 Mbit"],
  [1048576, "m", "8.39 Mbit"],
  [1.5 * 2 ** 30, "m", "12885 Mbit"],
  [8.13 * 2 ** 30, "m", "69836 Mbit"],
  [2 ** 40, "m", "8796093 Mbit"],
  [1500 * 2 ** 40, "m", "13194139533 Mbit"],
  [2 ** 60, "m", "9223372036855 Mbit"],
  [1e9 / 8, "m", "1000 Mbit"],
  [125, "m", "0.00 Mbit"],
  [124.9, "m", "0.00 Mbit"],
  [125.625, "m", "0.00 Mbit"],
  [1e9, "m", "8000 Mbit"],
  [1.75e9, "m", "14000 Mbit"],
  [12493750, "m", "99.9 Mbit"],
  [1256250, "m", "10.0 Mbit"],
  [6289408, "m", "50.3 Mbit"],
  [131072, "m", "1.05 Mbit"],
  [1e15, "m", "8000000000 Mbit"],
  [1e18, "m", "8000000000000 Mbit"],
  [999.5, "m", "0.01 Mbit"],
  [1249375, "m", "10.0 Mbit"],
  [8000, "m", "0.06 Mbit"],
  [0, "M", "0.00 MByte"],
  [1, "M", "0.00 MByte"],
  [0.5, "M", "0.00 MByte"],
  [-1, "M", "-0.00 MByte"],
  [1023, "M", "0.00 MByte"],
  [1024, "M", "0.00 MByte"],
  [1024 * 9.995, "M", "0.01 MByte"],
  [1024 * 9.994, "M", "0.01 MByte"],
  [10234, "M", "0.01 MByte"],
  [10235, "M", "0.01 MByte"],
  [102348, "M", "0.10 MByte"],
  [102349, "M", "0.10 MByte"],
  [1023488, "M", "0.98 MByte"],
  [1023487, "M", "0.98 MByte"],
  [655872, "M", "0.63 MByte"],
  [655360, "M", "0.62 MByte"],
  [1048575, "M", "1.00 MByte"],
  [1048576, "M", "1.00 MByte"],
  [1.5 * 2 ** 30, "M", "1536 MByte"],
  [8.13 * 2 ** 30, "M", "8325 MByte"],
  [2 ** 40, "M", "1048576 MByte"],
  [1500 * 2 ** 40, "M", "1572864000 MByte"],
  [2 ** 60, "M", "1099511627776 MByte"],
  [1e9 / 8, "M", " 119 MByte"],
  [125, "M", "0.00 MByte"],
  [124.9, "M", "0.00 MByte"],
  [125.625, "M", "0.00 MByte"],
  [1e9, "M", " 954 MByte"],
  [1.75e9, "M", "1669 MByte"],
  [12493750, "M", "11.9 MByte"],
  [1256250, "M", "1.20 MByte"],
  [6289408, "M", "6.00 MByte"],
  [131072, "M", "0.12 MByte"],
  [1e15, "M", "953674316 MByte"],
  [1e18, "M", "953674316406 MByte"],
  [999.5, "M", "0.00 MByte"],
  [1249375, "M", "1.19 MByte"],
  [8000, "M", "0.01 MByte"],
  [0, "g", "0.00 Gbit"],
  [1, "g", "0.00 Gbit"],
  [0.5, "g", "0.00 Gbit"],
  [-1, "g", "-0.00 Gbit"],
  [1023, "g", "0.00 Gbit"],
  [1024, "g", "0.00 Gbit"],
  [1024 * 9.995, "g", "0.00 Gbit"],
  [1024 * 9.994, "g", "0.00 Gbit"],
  [10234, "g", "0.00 Gbit"],
  [10235, "g", "0.00 Gbit"],
  [102348, "g", "0.00 Gbit"],
  [102349, "g", "0.00 Gbit"],
  [1023488, "g", "0.01 Gbit"],
  [1023487, "g", "0.01 Gbit"],
  [655872, "g", "0.01 Gbit"],
  [655360, "g", "0.01 Gbit"],
  [1048575, "g", "0.01 Gbit"],
  [1048576, "g", "0.01 Gbit"],
  [1.5 * 2 ** 30, "g", "12.9 Gbit"],
  [8.13 * 2 ** 30, "g", "69.8 Gbit"],
  [2 ** 40, "g", "8796 Gbit"],
  [1500 * 2 ** 40, "g", "13194140 Gbit"],
  [2 ** 60, "g", "9223372037 Gbit"],
  [1e9 / 8, "g", "1.00 Gbit"],
  [125, "g", "0.00 Gbit"],
  [124.9, "g", "0.00 Gbit"],
  [125.625, "g", "0.00 Gbit"],
  [1e9, "g", "8.00 Gbit"],
  [1.75e9, "g", "14.0 Gbit"],
  [12493750, "g", "0.10 Gbit"],
  [1256250, "g", "0.01 Gbit"],
  [6289408, "g", "0.05 Gbit"],
  [131072, "g", "0.00 Gbit"],
  [1e15, "g", "8000000 Gbit"],
  [1e18, "g", "8000000000 Gbit"],
  [999.5, "g", "0.00 Gbit"],
  [1249375, "g", "0.01 Gbit"],
  [8000, "g", "0.00 Gbit"],
  [0, "G", "0.00 GByte"],
  [1, "G", "0.00 GByte"],
  [0.5, "G", "0.00 GByte"],
  [-1, "G", "-0.00 GByte"],
  [1023, "G", "0.00 GByte"],
  [1024, "G", "0.00 GByte"],
  [1024 * 9.995, "G", "0.00 GByte"],
  [1024 * 9.994, "G", "0.00 GByte"],
  [10234, "G", "0.00 GByte"],
  [10235, "G", "0.00 GByte"],
  [102348, "G", "0.00 GByte"],
  [102349, "G", "0.00 GByte"],
  [1023488, "G", "0.00 GByte"],
  [1023487, "G", "0.00 GByte"],
  [655872, "G", "0.00 GByte"],
  [655360, "G", "0.00 GByte"],
  [1048575, "G", "0.00 GByte"],
  [1048576, "G", "0.00 GByte"],
  [1.5 * 2 ** 30, "G", "1.50 GByte"],
  [8.13 * 2 ** 30, "G", "8.13 GByte"],
  [2 ** 40, "G", "1024 GByte"],
  [1500 * 2 ** 40, "G", "1536000 GByte"],
  [2 ** 60, "G", "1073741824 GByte"],
  [1e9 / 8, "G", "0.12 GByte"],
  [125, "G", "0.00 GByte"],
  [124.9, "G", "0.00 GByte"],
  [125.625, "G", "0.00 GByte"],
  [1e9, "G", "0.93 GByte"],
  [1.75e9, "G", "1.63 GByte"],
  [12493750, "G", "0.01 GByte"],
  [1256250, "G", "0.00 GByte"],
  [6289408, "G", "0.01 GByte"],
  [131072, "G", "0.00 GByte"],
  [1e15, "G", "931323 GByte"],
  [1e18, "G", "931322575 GByte"],
  [999.5, "G", "0.00 GByte"],
  [1249375, "G", "0.00 GByte"],
  [8000, "G", "0.00 GByte"],
  [0, "t", "0.00 Tbit"],
  [1, "t", "0.00 Tbit"],
  [0.5, "t", "0.00 Tbit"],
  [-1, "t", "-0.00 Tbit"],
  [1023, "t", "0.00 Tbit"],
  [1024, "t", "0.00 Tbit"],
  [1024 * 9.995, "t", "0.00 Tbit"],
  [1024 * 9.994, "t", "0.00 Tbit"],
  [10234, "t", "0.00 Tbit"],
  [10235, "t", "0.00 Tbit"],
  [102348, "t", "0.00 Tbit"],
  [102349, "t", "0.00 Tbit"],
  [1023488, "t", "0.00 Tbit"],
  [1023487, "t", "0.00 Tbit"],
  [655872, "t", "0.00 Tbit"],
  [655360, "t", "0.00 Tbit"],
  [1048575, "t", "0.00 Tbit"],
  [1048576, "t", "0.00 Tbit"],
  [1.5 * 2 ** 30, "t", "0.01 Tbit"],
  [8.13 * 2 ** 30, "t", "0.07 Tbit"],
  [2 ** 40, "t", "8.80 Tbit"],
  [1500 * 2 ** 40, "t", "13194 Tbit"],
  [2 ** 60, "t", "9223372 Tbit"],
  [1e9 / 8, "t", "0.00 Tbit"],
  [125, "t", "0.00 Tbit"],
  [124.9, "t", "0.00 Tbit"],
  [125.625, "t", "0.00 Tbit"],
  [1e9, "t", "0.01 Tbit"],
  [1.75e9, "t", "0.01 Tbit"],
  [12493750, "t", "0.00 Tbit"],
  [1256250, "t", "0.00 Tbit"],
  [6289408, "t", "0.00 Tbit"],
  [131072, "t", "0.00 Tbit"],
  [1e15, "t", "8000 Tbit"],
  [1e18, "t", "8000000 Tbit"],
  [999.5, "t", "0.00 Tbit"],
  [1249375, "t", "0.00 Tbit"],
  [8000, "t", "0.00 Tbit"],
  [0, "T", "0.00 TByte"],
  [1, "T", "0.00 TByte"],
  [0.5, "T", "0.00 TByte"],
  [-1, "T", "-0.00 TByte"],
  [1023, "T", "0.00 TByte"],
  [1024, "T", "0.00 TByte"],
  [1024 * 9.995, "T", "0.00 TByte"],
  [1024 * 9.994, "T", "0.00 TByte"],
  [10234, "T", "0.00 TByte"],
  [10235, "T", "0.00 TByte"],
  [102348, "T", "0.00 TByte"],
  [102349, "T", "0.00 TByte"],
  [1023488, "T", "0.00 TByte"],
  [1023487, "T", "0.00 TByte"],
  [655872, "T", "0.00 TByte"],
  [655360, "T", "0.00 TByte"],
  [1048575, "T", "0.00 TByte"],
  [1048576, "T", "0.00 TByte"],
  [1.5 * 2 ** 30, "T", "0.00 TByte"],
  [8.13 * 2 ** 30, "T", "0.01 TByte"],
  [2 ** 40, "T", "1.00 TByte"],
  [1500 * 2 ** 40, "T", "1500 TByte"],
  [2 ** 60, "T", "1048576 TByte"],
  [1e9 / 8, "T", "0.00 TByte"],
  [125, "T", "0.00 TByte"],
  [124.9, "T", "0.00 TByte"],
  [125.625, "T", "0.00 TByte"],
  [1e9, "T", "0.00 TByte"],
  [1.75e9, "T", "0.00 TByte"],
  [12493750, "T", "0.00 TByte"],
  [1256250, "T", "0.00 TByte"],
  [6289408, "T", "0.00 TByte"],
  [131072, "T", "0.00 TByte"],
  [1e15, "T", " 909 TByte"],
  [1e18, "T", "909495 TByte"],
  [999.5, "T", "0.00 TByte"],
  [1249375, "T", "0.00 TByte"],
  [8000, "T", "0.00 TByte"],
];

Deno.test("formatUnit() matches iperf3 on every golden case", () => {
  for (const [value, format, expected] of FORMAT_GOLDENS) {
    assert.equal(
      formatUnit(value, format),
      expected,
      `${value} with "${format}"`,
    );
  }
});

/** [argument, iperf3 3.12 unit_atoi result] */
const SIZE_GOLDENS: [string, number][] = [
  ["0", 0],
  ["1", 1],
  ["10", 10],
  ["1.5M", 1572864],
  ["128K", 131072],
  ["128k", 131072],
  ["1m", 1048576],
  ["1g", 1073741824],
  ["1G", 1073741824],
  ["1t", 1099511627776],
  ["2T", 2199023255552],
  ["0.5K", 512],
  ["1.5", 1],
  [".5K", 512],
  ["3.", 3],
  ["131072", 131072],
  ["1048576", 1048576],
  ["0.1k", 102],
  ["0.3M", 314572],
  ["7.77777G", 8351316946],
  ["100M", 104857600],
  ["8191T", 9006099743113216],
  ["1.0000001K", 1024],
  ["0.0001K", 0],
];

Deno.test("parseSize() matches iperf3 unit_atoi on valid input", () => {
  for (const [text, expected] of SIZE_GOLDENS) {
    assert.equal(parseSize(text), expected, text);
  }
});

Deno.test("parseSize() uses binary multipliers and truncates", () => {
  assert.equal(parseSize("1.5M"), 1572864);
  assert.equal(parseSize("1K"), 1024);
  assert.equal(parseSize("1.9"), 1);
  assert.equal(parseSize("0.1k"), 102);
});

Deno.test("parseSize() rejects everything iperf3 would guess at", () => {
  for (
    const text of [
      "",
      "abc",
      "K",
      ".",
      ".K",
      "10X",
      "10MB",
      "10 M",
      " 10",
      "10 ",
      "1e",
      "1e3",
      "-5",
      "+5",
      "-0",
      "NaN",
      "Infinity",
      "inf",
      "0x10",
      "1,5M",
      "1..5",
      "1.5.5",
      "١",
    ]
  ) {
    assert.throws(() => parseSize(text), {
      name: "RangeError",
      message:
        `Invalid size "${text}": expected a number with an optional K, M, G or T suffix`,
    }, JSON.stringify(text));
  }
});

Deno.test("parseSize() rejects sizes beyond a safe integer", () => {
  assert.throws(() => parseSize("8192T"), {
    name: "RangeError",
    message: 'Invalid size "8192T": expected at most 9007199254740991 bytes',
  });
  assert.throws(() => parseSize("9".repeat(400)), RangeError);
  assert.equal(parseSize("8191T"), 9006099743113216);
});

/** [argument, iperf3 3.12 unit_atof_rate result cast to an integer] */
const RATE_GOLDENS: [string, number][] = [
  ["0", 0],
  ["1", 1],
  ["10", 10],
  ["10M", 10000000],
  ["10m", 10000000],
  ["1.5m", 1500000],
  ["1G", 1000000000],
  ["1g", 1000000000],
  ["100k", 100000],
  ["100K", 100000],
  ["2t", 2000000000000],
  ["0.3M", 300000],
  ["0.1k", 100],
  ["1.1g", 1100000000],
  ["123.456789M", 123456789],
  ["9007T", 9007000000000000],
  ["0.0001", 0],
  [".5m", 500000],
  ["40g", 40000000000],
];

Deno.test("parseRate() matches iperf3 unit_atof_rate on valid input", () => {
  for (const [text, expected] of RATE_GOLDENS) {
    assert.deepEqual(
      parseRate(text),
      { bitsPerSecond: expected, burst: 0 },
      text,
    );
  }
});

Deno.test("parseRate() uses decimal multipliers and reads the burst", () => {
  assert.deepEqual(parseRate("10M"), { bitsPerSecond: 10000000, burst: 0 });
  assert.deepEqual(parseRate("1.5m/10"), { bitsPerSecond: 1500000, burst: 10 });
  assert.deepEqual(parseRate("1G/1"), { bitsPerSecond: 1000000000, burst: 1 });
  assert.deepEqual(parseRate("0/1000"), { bitsPerSecond: 0, burst: 1000 });
  assert.deepEqual(parseRate("100k/007"), { bitsPerSecond: 100000, burst: 7 });
});

Deno.test("parseRate() rejects a burst outside 1 to 1000", () => {
  for (
    const burst of [
      "0",
      "1001",
      "",
      "-1",
      "abc",
      "5/3",
      "1.5",
      " 5",
      "99999999999999999999",
    ]
  ) {
    assert.throws(() => parseRate(`10M/${burst}`), {
      name: "RangeError",
      message: `Invalid burst count "${burst}": expected 1 to 1000`,
    }, burst);
  }
});

Deno.test("parseRate() rejects a malformed bitrate", () => {
  for (
    const text of [
      "",
      "x",
      "abc",
      "10X",
      "10Mb",
      "10Mbps",
      "1e6",
      "1e",
      "-10M",
      "NaN",
      "Infinity",
      "10 M",
      "/5",
      "x/5",
    ]
  ) {
    assert.throws(() => parseRate(text), {
      name: "RangeError",
      message:
        `Invalid bitrate "${text}": expected a number with an optional K, M, G or T suffix`,
    }, JSON.stringify(text));
  }
});

Deno.test("parseRate() rejects rates beyond a safe integer", () => {
  assert.throws(() => parseRate("9008T"), {
    name: "RangeError",
    message:
      'Invalid bitrate "9008T": expected at most 9007199254740991 bits per second',
  });
});

Deno.test("parseUnitFormat() accepts exactly the letters iperf3 accepts", () => {
  for (const letter of "kmgtKMGT") {
    assert.equal(parseUnitFormat(letter), letter);
  }
});

Deno.test("parseUnitFormat() rejects anything else with iperf3's message", () => {
  for (const text of ["", "a", "A", "b", "B", "x", "kk", "K ", " k", "Mbits"]) {
    assert.throws(() => parseUnitFormat(text), {
      name: "RangeError",
      message: "bad format specifier (valid formats are in the set [kmgtKMGT])",
    }, JSON.stringify(text));
  }
});
