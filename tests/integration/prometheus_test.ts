/**
 * The whole monitoring stack against a real Prometheus (Debian's package):
 * our server (`-s --metrics`), our exporter (`--exporter`) and Prometheus on
 * 127.0.0.1, with the scrape config iperf3_exporter users have: a TCP and a
 * UDP probe job against the same server at once, a probe job whose target
 * refuses, and a job that scrapes the server's own metrics. The test asks
 * Prometheus's HTTP API what it stored. Skips, saying why, where Prometheus
 * is not installed (`.ci/run` installs it).
 *
 * @module
 */

import assert from "node:assert/strict";
import { freePort } from "../interop/_iperf3.ts";
import { Child } from "../_support/child.ts";

const PROMETHEUS = "/usr/bin/prometheus";
const HOST = "127.0.0.1";
/** Seconds between scrapes of every job; each probe runs a 1 s test. */
const INTERVAL_S = 3;
/** Scrapes of each probe job to wait for. */
const SCRAPES = 3;
/** The longest the whole wait may take. */
const DEADLINE_MS = 60_000;
/** The server's bytes counter, by direction and protocol. */
const SERVER_BYTES = "iperf_ts_server_bytes_total";

function unavailable(): string | undefined {
  try {
    const out = new Deno.Command(PROMETHEUS, {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    if (!out.success) return `${PROMETHEUS} --version failed`;
  } catch {
    return `${PROMETHEUS} is missing (apt-get install prometheus)`;
  }
  return undefined;
}

const skip = unavailable();
if (skip) {
  // deno-lint-ignore no-console
  console.log(`prometheus test skipped: ${skip}`);
}

function ourProgram(args: string[]): Child {
  return new Child("deno", [
    "run",
    "--allow-net",
    "--allow-ffi",
    "--allow-sys=hostname,osRelease",
    "main.ts",
    ...args,
  ]);
}

/** Prometheus's scrape config: iperf3_exporter's relabelling pattern. */
function config(ports: {
  server: number;
  metrics: number;
  exporter: number;
  refused: number;
}): string {
  const probeJob = (name: string, port: number, udp: boolean) => `
  - job_name: ${name}
    metrics_path: /probe
    params:
      port: ["${port}"]
      period: ["1s"]${
    udp ? `\n      udp_mode: ["true"]\n      bitrate: ["10M"]` : ""
  }
    static_configs:
      - targets: ["${HOST}"]
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: ${HOST}:${ports.exporter}
`;
  return `global:
  scrape_interval: ${INTERVAL_S}s
  scrape_timeout: ${INTERVAL_S}s
scrape_configs:${probeJob("iperf3-tcp", ports.server, false)}${
    probeJob("iperf3-udp", ports.server, true)
  }${probeJob("iperf3-refused", ports.refused, false)}
  - job_name: iperf-ts-server
    static_configs:
      - targets: ["${HOST}:${ports.metrics}"]
`;
}

interface Sample {
  metric: Record<string, string>;
  values: [number, string][];
}

async function query(base: string, promql: string): Promise<Sample[]> {
  const url = `${base}/api/v1/query?query=${encodeURIComponent(promql)}`;
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const body = await response.json();
  assert.equal(body.status, "success", JSON.stringify(body));
  // A range selector gives a matrix: every stored sample with its time.
  return body.data.result as Sample[];
}

/** Every sample of `series` in the last `seconds`, oldest first. */
async function samples(
  base: string,
  series: string,
  seconds: number,
): Promise<[number, number][]> {
  const result = await query(base, `${series}[${seconds}s]`);
  assert.ok(result.length <= 1, `one series: ${JSON.stringify(result)}`);
  return (result[0]?.values ?? []).map(([t, v]) => [t, Number(v)]);
}

Deno.test({
  name:
    "Prometheus scrapes our exporter (TCP and UDP probes at once, a refused target) and our server's metrics",
  ignore: skip !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "iperf-ts-prom-" });
    const ports = {
      server: freePort(),
      metrics: freePort(),
      exporter: freePort(),
      refused: freePort(),
      prometheus: freePort(),
    };
    try {
      await using _server = ourProgram([
        "-s",
        "-B",
        HOST,
        "-p",
        String(ports.server),
        "--metrics",
        `${HOST}:${ports.metrics}`,
      ]);
      await using _exporter = ourProgram([
        "--exporter",
        "--web.listen-address",
        `${HOST}:${ports.exporter}`,
      ]);
      await Deno.writeTextFile(`${dir}/prometheus.yml`, config(ports));
      await using _prometheus = new Child(PROMETHEUS, [
        `--config.file=${dir}/prometheus.yml`,
        `--storage.tsdb.path=${dir}/data`,
        `--web.listen-address=${HOST}:${ports.prometheus}`,
      ]);
      const base = `http://${HOST}:${ports.prometheus}`;
      const window = Math.ceil(DEADLINE_MS / 1000) + 30;
      const started = performance.now();
      let ready = false;
      while (performance.now() - started < DEADLINE_MS) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        try {
          const counts = await Promise.all(
            ["iperf3-tcp", "iperf3-udp", "iperf3-refused"].map(async (job) =>
              (await samples(base, `iperf3_up{job="${job}"}`, window)).length
            ),
          );
          const server = await samples(
            base,
            `up{job="iperf-ts-server"}`,
            window,
          );
          if (counts.every((n) => n >= SCRAPES) && server.length >= SCRAPES) {
            ready = true;
            break;
          }
        } catch {
          // Prometheus is still starting.
        }
      }
      assert.ok(
        ready,
        `Prometheus did not store ${SCRAPES} scrapes of each job in ${DEADLINE_MS} ms`,
      );

      // Both probe jobs are up at every scrape: the server serves the TCP
      // and the UDP test that Prometheus starts at once (an iperf3 server
      // refuses the second).
      for (const job of ["iperf3-tcp", "iperf3-udp"]) {
        const up = await samples(base, `iperf3_up{job="${job}"}`, window);
        assert.ok(
          up.every(([, v]) => v === 1),
          `${job}: ${JSON.stringify(up)}`,
        );
        const bytes = await samples(
          base,
          `iperf3_received_bytes{job="${job}"}`,
          window,
        );
        assert.ok(bytes.every(([, v]) => v > 0), `${job} moved bytes`);
      }
      const refused = await samples(
        base,
        `iperf3_up{job="iperf3-refused"}`,
        window,
      );
      assert.ok(refused.every(([, v]) => v === 0), JSON.stringify(refused));
      const errors = await samples(
        base,
        "iperf3_exporter_errors_total",
        window,
      );
      assert.equal(errors.length, 0, "the exporter's /metrics is not scraped");
      // What Prometheus stored, for the record (the latest sample of each).
      const latest = await query(
        base,
        '{__name__=~"iperf3_up|iperf3_received_bytes|iperf3_sent_seconds|iperf3_received_jitter_ms|iperf3_sent_rtt_mean_seconds"}',
      );
      // deno-lint-ignore no-console
      console.log(
        latest.map((r) =>
          `${r.metric["__name__"]}{job="${r.metric["job"]}"} ${
            (r as unknown as { value: [number, string] }).value[1]
          }`
        ).sort().join("\n"),
      );
      const serverUp = await samples(base, `up{job="iperf-ts-server"}`, window);
      assert.ok(serverUp.every(([, v]) => v === 1));

      // The server's byte counter agrees with the probes: at each of its
      // scrapes it holds at least every probe that had surely ended (started
      // a scrape timeout before) and at most every probe that had started.
      for (const protocol of ["tcp", "udp"]) {
        const job = `iperf3-${protocol}`;
        const probes = await samples(
          base,
          `iperf3_received_bytes{job="${job}"}`,
          window,
        );
        const counter = await samples(
          base,
          `${SERVER_BYTES}{direction="received",protocol="${protocol}"}`,
          window,
        );
        assert.ok(counter.length >= SCRAPES, `${protocol}: server samples`);
        for (const [t, value] of counter) {
          const ended = probes.filter(([u]) => u + INTERVAL_S < t)
            .reduce((sum, [, v]) => sum + v, 0);
          const begun = probes.filter(([u]) => u <= t)
            .reduce((sum, [, v]) => sum + v, 0);
          assert.ok(
            value >= ended && value <= begun,
            `${protocol} at ${t}: server ${value}, probes ended ${ended}, begun ${begun}`,
          );
        }
        // And it grew: the probes' bytes reached it.
        assert.ok((counter.at(-1)?.[1] ?? 0) > 0, `${protocol}: counted`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
