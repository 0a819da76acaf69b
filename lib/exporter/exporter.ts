/**
 * The exporter's HTTP server: edgard/iperf3_exporter 1.3.1's endpoints
 * (`/probe`, `/metrics`, `/health`, `/ready`, the landing page, 404
 * otherwise) on one or more listen addresses, with each probe run in this
 * process, side by side with any others.
 *
 * @module
 */

import { VERSION } from "../version.ts";
import { ExporterMetrics } from "./exporter_metrics.ts";
import { landingPage } from "./_landing.ts";
import { type ListenAddress, parseListenAddress } from "./listen_address.ts";
import type { ExporterLogRecord } from "./log_line.ts";
import { probeMetrics, runProbe } from "./probe.ts";
import { parseProbeRequest } from "./probe_params.ts";
import {
  DEFAULT_LISTEN_ADDRESS,
  DEFAULT_PROBE_PATH,
  DEFAULT_PROBE_TIMEOUT,
  DEFAULT_TELEMETRY_PATH,
} from "./defaults.ts";

/**
 * The metrics' `Content-Type`, as Go's client (client_golang 1.21) sends it
 * for the text format.
 */
const METRICS_CONTENT_TYPE =
  "text/plain; version=0.0.4; charset=utf-8; escaping=underscores";

/** Options of {@linkcode startExporter}, named after edgard's flags. */
export interface ExporterOptions {
  /** `--web.listen-address`, each `host:port`, `[v6]:port` or `:port` (default `:9579`; port 0 for any free one). */
  listenAddresses?: readonly string[];
  /** `--iperf3.timeout` in seconds, above 0 (default 30). */
  timeout?: number;
  /** `--web.telemetry-path` (default `/metrics`). */
  telemetryPath?: string;
  /** `--web.probe-path` (default `/probe`). */
  probePath?: string;
  /** Receives what the exporter reports (a probe that failed, start and stop); nothing is printed. */
  log?: (record: ExporterLogRecord) => void;
  /** Stops the exporter, like `close()`. */
  signal?: AbortSignal;
}

/** A running exporter. */
export interface ExporterHandle extends AsyncDisposable {
  /** The port of the first listen address (the bound one when it asked for 0). */
  readonly port: number;
  /** Every bound address, in the order given. */
  readonly addrs: readonly Deno.NetAddr[];
  /** Settles once the exporter has stopped and every connection is closed. */
  readonly finished: Promise<void>;
  /** Stops it: running probes end (answered with `iperf3_up 0`), then the listeners close. */
  close(): Promise<void>;
}

/**
 * Starts the exporter.
 *
 * @example Usage
 * ```ts
 * import { startExporter } from "./exporter.ts";
 *
 * await using exporter = await startExporter({ listenAddresses: ["127.0.0.1:0"] });
 * const response = await fetch(`http://127.0.0.1:${exporter.port}/health`);
 * if (await response.text() !== "OK\n") throw new Error("not healthy");
 * ```
 *
 * @param options listen addresses, timeout, paths, log, signal
 * @returns the handle, once every address listens
 * @throws {TypeError} for a bad listen address, path or timeout
 * @throws {Error} when an address cannot be listened on (the OS error as `cause`)
 */
export async function startExporter(
  options: ExporterOptions = {},
): Promise<ExporterHandle> {
  options.signal?.throwIfAborted();
  const timeout = options.timeout ?? DEFAULT_PROBE_TIMEOUT;
  if (!(timeout > 0)) {
    throw new TypeError(
      `Cannot start the exporter: the timeout must be above 0, not "${timeout}"`,
    );
  }
  const telemetryPath = options.telemetryPath ?? DEFAULT_TELEMETRY_PATH;
  const probePath = options.probePath ?? DEFAULT_PROBE_PATH;
  checkPaths(telemetryPath, probePath);
  const addresses = (options.listenAddresses ?? [DEFAULT_LISTEN_ADDRESS]).map(
    parseListenAddress,
  );
  if (addresses.length === 0) {
    throw new TypeError("Cannot start the exporter: no listen address");
  }
  const log = options.log ?? (() => {});
  const metrics = new ExporterMetrics();
  // Aborted on close: every running probe stops and is answered.
  const stopping = new AbortController();

  const handler = async (
    request: Request,
    info: Deno.ServeHandlerInfo<Deno.NetAddr>,
  ): Promise<Response> => {
    const started = performance.now();
    const url = new URL(request.url);
    const response = await route(request, url);
    log({
      level: "debug",
      msg: "HTTP request",
      attrs: {
        method: request.method,
        path: url.pathname,
        status: response.status,
        duration: `${((performance.now() - started) / 1000).toFixed(6)}s`,
        remote_addr: `${info.remoteAddr.hostname}:${info.remoteAddr.port}`,
      },
    });
    return response;
  };

  async function route(request: Request, url: URL): Promise<Response> {
    switch (url.pathname) {
      case telemetryPath:
        return new Response(metrics.scrape(), {
          headers: { "content-type": METRICS_CONTENT_TYPE },
        });
      case probePath:
        return await probe(request, url);
      case "/health":
        return plain(200, "OK\n");
      case "/ready":
        return plain(200, "Ready\n");
      case "/":
        return new Response(landingPage({ telemetryPath, probePath }), {
          headers: { "content-type": "text/html; charset=UTF-8" },
        });
      default:
        return httpError(404, "404 page not found");
    }
  }

  async function probe(request: Request, url: URL): Promise<Response> {
    const params = parseProbeRequest(url.searchParams, request.headers, {
      timeoutSeconds: timeout,
    });
    if (params.kind === "refused") {
      metrics.countError();
      return httpError(params.status, params.message);
    }
    const started = performance.now();
    log({
      level: "debug",
      msg: "Running iperf3 test",
      attrs: {
        target: params.target,
        port: String(params.port),
        period: `${params.time}s`,
        timeout: `${params.timeoutSeconds}s`,
        reverse: params.reverse,
        udp: params.udp,
        bitrate: params.bitrate,
        bind: params.bind,
      },
    });
    // As edgard, a scraper that goes away does not stop the test (its
    // context is the timeout's alone); closing the exporter does.
    const outcome = await runProbe(params, { signal: stopping.signal });
    if (outcome.kind === "down") {
      metrics.countError();
      log({
        level: "error",
        msg: "Failed to run iperf3",
        attrs: {
          target: params.target,
          port: String(params.port),
          err: outcome.reason,
        },
      });
    }
    const body = probeMetrics(params, outcome).text();
    metrics.observeProbe((performance.now() - started) / 1000);
    return new Response(body, {
      headers: { "content-type": METRICS_CONTENT_TYPE },
    });
  }

  const onError = (error: unknown): Response => {
    log({
      level: "error",
      msg: "HTTP handler error",
      attrs: { err: error instanceof Error ? error.message : String(error) },
    });
    return httpError(500, "Internal Server Error");
  };

  log({
    level: "info",
    msg: "Starting iperf3 exporter",
    attrs: { version: VERSION },
  });
  const servers: Deno.HttpServer<Deno.NetAddr>[] = [];
  try {
    for (const address of addresses) {
      servers.push(listenOn(address, handler, onError));
    }
  } catch (error) {
    stopping.abort();
    // The listeners that did open close again.
    await Promise.allSettled(servers.map((server) => server.shutdown()));
    throw error;
  }
  for (const server of servers) {
    log({
      level: "info",
      msg: "Listening on",
      attrs: { address: hostPort(server.addr) },
    });
  }

  const finished = Promise.all(servers.map((s) => s.finished)).then(() => {});
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      options.signal?.removeEventListener("abort", onAbort);
      log({ level: "info", msg: "Stopping iperf3 exporter", attrs: {} });
      stopping.abort();
      await Promise.all(servers.map((s) => s.shutdown()));
      await finished;
    })();
    return closing;
  };
  const onAbort = () => {
    close().catch(() => {});
  };
  options.signal?.addEventListener("abort", onAbort, { once: true });
  return {
    port: servers[0]?.addr.port ?? 0,
    addrs: servers.map((s) => s.addr),
    finished,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Refuses paths Go's ServeMux would refuse or that would hide another endpoint. */
function checkPaths(telemetryPath: string, probePath: string): void {
  const paths: [string, string][] = [
    ["metrics", telemetryPath],
    ["probe", probePath],
  ];
  for (const [name, path] of paths) {
    if (path === "") {
      throw new TypeError(
        `Cannot start the exporter: the ${name} path is empty`,
      );
    }
    if (!path.startsWith("/")) {
      throw new TypeError(
        `Cannot start the exporter: the ${name} path "${path}" must start with "/"`,
      );
    }
    if (["/", "/health", "/ready"].includes(path)) {
      throw new TypeError(
        `Cannot start the exporter: the ${name} path "${path}" is taken by another endpoint`,
      );
    }
  }
  if (telemetryPath === probePath) {
    throw new TypeError(
      `Cannot start the exporter: the metrics and probe paths are both "${probePath}"`,
    );
  }
}

/** One listener; no host means every address, IPv6 and IPv4 (IPv4 alone where IPv6 is off). */
function listenOn(
  address: ListenAddress,
  handler: Deno.ServeHandler<Deno.NetAddr>,
  onError: (error: unknown) => Response,
): Deno.HttpServer<Deno.NetAddr> {
  const serve = (hostname: string) =>
    Deno.serve({
      hostname,
      port: address.port,
      onListen: () => {},
      onError,
    }, handler);
  try {
    return serve(address.hostname ?? "::");
  } catch (error) {
    if (address.hostname === undefined) {
      try {
        return serve("0.0.0.0");
      } catch {
        // Report the first failure.
      }
    }
    throw new Error(
      `Cannot listen on "${address.text}": ${
        error instanceof Error ? error.message : String(error)
      }`,
      { cause: error },
    );
  }
}

function hostPort(addr: Deno.NetAddr): string {
  const host = addr.hostname.includes(":")
    ? `[${addr.hostname}]`
    : addr.hostname;
  return `${host}:${addr.port}`;
}

function plain(status: number, body: string): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

/** Go's `http.Error`: the message and a newline, plain text, no sniffing. */
function httpError(status: number, message: string): Response {
  return new Response(`${message}\n`, {
    status,
    headers: {
      "content-type": "text/plain; charset=utf-8",
      "x-content-type-options": "nosniff",
    },
  });
}
