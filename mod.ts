/**
 * iperf-ts: an iperf3-compatible network throughput tester for Deno.
 *
 * `runClient()` runs a test against any iperf3 3.x server (or an iperf-ts
 * one) and gives its intervals as they happen and the whole `-J` document at
 * the end; `startServer()` serves iperf3 and iperf-ts clients;
 * `startExporter()` is a Prometheus exporter in the manner of
 * edgard/iperf3_exporter, whose probes run in this process. The lower
 * layers (`runClientSession`, `serve`, the reporters) are exported too, and
 * `ServerMetrics` with `serveMetrics()` give a `serve()`'s counters to
 * Prometheus.
 *
 * @example Usage
 * ```ts
 * import { runClient, startServer } from "./mod.ts";
 *
 * await using server = await startServer({ hostname: "127.0.0.1", port: 0 });
 * const run = runClient({ host: "127.0.0.1", port: server.port, bytes: 8 * 1024 * 1024 });
 * const doc = await run.result;
 * const received = doc.end.sum_received?.bytes ?? 0;
 * if (received < 8 * 1024 * 1024) throw new Error(`short transfer: ${received}`);
 * ```
 *
 * @module
 */

export {
  type ClientOptions,
  type ClientRun,
  runClient,
  type ServerHandle,
  type ServerOptions,
  startServer,
} from "./lib/api.ts";
export type {
  IperfJson,
  JsonConnected,
  JsonEnd,
  JsonEndFigures,
  JsonEndStream,
  JsonFigures,
  JsonInterval,
  JsonIntervalLatency,
  JsonIntervalStream,
  JsonIntervalSum,
  JsonLatency,
  JsonRttFigures,
  JsonStart,
  JsonTestStart,
} from "./lib/report/json_types.ts";
export { VERSION } from "./lib/version.ts";
export {
  type ExporterHandle,
  type ExporterOptions,
  startExporter,
} from "./lib/exporter/exporter.ts";
export type {
  ExporterLogLevel,
  ExporterLogRecord,
} from "./lib/exporter/log_line.ts";
export {
  type AuthCheck,
  type AuthPaddingOptions,
  checkAuthToken,
  type CheckTokenOptions,
  credentialHash,
  makeAuthToken,
  type MakeTokenOptions,
  parseUsersFile,
} from "./lib/auth.ts";
export {
  type ClientConfig,
  type ClientOutcome,
  type ClientSessionOptions,
  runClientSession,
} from "./lib/session/client.ts";
export {
  DEFAULT_PORT,
  listen,
  type ListenOptions,
  serve,
  type ServeOptions,
  type ServerAuth,
  type ServerObserver,
} from "./lib/session/server.ts";
export {
  DURATION_BUCKETS,
  METRIC_PREFIX,
  ServerMetrics,
  type ServerMetricsOptions,
} from "./lib/metrics/server_metrics.ts";
export {
  type MetricsAddress,
  type MetricsServer,
  type MetricsServerOptions,
  type MetricsSource,
  parseMetricsAddress,
  serveMetrics,
} from "./lib/metrics/metrics_server.ts";
export { EXPOSITION_CONTENT_TYPE } from "./lib/metrics/registry.ts";
export { TextReporter, type TextReporterOptions } from "./lib/report/text.ts";
export type {
  Endpoint,
  EventSink,
  HandshakeStep,
  RefusalReason,
  Role,
  ServerEvent,
  SessionEvent,
  SocketBuffers,
} from "./lib/events.ts";
export { tcpTestParams, type TestParams } from "./lib/protocol/params.ts";
export type { StreamResult, TestResults } from "./lib/protocol/results.ts";
export type {
  CpuUtil,
  DiskFile,
  StreamSummary,
  TcpStreamTotals,
  TestSummary,
  UdpSummary,
} from "./lib/stats/summary.ts";
export type {
  IntervalReport,
  StreamInterval,
  TcpInterval,
  UdpInterval,
} from "./lib/stats/interval.ts";
export type {
  IntervalLatency,
  LatencyReport,
  Responsiveness,
  RttSummary,
  TcpRttSource,
} from "./lib/stats/latency.ts";
export type { UnitFormat } from "./lib/units.ts";
export type { KeepAliveSettings } from "./lib/net/stream_socket.ts";
export {
  AccessDeniedError,
  ERROR_CODES,
  type ErrorCode,
  errorText,
  InterruptedError,
  IperfError,
  type IperfErrorOptions,
  NotImplementedOptionError,
  ProtocolError,
  type ProtocolErrorOptions,
  ServerError,
  StreamError,
  UsageError,
} from "./lib/errors.ts";
