import assert from "node:assert/strict";
import {
  isState,
  type State,
  stateName,
  STATES,
} from "../../lib/protocol/states.ts";

// iperf3 3.12 iperf_api.h; reference doc §2.3.
const IPERF3_STATES: [string, number][] = [
  ["TEST_START", 1],
  ["TEST_RUNNING", 2],
  ["TEST_END", 4],
  ["PARAM_EXCHANGE", 9],
  ["CREATE_STREAMS", 10],
  ["SERVER_TERMINATE", 11],
  ["CLIENT_TERMINATE", 12],
  ["EXCHANGE_RESULTS", 13],
  ["DISPLAY_RESULTS", 14],
  ["IPERF_START", 15],
  ["IPERF_DONE", 16],
  ["ACCESS_DENIED", -1],
  ["SERVER_ERROR", -2],
];

/** Codes iperf3 defines but never sends (3, 5–8), and codes it has no name for. */
const UNUSED_CODES = [0, 3, 5, 6, 7, 8, 17, 18, 100, 127, -3, -4, -127, -128];

Deno.test("STATES holds iperf3's state numbers", () => {
  assert.deepEqual(Object.entries(STATES), IPERF3_STATES);
});

Deno.test("STATES values fit a signed byte and are distinct", () => {
  const values: number[] = Object.values(STATES);
  assert.equal(new Set(values).size, values.length);
  for (const value of values) {
    assert.ok(Number.isInteger(value) && value >= -128 && value <= 127);
  }
});

Deno.test("stateName() names every state code", () => {
  for (const [name, code] of IPERF3_STATES) {
    assert.equal(stateName(code), name, `code ${code}`);
  }
});

Deno.test("stateName() names the negative codes", () => {
  assert.equal(stateName(-1), "ACCESS_DENIED");
  assert.equal(stateName(-2), "SERVER_ERROR");
  assert.equal(stateName(STATES.ACCESS_DENIED), "ACCESS_DENIED");
  assert.equal(stateName(STATES.SERVER_ERROR), "SERVER_ERROR");
});

Deno.test("stateName() returns UNKNOWN(n) for codes iperf3 does not use", () => {
  for (const code of UNUSED_CODES) {
    assert.equal(stateName(code), `UNKNOWN(${code})`);
  }
  // The unsigned reading of a signed byte is not a state either.
  assert.equal(stateName(255), "UNKNOWN(255)");
  assert.equal(stateName(254), "UNKNOWN(254)");
});

Deno.test("stateName() names every signed byte", () => {
  const names = new Map(IPERF3_STATES.map(([name, code]) => [code, name]));
  for (let code = -128; code <= 127; code++) {
    assert.equal(stateName(code), names.get(code) ?? `UNKNOWN(${code})`);
  }
});

Deno.test("isState() accepts every code in STATES", () => {
  for (const [name, code] of IPERF3_STATES) {
    assert.equal(isState(code), true, name);
  }
});

Deno.test("isState() rejects codes iperf3 does not use", () => {
  for (const code of [...UNUSED_CODES, 255, 254, 1.5, NaN]) {
    assert.equal(isState(code), false, `code ${code}`);
  }
});

Deno.test("isState() narrows a number to State", () => {
  const code: number = 13;
  if (!isState(code)) assert.fail("13 is EXCHANGE_RESULTS");
  const state: State = code;
  assert.equal(state, STATES.EXCHANGE_RESULTS);
});
