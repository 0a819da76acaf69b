/**
 * Help texts, generated from the option table in iperf3 3.21's layout:
 * every option iperf-ts takes, by iperf3's sections, then iperf-ts's own.
 *
 * @module
 */

import type { HelpSection, OptionRow } from "./option_row.ts";
import { OPTION_ROWS } from "./options.ts";

/** iperf3's short usage, printed after a parameter error. */
export const USAGE_SHORT = "Usage: iperf3 [-s|-c host] [options]\n" +
  "Try `iperf3 --help' for more information.\n";

/** Where iperf3 3.21 starts an option's description. */
const DESCRIPTION_COLUMN = 28;

const SECTION_TITLES: Readonly<Record<HelpSection, string>> = {
  both: "Server or Client:",
  server: "Server specific:",
  client: "Client specific:",
  "iperf-ts": "iperf-ts specific:",
  exporter: "Exporter specific:",
};

/**
 * The `--help` lines of one row: the names column, then the description
 * from column 28, as iperf3 3.21 lays them out.
 *
 * @param row the option
 * @returns its lines, none when it is not listed
 */
export function helpLines(row: OptionRow): string[] {
  const refused = row.notYet !== undefined && row.notYetRole === undefined;
  if (row.help === undefined || refused) return [];
  const [first = "", ...rest] = row.help;
  const names = `  ${row.synopsis}`;
  const head = names.length < DESCRIPTION_COLUMN
    ? names.padEnd(DESCRIPTION_COLUMN)
    : `${names} `;
  return [
    `${head}${first}`,
    ...rest.map((line) => `${" ".repeat(DESCRIPTION_COLUMN)}${line}`),
  ];
}

/**
 * The `--help` text.
 *
 * @param rows the option table (all of it by default)
 * @returns the text, ending in a newline
 */
export function usageLong(rows: readonly OptionRow[] = OPTION_ROWS): string {
  const lines = [
    "Usage: iperf3 [-s|-c host] [options]",
    "       iperf3 [-h|--help] [-v|--version]",
    "       iperf3 --exporter [--web.listen-address :9579] [options]",
    "",
  ];
  const sections = [
    "both",
    "server",
    "client",
    "iperf-ts",
    "exporter",
  ] as const;
  for (const section of sections) {
    lines.push(SECTION_TITLES[section]);
    for (const row of rows) {
      if (row.section === section) lines.push(...helpLines(row));
    }
  }
  const notYet = rows.filter((row) => row.notYet !== undefined).map((row) =>
    row.notYetRole === undefined
      ? optionNames(row)
      : `${optionNames(row)} (${row.notYetRole})`
  );
  lines.push(
    ...wrap(
      `Recognised, not implemented yet (refused with the reason): ${
        notYet.join(", ")
      }`,
      "  ",
      78,
    ),
    "",
    "[KMG] indicates options that support a K/M/G suffix for kilo-, mega-, or giga-",
    "",
    "iperf-ts: an iperf3-compatible network throughput tester (TypeScript, Deno)",
  );
  return `${lines.join("\n")}\n`;
}

/** The `--help` text. */
export const USAGE_LONG: string = usageLong();

function optionNames(row: OptionRow): string {
  return row.short === undefined
    ? `--${row.long}`
    : `-${row.short}/--${row.long}`;
}

function wrap(text: string, indent: string, width: number): string[] {
  const out: string[] = [];
  let line = indent;
  for (const word of text.split(" ")) {
    if (line.trim() !== "" && line.length + 1 + word.length > width) {
      out.push(line);
      line = `${indent}  ${word}`;
    } else {
      line = line.trim() === "" ? `${indent}${word}` : `${line} ${word}`;
    }
  }
  out.push(line);
  return out;
}
