/**
 * Reads samples back out of a Prometheus text exposition, so metric tests
 * check what a scraper sees rather than the registry's internals.
 *
 * @module
 */

/**
 * The value of one sample, undefined when the exposition has no such line.
 *
 * @param text the exposition
 * @param name the sample's name (with `_bucket`, `_sum`, `_count` for histograms)
 * @param labels the sample's labels, all of them
 * @returns the value
 */
export function sample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const wanted = JSON.stringify(Object.entries(labels).sort());
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found: [string, string][] = [];
    for (
      const pair of (match[3] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)
    ) {
      found.push([pair[1] ?? "", pair[2] ?? ""]);
    }
    if (JSON.stringify(found.sort()) !== wanted) continue;
    const value = match[4] ?? "";
    return value === "+Inf" ? Infinity : Number(value);
  }
  return undefined;
}

/**
 * The sum of every sample of `name` whose labels include `labels`.
 *
 * @param text the exposition
 * @param name the sample's name
 * @param labels labels every counted sample has (others may differ)
 * @returns the sum, 0 when none
 */
export function sumOf(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const body = match[3] ?? "";
    const all = Object.entries(labels).every(([k, v]) =>
      body.split(",").includes(`${k}="${v}"`)
    );
    if (all) sum += Number(match[4]);
  }
  return sum;
}
