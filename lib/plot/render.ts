/**
 * Draws a `-J` document: {@linkcode plotData} → {@linkcode plotSpec} →
 * SVG through the committed Vega bundle (`_vega_bundle.js`, built by
 * scripts/bundle_plot.ts), then writes `.svg` or `.html`.
 *
 * The bundle (about 790 KB of minified JavaScript) is imported only here,
 * with a dynamic `import()`, so a run without `--plot` never loads or
 * evaluates it. The specifier is a string literal on purpose: `deno compile`
 * then includes the file, and loading it needs no `--allow-read`.
 *
 * @module
 */

import { PlotError } from "../errors.ts";
import type { IperfJson } from "../report/json_types.ts";
import { plotData } from "./plot_data.ts";
import { plotSpec, type VegaLiteSpec } from "./spec.ts";

/** What `--plot` writes, by the file name's extension. */
export type PlotFormat = "svg" | "html";

/**
 * The format a file name asks for.
 *
 * @param path the output file
 * @returns `svg` or `html`, or undefined for any other extension
 */
export function plotFormat(path: string): PlotFormat | undefined {
  const lower = path.toLowerCase();
  if (lower.endsWith(".svg")) return "svg";
  if (lower.endsWith(".html") || lower.endsWith(".htm")) return "html";
  return undefined;
}

/**
 * Renders a Vega-Lite spec to SVG with the bundled Vega.
 *
 * @param spec the spec
 * @returns the SVG document
 */
export async function renderSpec(spec: VegaLiteSpec): Promise<string> {
  const vega = await import("./_vega_bundle.js");
  return await vega.renderSvg(spec);
}

/**
 * The SVG plot of a document.
 *
 * @param doc a `-J` document with at least one interval
 * @returns the SVG document
 */
export async function plotSvg(doc: IperfJson): Promise<string> {
  return await renderSpec(plotSpec(plotData(doc)));
}

/**
 * An HTML page showing an SVG (inline, no scripts, no external files).
 *
 * @param svg the SVG document
 * @param title the page title
 * @returns the HTML text
 */
export function plotHtml(svg: string, title: string): string {
  return [
    "<!DOCTYPE html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<title>${escapeHtml(title)}</title>`,
    "<style>body{margin:0;background:#fff}</style>",
    "</head>",
    "<body>",
    svg,
    "</body>",
    "</html>",
    "",
  ].join("\n");
}

/**
 * Draws a document and writes it: SVG for `.svg`, an HTML page with the SVG
 * inline for `.html`.
 *
 * @param doc a `-J` document with at least one interval
 * @param path the output file (`.svg` or `.html`)
 * @throws {PlotError} for another extension, or when the file cannot be
 *   written (one line, naming the file)
 */
export async function writePlot(doc: IperfJson, path: string): Promise<void> {
  const format = plotFormat(path);
  if (format === undefined) {
    throw new PlotError(
      `cannot write the plot "${path}": the name must end in .svg or .html`,
    );
  }
  if (doc.intervals.length === 0) {
    throw new PlotError(
      `cannot write the plot "${path}": the test produced no intervals`,
    );
  }
  const data = plotData(doc);
  const svg = await renderSpec(plotSpec(data));
  const text = format === "svg" ? svg : plotHtml(svg, data.title);
  try {
    await Deno.writeTextFile(path, text);
  } catch (error) {
    throw new PlotError(
      `cannot write the plot "${path}": ${writeReason(error)}`,
      { cause: error },
    );
  }
}

function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(
    ">",
    "&gt;",
  );
}

function writeReason(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "No such file or directory";
  if (error instanceof Deno.errors.PermissionDenied) return "Permission denied";
  if (error instanceof Deno.errors.NotCapable) return "needs --allow-write";
  if (error instanceof Deno.errors.IsADirectory) return "Is a directory";
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/ \(os error \d+\)(: .*)?$/, "");
}
