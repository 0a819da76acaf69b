/**
 * iperf-ts: an iperf3-compatible network throughput tester for Deno.
 *
 * The library API runs the same client and server as the `iperf3`-compatible
 * command in `main.ts`.
 *
 * @example Usage
 * ```ts
 * import { listen, runClientSession, serve, tcpTestParams } from "./mod.ts";
 *
 * const controller = new AbortController();
 * const listener = listen({ hostname: "127.0.0.1", port: 0 });
 * const server = serve(listener, { signal: controller.signal });
 * const outcome = await runClientSession({
 *   host: "127.0.0.1",
 *   port: listener.addr.port,
 *   interval: 0,
 *   params: tcpTestParams({ time: 0, bytes: 10 * 1024 * 1024 }),
 * });
 * controller.abort();
 * await server;
 * if ((outcome.summary.streams[0]?.bytesSent ?? 0) < 10 * 1024 * 1024) {
 *   throw new Error("short transfer");
 * }
 * ```
 *
 * @module
 */

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
} from "./lib/session/server.ts";
export { TextReporter, type TextReporterOptions } from "./lib/report/text.ts";
export type { Endpoint, EventSink, Role, SessionEvent } from "./lib/events.ts";
export { tcpTestParams, type TestParams } from "./lib/protocol/params.ts";
export type { StreamResult, TestResults } from "./lib/protocol/results.ts";
export type {
  CpuUtil,
  StreamSummary,
  TestSummary,
  UdpSummary,
} from "./lib/stats/summary.ts";
export type {
  IntervalReport,
  StreamInterval,
  UdpInterval,
} from "./lib/stats/interval.ts";
export type { UnitFormat } from "./lib/units.ts";
export {
  AccessDeniedError,
  ERROR_CODES,
  type ErrorCode,
  errorText,
  InterruptedError,
  IperfError,
  type IperfErrorOptions,
  ProtocolError,
  type ProtocolErrorOptions,
  ServerError,
  StreamError,
  UsageError,
} from "./lib/errors.ts";
