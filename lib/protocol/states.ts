/**
 * iperf3's control-channel state codes (iperf_api.h) and their names.
 *
 * The value *is* the wire byte: it travels as a signed char, so ACCESS_DENIED
 * is `0xff` and SERVER_ERROR is `0xfe` (see `iperf_set_send_state`).
 *
 * @module
 */

/** The state codes, by iperf3's names. */
export const STATES = {
  TEST_START: 1,
  TEST_RUNNING: 2,
  TEST_END: 4,
  PARAM_EXCHANGE: 9,
  CREATE_STREAMS: 10,
  SERVER_TERMINATE: 11,
  CLIENT_TERMINATE: 12,
  EXCHANGE_RESULTS: 13,
  DISPLAY_RESULTS: 14,
  IPERF_START: 15,
  IPERF_DONE: 16,
  ACCESS_DENIED: -1,
  SERVER_ERROR: -2,
} as const;

/** One of iperf3's state codes. */
export type State = typeof STATES[keyof typeof STATES];

/** The name of a state code, by value. */
export type StateName = keyof typeof STATES;

const NAMES: ReadonlyMap<number, StateName> = new Map(
  (Object.entries(STATES) as [StateName, State][]).map(([name, code]) => [
    code,
    name,
  ]),
);

/**
 * The iperf3 name of a state code, or `UNKNOWN(n)` for codes iperf3 does not use.
 *
 * @param code a state byte as a signed number
 * @returns the name, e.g. `"CREATE_STREAMS"`
 */
export function stateName(code: number): string {
  return NAMES.get(code) ?? `UNKNOWN(${code})`;
}

/**
 * Whether a number is one of the state codes iperf3 sends.
 *
 * @param code a state byte as a signed number
 * @returns true for the codes in {@linkcode STATES}
 */
export function isState(code: number): code is State {
  return NAMES.has(code);
}
