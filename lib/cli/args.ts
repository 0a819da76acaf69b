/**
 * The command line: iperf3's flags, as the option table (`options.ts`)
 * declares them, parsed with `node:util` `parseArgs` into a validated,
 * frozen {@linkcode CliConfig}. Never exits, never prints.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { NotImplementedOptionError, UsageError } from "../errors.ts";
import {
  buildConfig,
  checkRelations,
  type RoleConfig,
} from "./build_config.ts";
import {
  OPTION_ROWS,
  type OptionKey,
  type OptionRow,
  optionRow,
  type OptionValues,
} from "./options.ts";

export type {
  ClientAuthConfig,
  OutputConfig,
  ServerConfig,
} from "./build_config.ts";
export { MAX_DATA_THREADS } from "./options.ts";

/** The `--timestamps` format when none is given (iperf3's). */
export const DEFAULT_TIMESTAMP_FORMAT = "%c ";

/** `--plot-from IN --plot OUT`: draw a saved run; no test runs. */
export interface PlotFromConfig {
  /** Tagged. */
  readonly role: "plot";
  /** The saved `-J` document or `--json-stream` output. */
  readonly input: string;
  /** The picture to write (`.svg` or `.html`). */
  readonly output: string;
}

/** What the command line asks for, tagged by `role`. */
export type CliConfig =
  | RoleConfig
  | PlotFromConfig
  | { readonly role: "help" }
  | { readonly role: "version" };

/**
 * One option found on the command line: the name it was given by, and its
 * text (every one, in order, for a repeatable option).
 */
interface Given {
  readonly name: string;
  readonly texts: readonly (string | undefined)[];
}

/**
 * Parses iperf3's command line.
 *
 * @example Usage
 * ```ts
 * import { parseCommandLine } from "./args.ts";
 * const config = parseCommandLine(["-c", "127.0.0.1", "-t", "5", "-P", "2"]);
 * if (config.role !== "client" || config.client.params.parallel !== 2) throw new Error();
 * ```
 *
 * @param args the arguments after the program name
 * @returns the validated configuration
 * @throws {UsageError} with iperf3's message for any bad flag or value
 * @throws {NotImplementedOptionError} for an option iperf-ts does not implement yet
 */
export function parseCommandLine(args: string[]): CliConfig {
  const given = readArgs(args);
  const has = (key: OptionKey) => given.has(key);
  for (const row of OPTION_ROWS) {
    if (row.notYet !== undefined && row.notYetRole === undefined) {
      if (has(row.key)) {
        throw new NotImplementedOptionError(row.long, row.notYet);
      }
    }
  }
  if (has("help")) return Object.freeze({ role: "help" });
  if (has("version")) return Object.freeze({ role: "version" });
  if (has("exporter")) return exporterConfig(given);
  if (has("plotFrom")) return plotFrom(given);
  const isServer = has("server");
  if (isServer && has("client")) {
    throw new UsageError("cannot be both server and client");
  }
  if (!isServer && !has("client")) {
    throw new UsageError("must either be a client (-c) or server (-s)");
  }
  const role = isServer ? "server" : "client";
  const other = isServer ? "client" : "server";
  for (const row of OPTION_ROWS) {
    const found = given.get(row.key);
    if (found === undefined) continue;
    if (row.role === other || row.role === "exporter") {
      throw new UsageError(
        `some option you are trying to set is ${row.role} only: --${found.name}`,
      );
    }
    if (row.notYet !== undefined && row.notYetRole === role) {
      throw new NotImplementedOptionError(row.long, row.notYet);
    }
  }
  checkRelations(has);
  return buildConfig(readValues(given));
}

/** `--exporter`: only the exporter's own options go with it. */
function exporterConfig(given: Map<OptionKey, Given>): CliConfig {
  for (const role of ["server", "client"] as const) {
    if (given.has(role)) {
      throw new UsageError(`cannot be both exporter and ${role}`);
    }
  }
  for (const row of OPTION_ROWS) {
    const found = given.get(row.key);
    if (found !== undefined && row.role !== "exporter") {
      throw new UsageError(
        `option --${found.name} cannot be used with --exporter`,
      );
    }
  }
  checkRelations((key) => given.has(key));
  return buildConfig(readValues(given));
}

/** The given options' values, each read by its row (a repeatable one once per occurrence). */
function readValues(given: Map<OptionKey, Given>): OptionValues {
  const values: OptionValues = {};
  for (const row of OPTION_ROWS) {
    const found = given.get(row.key);
    for (const text of found?.texts ?? []) row.read(values, text);
  }
  return values;
}

/**
 * `--plot-from IN --plot OUT`: no test, so no `-c`/`-s` and no other
 * option (one given would be silently ignored otherwise).
 */
function plotFrom(given: Map<OptionKey, Given>): PlotFromConfig {
  checkRelations((key) => given.has(key));
  for (const [key, found] of given) {
    if (key !== "plot" && key !== "plotFrom") {
      throw new UsageError(
        `--plot-from draws a saved run and takes only --plot: drop --${found.name}`,
      );
    }
  }
  const values: OptionValues = {};
  for (const key of ["plot", "plotFrom"] as const) {
    const found = given.get(key);
    for (const text of found?.texts ?? []) optionRow(key).read(values, text);
  }
  return Object.freeze({
    role: "plot",
    input: values.plotFrom ?? "",
    output: values.plot ?? "",
  });
}

/**
 * The options on the command line, by row. Stray words are ignored, as
 * iperf3's getopt loop leaves them (`iperf3 -s HOST -J` serves).
 */
function readArgs(args: string[]): Map<OptionKey, Given> {
  // `--timestamps[=FORMAT]`, `--debug[=LEVEL]` and `--cntl-ka[=...]` take
  // optional values, which parseArgs cannot express: split them off first.
  const optional = new Map<string, string>();
  const optionalRows = OPTION_ROWS.filter((row) => row.arg === "optional");
  args = args.map((arg) => {
    for (const row of optionalRows) {
      const prefix = `--${row.long}=`;
      if (arg.startsWith(prefix)) {
        optional.set(row.long, arg.slice(prefix.length));
        return `--${row.long}`;
      }
    }
    return arg;
  });
  const options: Record<
    string,
    { type: "string" | "boolean"; short?: string; multiple?: boolean }
  > = {};
  for (const row of OPTION_ROWS) {
    const type = row.arg === "required" ? "string" : "boolean";
    options[row.long] = {
      type,
      ...(row.short === undefined ? {} : { short: row.short }),
      ...(row.repeatable ? { multiple: true } : {}),
    };
    for (const alias of row.aliases ?? []) options[alias] = { type };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError(describeParseError(error));
  }
  const given = new Map<OptionKey, Given>();
  for (const row of OPTION_ROWS) {
    const found = first(row, parsed.values);
    if (found !== undefined) given.set(row.key, found);
  }
  return given;

  function first(
    row: OptionRow,
    values: Record<string, string | boolean | (string | boolean)[] | undefined>,
  ): Given | undefined {
    for (const name of [row.long, ...(row.aliases ?? [])]) {
      const value = values[name];
      if (typeof value === "string") return { name, texts: [value] };
      if (value === true) return { name, texts: [optional.get(name)] };
      if (Array.isArray(value) && value.length > 0) {
        return {
          name,
          texts: value.map((v) => typeof v === "string" ? v : undefined),
        };
      }
    }
    return undefined;
  }
}

function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof Error && "code" in error
    ? error.code
    : undefined;
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const m = /'([^']+)'/.exec(message);
    return `unrecognized option '${m?.[1] ?? message}'`;
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    // parseArgs names the option as "-c, --client <value>": getopt's words
    // name it by its long name.
    const name = /--[\w.-]+/.exec(message)?.[0] ?? "?";
    return /does not take an argument/.test(message)
      ? `option '${name}' doesn't allow an argument`
      : `option '${name}' requires an argument`;
  }
  return message.split("\n", 1)[0] ?? message;
}
