/**
 * Prometheus metrics in the text exposition format 0.0.4: counters, gauges,
 * histograms and summaries without quantiles, with labels.
 *
 * Written here rather than taken from prom-client (which runs under Deno,
 * checked): `main.ts`'s module graph holds only local and `node:` modules,
 * so that `deno run` from a URL (which reads no import map) and
 * `scripts/compile.ts`'s graph check keep working. The format is small;
 * `promtool check metrics` checks ours in the tests.
 *
 * @module
 */

/** Label names to values. */
export type Labels = Readonly<Record<string, string>>;

/** The `Content-Type` of {@linkcode Registry.text}. */
export const EXPOSITION_CONTENT_TYPE =
  "text/plain; version=0.0.4; charset=utf-8";

/** The metric kinds of the format's `# TYPE` line. */
export type MetricType = "counter" | "gauge" | "histogram" | "summary";

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** One metric family: its name, help, type and one series per label set. */
abstract class Family {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly labelNames: readonly string[];

  constructor(
    name: string,
    help: string,
    type: MetricType,
    labelNames: readonly string[],
  ) {
    if (!NAME.test(name)) throw new TypeError(`Bad metric name "${name}"`);
    for (const label of labelNames) {
      if (!LABEL.test(label) || label.startsWith("__") || label === "le") {
        throw new TypeError(`Bad label name "${label}" of ${name}`);
      }
    }
    this.name = name;
    this.help = help;
    this.type = type;
    this.labelNames = labelNames;
  }

  /** The series' key: the label values in `labelNames` order. */
  protected key(labels: Labels): string {
    const names = Object.keys(labels);
    if (
      names.length !== this.labelNames.length ||
      names.some((n) => !this.labelNames.includes(n))
    ) {
      throw new TypeError(
        `${this.name} takes labels [${this.labelNames.join(", ")}], not [${
          names.join(", ")
        }]`,
      );
    }
    return JSON.stringify(this.labelNames.map((n) => labels[n]));
  }

  /** The sample lines, after `# HELP` and `# TYPE`. */
  abstract lines(): string[];
}

/** A value per label set (counter or gauge). */
class ValueFamily extends Family {
  readonly #values = new Map<string, { labels: Labels; value: number }>();

  protected add(labels: Labels, delta: number): void {
    const key = this.key(labels);
    const series = this.#values.get(key);
    if (series) series.value += delta;
    else this.#values.set(key, { labels: { ...labels }, value: delta });
  }

  protected put(labels: Labels, value: number): void {
    this.#values.set(this.key(labels), { labels: { ...labels }, value });
  }

  /**
   * The value of one series, 0 when it was never touched.
   *
   * @param labels the series' labels
   * @returns its value
   */
  get(labels: Labels = {}): number {
    return this.#values.get(this.key(labels))?.value ?? 0;
  }

  lines(): string[] {
    return [...this.#values.values()].map((s) =>
      `${this.name}${labelText(s.labels)} ${formatValue(s.value)}`
    );
  }
}

/** A counter: only goes up. */
export class Counter extends ValueFamily {
  /**
   * Creates an instance (see {@linkcode Registry.counter}).
   *
   * @param name the metric name, ending in `_total` by convention
   * @param help the HELP text
   * @param labelNames the label names every series gives
   */
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, "counter", labelNames);
  }

  /**
   * Adds to a series.
   *
   * @param labels the series' labels
   * @param by how much, at least 0 (default 1)
   */
  inc(labels: Labels = {}, by = 1): void {
    if (!(by >= 0)) throw new RangeError(`${this.name}: a counter only grows`);
    this.add(labels, by);
  }

  /**
   * Makes a series appear at 0 before its first event (so a rate() works
   * from the first scrape).
   *
   * @param labels the series' labels
   */
  touch(labels: Labels = {}): void {
    this.add(labels, 0);
  }
}

/** A gauge: any value. */
export class Gauge extends ValueFamily {
  /**
   * Creates an instance (see {@linkcode Registry.gauge}).
   *
   * @param name the metric name
   * @param help the HELP text
   * @param labelNames the label names every series gives
   */
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, "gauge", labelNames);
  }

  /**
   * Sets a series.
   *
   * @param labels the series' labels
   * @param value the value
   */
  set(labels: Labels, value: number): void {
    this.put(labels, value);
  }

  /**
   * Adds to a series (negative to take away).
   *
   * @param labels the series' labels
   * @param by how much (default 1)
   */
  inc(labels: Labels = {}, by = 1): void {
    this.add(labels, by);
  }
}

/** Observations per label set: bucket counts (histogram) or just sum and count (summary). */
class ObservedFamily extends Family {
  readonly #buckets: readonly number[];
  readonly #series = new Map<
    string,
    { labels: Labels; counts: number[]; sum: number; count: number }
  >();

  constructor(
    name: string,
    help: string,
    type: "histogram" | "summary",
    labelNames: readonly string[],
    buckets: readonly number[],
  ) {
    super(name, help, type, labelNames);
    const sorted = [...buckets].sort((a, b) => a - b);
    if (sorted.some((b, i) => !Number.isFinite(b) || b === sorted[i - 1])) {
      throw new TypeError(`${name}: buckets must be finite and distinct`);
    }
    this.#buckets = sorted;
  }

  /**
   * Records one observation.
   *
   * @param labels the series' labels
   * @param value the observed value
   */
  observe(labels: Labels, value: number): void {
    const series = this.#seriesOf(labels);
    this.#buckets.forEach((bound, i) => {
      if (value <= bound && series) series.counts[i]! += 1;
    });
    series.sum += value;
    series.count += 1;
  }

  /**
   * Makes a series appear with no observations (count 0), as Go's client
   * shows an unlabelled summary from the start.
   *
   * @param labels the series' labels
   */
  touch(labels: Labels = {}): void {
    this.#seriesOf(labels);
  }

  #seriesOf(labels: Labels) {
    const key = this.key(labels);
    let series = this.#series.get(key);
    if (!series) {
      series = {
        labels: { ...labels },
        counts: this.#buckets.map(() => 0),
        sum: 0,
        count: 0,
      };
      this.#series.set(key, series);
    }
    return series;
  }

  /**
   * A series' observation count, 0 when it has none.
   *
   * @param labels the series' labels
   * @returns the count
   */
  count(labels: Labels = {}): number {
    return this.#series.get(this.key(labels))?.count ?? 0;
  }

  lines(): string[] {
    const out: string[] = [];
    for (const s of this.#series.values()) {
      if (this.type === "histogram") {
        this.#buckets.forEach((bound, i) => {
          const le = { ...s.labels, le: formatValue(bound) };
          out.push(`${this.name}_bucket${labelText(le)} ${s.counts[i]}`);
        });
        const inf = { ...s.labels, le: "+Inf" };
        out.push(`${this.name}_bucket${labelText(inf)} ${s.count}`);
      }
      out.push(`${this.name}_sum${labelText(s.labels)} ${formatValue(s.sum)}`);
      out.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return out;
  }
}

/** A histogram: cumulative bucket counts, sum and count. */
export class Histogram extends ObservedFamily {
  /**
   * Creates an instance (see {@linkcode Registry.histogram}).
   *
   * @param name the metric name
   * @param help the HELP text
   * @param buckets the upper bounds (`+Inf` is added)
   * @param labelNames the label names every series gives
   */
  constructor(
    name: string,
    help: string,
    buckets: readonly number[],
    labelNames: readonly string[] = [],
  ) {
    super(name, help, "histogram", labelNames, buckets);
  }
}

/** A summary without quantiles: sum and count only (as Go's client with no objectives). */
export class Summary extends ObservedFamily {
  /**
   * Creates an instance (see {@linkcode Registry.summary}).
   *
   * @param name the metric name
   * @param help the HELP text
   * @param labelNames the label names every series gives
   */
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, "summary", labelNames, []);
  }
}

/** A set of metric families, printed together. */
export class Registry {
  readonly #families = new Map<string, Family>();

  /**
   * Adds a counter.
   *
   * @param name the metric name
   * @param help the HELP text
   * @param labelNames its label names
   * @returns the counter
   */
  counter(name: string, help: string, labelNames: string[] = []): Counter {
    return this.#add(new Counter(name, help, labelNames));
  }

  /**
   * Adds a gauge.
   *
   * @param name the metric name
   * @param help the HELP text
   * @param labelNames its label names
   * @returns the gauge
   */
  gauge(name: string, help: string, labelNames: string[] = []): Gauge {
    return this.#add(new Gauge(name, help, labelNames));
  }

  /**
   * Adds a histogram.
   *
   * @param name the metric name
   * @param help the HELP text
   * @param buckets the upper bounds
   * @param labelNames its label names
   * @returns the histogram
   */
  histogram(
    name: string,
    help: string,
    buckets: readonly number[],
    labelNames: string[] = [],
  ): Histogram {
    return this.#add(new Histogram(name, help, buckets, labelNames));
  }

  /**
   * Adds a summary without quantiles.
   *
   * @param name the metric name
   * @param help the HELP text
   * @param labelNames its label names
   * @returns the summary
   */
  summary(name: string, help: string, labelNames: string[] = []): Summary {
    return this.#add(new Summary(name, help, labelNames));
  }

  #add<F extends Family>(family: F): F {
    if (this.#families.has(family.name)) {
      throw new TypeError(`Metric ${family.name} is registered twice`);
    }
    this.#families.set(family.name, family);
    return family;
  }

  /**
   * Every family with at least one series, sorted by name (as Go's client),
   * in the text format.
   *
   * @returns the exposition, ending in a newline (empty when nothing is set)
   */
  text(): string {
    const out: string[] = [];
    const names = [...this.#families.keys()].sort();
    for (const name of names) {
      const family = this.#families.get(name);
      if (!family) continue;
      const lines = family.lines();
      if (lines.length === 0) continue;
      out.push(`# HELP ${name} ${escapeHelp(family.help)}`);
      out.push(`# TYPE ${name} ${family.type}`);
      out.push(...lines);
    }
    return out.length > 0 ? `${out.join("\n")}\n` : "";
  }
}

/**
 * A sample value as Prometheus reads it: `+Inf`, `-Inf`, `NaN`, or the
 * shortest decimal form.
 *
 * @param value the number
 * @returns its text
 */
export function formatValue(value: number): string {
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  if (Number.isNaN(value)) return "NaN";
  return String(value);
}

function labelText(labels: Labels): string {
  const names = Object.keys(labels).sort();
  if (names.length === 0) return "";
  const pairs = names.map((n) => `${n}="${escapeLabel(labels[n] ?? "")}"`);
  return `{${pairs.join(",")}}`;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(
    /"/g,
    '\\"',
  );
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}
