/**
 * The exporter's landing page (`/`): what edgard/iperf3_exporter's shows,
 * smaller: the name, a link to the metrics, a probe example and the probe
 * parameters.
 *
 * @module
 */

import { VERSION } from "../version.ts";

/** The paths the page links to. */
export interface LandingPaths {
  /** `--web.telemetry-path`. */
  readonly telemetryPath: string;
  /** `--web.probe-path`. */
  readonly probePath: string;
}

const PARAMETERS: readonly [string, string, string][] = [
  ["target", "Target host to probe (required)", "-"],
  ["port", "Port that the target iperf3 server is listening on", "5201"],
  [
    "reverse_mode",
    "Run iperf3 in reverse mode (server sends, client receives)",
    "false",
  ],
  ["udp_mode", "Run iperf3 in UDP mode instead of TCP", "false"],
  [
    "bitrate",
    "Target bitrate in bits/sec (format: #[KMG][/#]). For UDP mode, 1 Mbit/sec if not specified.",
    "-",
  ],
  ["period", "Duration of the iperf3 test", "5s"],
  ["bind", "Local address to bind the test to", "-"],
];

/**
 * The page's HTML.
 *
 * @param paths where metrics and probes are served
 * @returns the document
 */
export function landingPage(paths: LandingPaths): string {
  const metrics = escapeHtml(paths.telemetryPath);
  const example = escapeHtml(`${paths.probePath}?target=example.com`);
  const rows = PARAMETERS.map(([name, what, fallback]) =>
    `<tr><td>${name}</td><td>${escapeHtml(what)}</td><td>${fallback}</td></tr>`
  ).join("\n");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<title>iPerf3 Exporter</title>
</head>
<body>
<h1>iPerf3 Exporter</h1>
<p>The iPerf3 exporter allows iPerf3 probing of endpoints for Prometheus monitoring.</p>
<p>Version: iperf-ts ${VERSION} (the iperf3 client runs in this process)</p>
<ul><li><a href="${metrics}">Metrics</a></li></ul>
<h2>Quick Start</h2>
<p>To probe a target:</p>
<pre><a href="${example}">${example}</a></pre>
<h2>Probe Parameters</h2>
<table>
<tr><th>Parameter</th><th>Description</th><th>Default</th></tr>
${rows}
</table>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(
    ">",
    "&gt;",
  ).replaceAll('"', "&quot;");
}
