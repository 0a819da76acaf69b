/**
 * The exporter's own metrics, served on `/metrics`: edgard/iperf3_exporter's
 * three (`iperf3_exporter_duration_seconds`, `iperf3_exporter_errors_total`,
 * `iperf3_exporter_build_info`, with Go's label names), and the few of Go's
 * standard ones that mean something here (process CPU, memory and start
 * time; promhttp's scrape counters).
 *
 * @module
 */

import process from "node:process";
import { Registry } from "../metrics/registry.ts";
import { VERSION } from "../version.ts";

const BUILD_INFO_HELP =
  "A metric with a constant '1' value labeled by version, revision, branch, goversion from which iperf3_exporter was built, and the goos and goarch for the build.";

/** Go's GOARCH for Deno's `build.arch`. */
const GOARCH: Readonly<Record<string, string>> = {
  "x86_64": "amd64",
  "aarch64": "arm64",
};

/** The families behind `/metrics`, and what updates them. */
export class ExporterMetrics {
  readonly #registry = new Registry();
  readonly #duration = this.#registry.summary(
    "iperf3_exporter_duration_seconds",
    "Duration of collections by the iperf3 exporter.",
  );
  readonly #errors = this.#registry.counter(
    "iperf3_exporter_errors_total",
    "Errors raised by the iperf3 exporter.",
  );
  readonly #cpu = this.#registry.counter(
    "process_cpu_seconds_total",
    "Total user and system CPU time spent in seconds.",
  );
  readonly #memory = this.#registry.gauge(
    "process_resident_memory_bytes",
    "Resident memory size in bytes.",
  );
  readonly #inFlight = this.#registry.gauge(
    "promhttp_metric_handler_requests_in_flight",
    "Current number of scrapes being served.",
  );
  readonly #scrapes = this.#registry.counter(
    "promhttp_metric_handler_requests_total",
    "Total number of scrapes by HTTP status code.",
    ["code"],
  );
  #cpuSeen = 0;

  /** Creates the families, with Go's series present from the start. */
  constructor() {
    this.#duration.touch();
    this.#errors.touch();
    this.#inFlight.set({}, 0);
    for (const code of ["200", "500", "503"]) this.#scrapes.touch({ code });
    this.#registry.gauge(
      "iperf3_exporter_build_info",
      BUILD_INFO_HELP,
      ["version", "revision", "branch", "goversion", "goos", "goarch", "tags"],
    ).set({
      version: VERSION,
      revision: "",
      branch: "",
      goversion: `deno${Deno.version.deno}`,
      goos: Deno.build.os,
      goarch: GOARCH[Deno.build.arch] ?? Deno.build.arch,
      tags: "",
    }, 1);
    this.#registry.gauge(
      "process_start_time_seconds",
      "Start time of the process since unix epoch in seconds.",
    ).set({}, Math.floor(performance.timeOrigin / 1000));
  }

  /**
   * Records one probe answered with its metrics (up or down).
   *
   * @param seconds how long it took
   */
  observeProbe(seconds: number): void {
    this.#duration.observe({}, seconds);
  }

  /** Counts one error: a refused probe request, or a probe that failed. */
  countError(): void {
    this.#errors.inc();
  }

  /** How many errors were counted. */
  get errors(): number {
    return this.#errors.get();
  }

  /**
   * One scrape of `/metrics`: the process figures as they are now, with this
   * scrape in flight.
   *
   * @returns the exposition text
   */
  scrape(): string {
    this.#inFlight.inc();
    try {
      const usage = process.cpuUsage();
      const cpu = (usage.user + usage.system) / 1e6;
      this.#cpu.inc({}, Math.max(0, cpu - this.#cpuSeen));
      this.#cpuSeen = Math.max(cpu, this.#cpuSeen);
      this.#memory.set({}, Deno.memoryUsage().rss);
      return this.#registry.text();
    } finally {
      this.#inFlight.inc({}, -1);
      this.#scrapes.inc({ code: "200" });
    }
  }
}
