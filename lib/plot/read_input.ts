/**
 * A saved run for `--plot-from` and `deno task plot`: a `-J` document, or
 * `--json-stream` output (one `{"event":...,"data":...}` object per line,
 * docs/json.md), read with a size cap and checked against the document's
 * shape before anything is drawn.
 *
 * @module
 */

import { PlotError } from "../errors.ts";
import { readCapped } from "../cli/read_capped.ts";
import { isIperfJson } from "../report/json_guard.ts";
import type { IperfJson } from "../report/json_types.ts";

/** The largest input read: 64 MiB (a day of 1-second intervals is about 30 MiB). */
export const MAX_PLOT_INPUT_BYTES = 64 * 1024 * 1024;

/** Options of {@linkcode readPlotInput}. */
export interface ReadPlotInputOptions {
  /** The largest file accepted, in bytes (default {@linkcode MAX_PLOT_INPUT_BYTES}). */
  maxBytes?: number;
}

/**
 * Reads and checks a saved run.
 *
 * @param path the file
 * @param options the size cap
 * @returns the document, with at least one interval
 * @throws {PlotError} when the file cannot be read, is too large, or is not
 *   a usable iperf3 document (one line, naming the file)
 */
export async function readPlotInput(
  path: string,
  options: ReadPlotInputOptions = {},
): Promise<IperfJson> {
  const maxBytes = options.maxBytes ?? MAX_PLOT_INPUT_BYTES;
  let text: string;
  try {
    text = await readCapped(path, { maxBytes, label: "file" });
  } catch (error) {
    if (error instanceof RangeError) {
      // readCapped's "the file "X" is larger than 64 MiB", shortened.
      const reason = error.message.replace(`the file "${path}" is `, "");
      throw new PlotError(`cannot plot "${path}": the file is ${reason}`, {
        cause: error,
      });
    }
    throw new PlotError(`cannot read "${path}": ${fileReason(error)}`, {
      cause: error,
    });
  }
  return parsePlotInput(text, path);
}

/**
 * A saved run's document from its text: a `-J` document, or `--json-stream`
 * lines (rebuilt into one document: `start`, every `interval`, `end`,
 * `error`, `server_output_json`).
 *
 * @param text the file's text
 * @param name the file's name, for messages
 * @returns the document, with at least one interval
 * @throws {PlotError} when it is not JSON, not an iperf3 document, or has no
 *   intervals
 */
export function parsePlotInput(text: string, name: string): IperfJson {
  const where = `cannot plot "${name}"`;
  let doc: unknown;
  const whole = parseJson(text);
  if (whole.ok && !isEventLine(whole.value)) {
    doc = whole.value;
  } else {
    const lines = text.split("\n").filter((line) => line.trim() !== "");
    const events: unknown[] = [];
    for (const line of lines) {
      const parsed = parseJson(line);
      if (!parsed.ok) {
        throw new PlotError(
          `${where}: not JSON (expected a -J document or --json-stream lines)`,
        );
      }
      events.push(parsed.value);
    }
    if (events.length === 0) {
      throw new PlotError(`${where}: the file is empty`);
    }
    if (!events.every(isEventLine)) {
      throw new PlotError(
        `${where}: not an iperf3 -J document or --json-stream output`,
      );
    }
    doc = fromEvents(events as EventLine[]);
  }
  const checked = plotDocument(doc);
  if (checked === undefined) {
    throw new PlotError(
      `${where}: not an iperf3 -J document or --json-stream output`,
    );
  }
  if (checked.intervals.length === 0) {
    const failed = checked.error === undefined
      ? ""
      : ` (error: ${checked.error})`;
    throw new PlotError(`${where}: the document has no intervals${failed}`);
  }
  return checked;
}

/**
 * A parsed or built document checked against {@linkcode IperfJson}. A
 * `server_output_json` that is not an iperf3 document (it comes off the
 * wire) is left out rather than refusing the whole document.
 *
 * @param doc the document
 * @returns it, typed, or undefined when it does not have the shape
 */
export function plotDocument(doc: unknown): IperfJson | undefined {
  if (typeof doc === "object" && doc !== null && !Array.isArray(doc)) {
    const server = Reflect.get(doc, "server_output_json");
    if (server !== undefined && !isIperfJson(server)) {
      Reflect.deleteProperty(doc, "server_output_json");
    }
  }
  return isIperfJson(doc) ? doc : undefined;
}

/** One `--json-stream` line. */
interface EventLine {
  event: string;
  data?: unknown;
}

function isEventLine(value: unknown): value is EventLine {
  return typeof value === "object" && value !== null &&
    !Array.isArray(value) && typeof Reflect.get(value, "event") === "string";
}

/** The `-J` document that `--json-stream` lines stand for. */
function fromEvents(events: readonly EventLine[]): Record<string, unknown> {
  const doc: Record<string, unknown> = { intervals: [], end: {} };
  const intervals: unknown[] = [];
  for (const { event, data } of events) {
    switch (event) {
      case "start":
        doc["start"] = data;
        break;
      case "interval":
        intervals.push(data);
        break;
      case "end":
        doc["end"] = data;
        break;
      case "error":
        doc["error"] = data;
        break;
      case "server_output_json":
        doc["server_output_json"] = data;
        break;
      case "server_output_text":
        doc["server_output_text"] = data;
        break;
      default:
        // A newer iperf3's events: not needed for the plot.
        break;
    }
  }
  doc["intervals"] = intervals;
  return doc;
}

function parseJson(
  text: string,
): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** The OS reason of a file error, without Deno's "(os error N): ...". */
function fileReason(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "No such file or directory";
  if (error instanceof Deno.errors.PermissionDenied) return "Permission denied";
  if (error instanceof Deno.errors.NotCapable) return "needs --allow-read";
  if (error instanceof Deno.errors.IsADirectory) return "Is a directory";
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/ \(os error \d+\)(: .*)?$/, "");
}
