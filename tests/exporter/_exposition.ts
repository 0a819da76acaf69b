/**
 * Reads the Prometheus text format back, for the exporter's tests.
 *
 * @module
 */

/** One sample line. */
export interface Sample {
  /** The sample's name (`x_sum` for a summary's sum). */
  name: string;
  /** Its labels. */
  labels: Record<string, string>;
  /** Its value. */
  value: number;
}

/** One family: HELP, TYPE and samples, in the order printed. */
export interface Family {
  /** The HELP text. */
  help: string;
  /** The TYPE. */
  type: string;
  /** Its samples. */
  samples: Sample[];
}

/**
 * Parses an exposition: families by name, in the order printed.
 *
 * @param text the exposition
 * @returns the families
 */
export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  let current: Family | undefined;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      const [, what, name = "", rest = ""] = meta;
      current = families.get(name) ?? { help: "", type: "", samples: [] };
      families.set(name, current);
      if (what === "HELP") current.help = rest;
      else current.type = rest;
      continue;
    }
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample || !current) throw new Error(`Bad exposition line: ${line}`);
    const [, name = "", labelText = "", value = ""] = sample;
    const labels: Record<string, string> = {};
    for (const m of labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[m[1] ?? ""] = m[2] ?? "";
    }
    current.samples.push({ name, labels, value: Number(value) });
  }
  return families;
}

/**
 * Each family's single value (its first sample's).
 *
 * @param families parsed families
 * @returns name to value
 */
export function values(families: Map<string, Family>): Map<string, number> {
  return new Map(
    [...families].map(([name, family]) => [
      name,
      family.samples[0]?.value ?? NaN,
    ]),
  );
}
