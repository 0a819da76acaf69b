/**
 * Reads back what the plot's SVG shows, with regular expressions only:
 * every line mark (its panel's y title, series, colour and point count)
 * and every text.
 *
 * @module
 */

/** One line mark of the SVG. */
export interface SvgLine {
  /** The y axis title of its panel (from the mark's aria-label). */
  yTitle: string;
  /** Its series (legend label). */
  series: string;
  /** Its stroke colour. */
  stroke: string;
  /** How many points its path has (`M` and `L` commands). */
  points: number;
}

/**
 * Every line mark.
 *
 * @param svg the SVG text
 * @returns the lines, in document order
 */
export function svgLines(svg: string): SvgLine[] {
  const re =
    /<path aria-label="([^"]*)" role="graphics-symbol" aria-roledescription="line mark" d="([^"]*)"([^>]*)>/g;
  return [...svg.matchAll(re)].map((m) => {
    const label = m[1] ?? "";
    const parts = label.split("; ");
    const y = parts[1] ?? "";
    return {
      yTitle: y.slice(0, y.lastIndexOf(": ")),
      series: (parts.find((p) =>
        p.startsWith("Series: ") ||
        p.startsWith("Probe: ")
      ) ?? "").replace(/^\w+: /, ""),
      stroke: /stroke="([^"]*)"/.exec(m[3] ?? "")?.[1] ?? "",
      points: ((m[2] ?? "").match(/[ML]/g) ?? []).length,
    };
  });
}

/**
 * The text of every `<text>` element, entities decoded.
 *
 * @param svg the SVG text
 * @returns the texts
 */
export function svgTexts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) =>
    (m[1] ?? "").replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll(
      "&amp;",
      "&",
    )
  );
}
