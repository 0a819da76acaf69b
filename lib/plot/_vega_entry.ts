/**
 * The entry of `lib/plot/_vega_bundle.js` (built by scripts/bundle_plot.ts):
 * Vega-Lite compiles a spec, Vega renders it to SVG without a canvas
 * (`renderer: "none"`, text widths estimated, so the output is
 * deterministic). Nothing outside the bundle script imports this file:
 * main.ts's graph reaches Vega only through the bundle.
 *
 * @module
 */

import { parse, version as vegaVersion, View } from "vega";
import {
  compile,
  type TopLevelSpec,
  version as vegaLiteVersion,
} from "vega-lite";
import type * as Declared from "./_vega_bundle.d.ts";

/** The bundled versions. */
export const VERSIONS: typeof Declared.VERSIONS = {
  vega: vegaVersion,
  vegaLite: vegaLiteVersion,
};

/**
 * Renders a Vega-Lite spec to an SVG document.
 *
 * @param spec a Vega-Lite top-level spec (plain JSON)
 * @returns the SVG text
 */
export async function renderSvg(spec: object): Promise<string> {
  const vega = compile(spec as TopLevelSpec).spec;
  const view = new View(parse(vega), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

renderSvg satisfies typeof Declared.renderSvg;
