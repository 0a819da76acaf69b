/**
 * Latency figures (`--latency`): RTT samples in milliseconds in, summaries
 * (min, median, p90, p99, max) and a responsiveness figure in round trips
 * per minute out, after draft-ietf-ippm-responsiveness simplified (see
 * docs/latency.md for how it differs). Pure arithmetic.
 *
 * @module
 */

/** A summary of RTT samples in milliseconds; the figures are absent when there are none. */
export interface RttSummary {
  /** Samples summarised. */
  count: number;
  /** The smallest. */
  minMs?: number;
  /** The median (the mean of the two middle samples when `count` is even). */
  medianMs?: number;
  /** The 90th percentile. */
  p90Ms?: number;
  /** The 99th percentile. */
  p99Ms?: number;
  /** The largest. */
  maxMs?: number;
}

/** Where the TCP_INFO RTT of the loaded figure comes from. */
export type TcpRttSource =
  /** `tcpi_rtt` of this side's sending streams. */
  | "sending_streams"
  /** `tcpi_rcv_rtt` of this side's receiving streams (`-R`): the receiver's estimate. */
  | "receiving_streams"
  /** `tcpi_rtt` of the control connection (a UDP test: no TCP stream). */
  | "control";

/** The test's latency figures, idle and under load, and its responsiveness. */
export interface LatencyReport {
  /** Whether the server answered the probe flow (an iperf-ts server with echo). */
  serverEcho: boolean;
  /**
   * Before the load: the probe flow's RTTs when the server answers it,
   * else the control connection's TCP_INFO RTT once, at the start.
   */
  idle: RttSummary & {
    /** `probe` or `tcp_info`. */
    source: "probe" | "tcp_info";
    /** Probes that got no answer within a second (probe source only). */
    lost?: number;
  };
  /** Under load, the probe flow (absent when the server does not answer it). */
  loadedProbe?: RttSummary & {
    /** Probes that got no answer within a second. */
    lost: number;
  };
  /** Under load, TCP_INFO RTT samples (absent without TCP_INFO). */
  loadedTcpInfo?: RttSummary & {
    /** Which sockets the samples come from. */
    source: TcpRttSource;
  };
  /** Responsiveness in round trips per minute. */
  rpm: Responsiveness;
}

/** Responsiveness in round trips per minute, rounded to whole numbers. */
export interface Responsiveness {
  /** The mean of `foreign` and `self` when both exist, else the one that does. */
  value?: number;
  /** From the loaded probe flow (a flow of its own beside the load). */
  foreign?: number;
  /** From the load's own TCP_INFO RTT. */
  self?: number;
}

/** One reporting interval's latency figures. */
export interface IntervalLatency {
  /** The probe answers that arrived in the interval. */
  probe: {
    /** Answers. */
    count: number;
    /** Probes whose second to answer ran out in the interval. */
    lost: number;
    /** The smallest RTT, ms. */
    minMs?: number;
    /** The median RTT, ms. */
    medianMs?: number;
    /** The largest RTT, ms. */
    maxMs?: number;
  };
  /** The mean of the TCP_INFO RTT samples taken in the interval, ms. */
  tcpRttMs?: number;
}

/** The share of samples the trimmed mean keeps: the draft's TMP, 95%. */
export const TRIM_KEEP = 0.95;

/**
 * A percentile of sorted samples, interpolating linearly between the two
 * nearest ranks (numpy's default; the median of an even count is the mean
 * of the middle two).
 *
 * @param sorted samples in ascending order, at least one
 * @param p the percentile, 0 to 100
 * @returns the value
 * @throws {RangeError} when there are no samples or `p` is out of range
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) {
    throw new RangeError("Cannot take a percentile: no samples");
  }
  if (!(p >= 0 && p <= 100)) {
    throw new RangeError(`Cannot take a percentile: "${p}" is not 0 to 100`);
  }
  const rank = (sorted.length - 1) * p / 100;
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const a = sorted[low] as number;
  const b = sorted[high] as number;
  return a + (b - a) * (rank - low);
}

/**
 * Summarises RTT samples.
 *
 * @param samplesMs RTTs in milliseconds, in any order
 * @returns the count, and the figures when there is at least one sample
 */
export function summarizeRtts(samplesMs: readonly number[]): RttSummary {
  if (samplesMs.length === 0) return { count: 0 };
  const sorted = [...samplesMs].sort((a, b) => a - b);
  return {
    count: sorted.length,
    minMs: sorted[0] as number,
    medianMs: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted[sorted.length - 1] as number,
  };
}

/**
 * The draft's single-sided trimmed mean: the worst (largest) 5% of the
 * samples dropped, the rest averaged. It keeps `floor(0.95 × n)` samples,
 * at least one, so below 20 samples the one largest is dropped.
 *
 * @param samplesMs RTTs in milliseconds
 * @param keep the share kept (default {@linkcode TRIM_KEEP})
 * @returns the mean, or undefined without samples
 */
export function trimmedMean(
  samplesMs: readonly number[],
  keep: number = TRIM_KEEP,
): number | undefined {
  if (samplesMs.length === 0) return undefined;
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const kept = sorted.slice(
    0,
    Math.max(1, Math.floor(sorted.length * keep)),
  );
  return kept.reduce((sum, x) => sum + x, 0) / kept.length;
}

/**
 * Round trips per minute of RTT samples: 60000 over their trimmed mean in
 * milliseconds.
 *
 * @param samplesMs RTTs in milliseconds
 * @returns whole round trips per minute, or undefined without samples (or
 *   when the mean is 0)
 */
export function roundTripsPerMinute(
  samplesMs: readonly number[],
): number | undefined {
  const mean = trimmedMean(samplesMs);
  if (mean === undefined || !(mean > 0)) return undefined;
  return Math.round(60000 / mean);
}

/**
 * The responsiveness of a test: the RPM of the loaded probe flow
 * ("foreign", the draft's probes on a connection of their own), the RPM of
 * the load's TCP_INFO RTT ("self", the draft's stand-in for probes on the
 * load connections), and their mean, as the draft averages its two RPMs
 * (not their RTTs).
 *
 * @param foreignMs the loaded probe flow's RTTs, ms
 * @param selfMs the load's TCP_INFO RTT samples, ms
 * @returns the figures that exist
 */
export function responsiveness(
  foreignMs: readonly number[],
  selfMs: readonly number[],
): Responsiveness {
  const foreign = roundTripsPerMinute(foreignMs);
  const self = roundTripsPerMinute(selfMs);
  const out: Responsiveness = {};
  const value = foreign !== undefined && self !== undefined
    ? Math.round((foreign + self) / 2)
    : foreign ?? self;
  if (value !== undefined) out.value = value;
  if (foreign !== undefined) out.foreign = foreign;
  if (self !== undefined) out.self = self;
  return out;
}

/** The most samples an {@linkcode RttSamples} keeps (1.8 hours of probes at 10 a second). */
export const MAX_KEPT_SAMPLES = 65536;

/**
 * RTT samples with bounded memory: the count, the sum, the smallest and the
 * largest are exact; beyond `cap` samples a uniform random subset of `cap`
 * is kept (reservoir sampling), from which the percentiles and the trimmed
 * mean are taken.
 */
export class RttSamples {
  readonly #cap: number;
  readonly #random: () => number;
  readonly #kept: number[] = [];
  #seen = 0;
  #sum = 0;
  #min = Infinity;
  #max = -Infinity;

  /**
   * Creates an instance.
   *
   * @param cap the most samples kept (default {@linkcode MAX_KEPT_SAMPLES})
   * @param random a uniform random number in [0, 1) (default `Math.random`)
   */
  constructor(
    cap: number = MAX_KEPT_SAMPLES,
    random: () => number = Math.random,
  ) {
    this.#cap = cap;
    this.#random = random;
  }

  /**
   * Adds one sample.
   *
   * @param ms an RTT in milliseconds
   */
  add(ms: number): void {
    this.#seen++;
    this.#sum += ms;
    if (ms < this.#min) this.#min = ms;
    if (ms > this.#max) this.#max = ms;
    if (this.#kept.length < this.#cap) {
      this.#kept.push(ms);
      return;
    }
    const at = Math.floor(this.#random() * this.#seen);
    if (at < this.#cap) this.#kept[at] = ms;
  }

  /** Samples added. */
  get count(): number {
    return this.#seen;
  }

  /** The mean of every sample added, undefined without any. */
  get mean(): number | undefined {
    return this.#seen > 0 ? this.#sum / this.#seen : undefined;
  }

  /** The samples kept (all of them up to `cap`). */
  values(): readonly number[] {
    return this.#kept;
  }

  /**
   * The summary: exact count, min and max; percentiles of the kept samples.
   *
   * @returns the figures
   */
  summary(): RttSummary {
    const s = summarizeRtts(this.#kept);
    if (s.count === 0) return s;
    return { ...s, count: this.#seen, minMs: this.#min, maxMs: this.#max };
  }
}

/**
 * One interval's probe figures: count, lost, min, median, max.
 *
 * @param samplesMs the answers' RTTs that arrived in the interval, ms (or
 *   the samples that hold them)
 * @param lost probes whose time to answer ran out in the interval
 * @returns the figures
 */
export function intervalProbeFigures(
  samplesMs: readonly number[] | RttSamples,
  lost: number,
): IntervalLatency["probe"] {
  const s = samplesMs instanceof RttSamples
    ? samplesMs.summary()
    : summarizeRtts(samplesMs);
  const out: IntervalLatency["probe"] = { count: s.count, lost };
  if (s.minMs !== undefined) out.minMs = s.minMs;
  if (s.medianMs !== undefined) out.medianMs = s.medianMs;
  if (s.maxMs !== undefined) out.maxMs = s.maxMs;
  return out;
}
