/**
 * The option table: one row per option, from which the command line's
 * parser (`args.ts`), `--help` (`usage.ts`), the library API's validation
 * (`../api.ts`) and docs/flags.md (`scripts/flags_doc.ts`) all derive.
 *
 * The rows live by `--help` section: `options_common.ts` (Server or
 * Client), `options_server.ts`, `options_client.ts` and
 * `options_client_more.ts` (Client specific), iperf-ts's own below, and
 * `options_exporter.ts` (Exporter specific, only with `--exporter`).
 *
 * @module
 */

import { DEFAULT_MAX_TESTS } from "../session/server.ts";
import { FLAG, wholeNumber } from "./option_kinds.ts";
import { option, type OptionKey, type OptionRow } from "./option_row.ts";
import { CLIENT_OPTIONS } from "./options_client.ts";
import { CLIENT_MORE_OPTIONS } from "./options_client_more.ts";
import { COMMON_OPTIONS } from "./options_common.ts";
import { EXPORTER_OPTIONS } from "./options_exporter.ts";
import { SERVER_OPTIONS } from "./options_server.ts";

export type {
  HelpSection,
  OptionKey,
  OptionRelation,
  OptionRole,
  OptionRow,
  OptionValues,
} from "./option_row.ts";

/** The largest `--data-threads`. */
export const MAX_DATA_THREADS = 64;

/** Rows for iperf-ts's own options (not in iperf3 3.21). */
export const IPERF_TS_OPTIONS: readonly OptionRow[] = [
  option({
    long: "max-tests",
    key: "maxTests",
    arg: "required",
    role: "server",
    section: "iperf-ts",
    kind: wholeNumber(1, 1024, "--max-tests must be between 1 and 1024"),
    synopsis: "--max-tests     #",
    help: [
      "tests the server runs at once; more clients are",
      `refused as busy (1-1024, default ${DEFAULT_MAX_TESTS})`,
    ],
  }),
  option({
    long: "data-threads",
    key: "dataThreads",
    arg: "required",
    role: "both",
    section: "iperf-ts",
    kind: wholeNumber(
      0,
      MAX_DATA_THREADS,
      `--data-threads must be between 0 and ${MAX_DATA_THREADS}`,
    ),
    synopsis: "--data-threads  #",
    help: [
      "threads that move the streams' bytes (Linux with",
      "--allow-ffi; default: one per CPU, at most 16); 0 moves",
      "them in the main thread (the in-process loops)",
    ],
  }),
  option({
    long: "latency",
    key: "latency",
    arg: "none",
    role: "client",
    section: "iperf-ts",
    kind: FLAG,
    help: [
      "latency under load: idle and loaded RTT of a UDP probe",
      "flow (answered by an iperf-ts server) and of TCP_INFO,",
      "and responsiveness in round trips per minute (RPM)",
    ],
    // TestParams `latency` (wire `iperf_ts_latency`); see docs/latency.md.
  }),
];

/** Every row, in `--help` order. */
export const OPTION_ROWS: readonly OptionRow[] = [
  ...COMMON_OPTIONS,
  ...SERVER_OPTIONS,
  ...CLIENT_OPTIONS,
  ...CLIENT_MORE_OPTIONS,
  ...IPERF_TS_OPTIONS,
  ...EXPORTER_OPTIONS,
];

const BY_KEY = new Map(OPTION_ROWS.map((row) => [row.key, row]));

/**
 * The row of an `OptionValues` member.
 *
 * @param key the member
 * @returns its row
 */
export function optionRow(key: OptionKey): OptionRow {
  const row = BY_KEY.get(key);
  if (row === undefined) {
    throw new TypeError(`Cannot find option: no row for "${key}"`);
  }
  return row;
}
