/**
 * The HTTP endpoint Prometheus scrapes: `GET /metrics` on its own address
 * (`--metrics HOST:PORT`), served with `Deno.serve`.
 *
 * @module
 */

import { osReason } from "../errors.ts";
import { EXPOSITION_CONTENT_TYPE } from "./registry.ts";

/** Where the endpoint listens. */
export interface MetricsAddress {
  /** The address to bind; undefined for every address (IPv6 and IPv4). */
  hostname?: string;
  /** The port, 0 for any free one. */
  port: number;
}

/** What the endpoint prints: a `ServerMetrics`, or any `Registry`. */
export interface MetricsSource {
  /** The exposition in the Prometheus text format. */
  text(): string;
}

/** Options of {@linkcode serveMetrics}. */
export interface MetricsServerOptions {
  /** Stops the endpoint, as `close()` does. */
  signal?: AbortSignal;
}

/** A running metrics endpoint. */
export interface MetricsServer extends AsyncDisposable {
  /** The address it listens on (with the port chosen for port 0). */
  readonly addr: Deno.NetAddr;
  /** Stops it: no new connections, requests in flight finish. */
  close(): Promise<void>;
}

/**
 * Reads `HOST:PORT` as `--metrics` takes it: `:9580` (every address),
 * `127.0.0.1:9580`, `localhost:9580`, `[::1]:9580`.
 *
 * @param text the address
 * @returns the hostname (absent for every address) and port
 * @throws {TypeError} when it is not `HOST:PORT` with a port from 0 to 65535
 */
export function parseMetricsAddress(text: string): MetricsAddress {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\[\]\s]*)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || !(port <= 65535)) {
    throw new TypeError(
      `Cannot serve metrics on "${text}": expected HOST:PORT with a port from 0 to 65535, such as ":9580" or "127.0.0.1:9580"`,
    );
  }
  const hostname = match[1] ?? match[2] ?? "";
  return hostname === "" ? { port } : { hostname, port };
}

/**
 * Serves `GET /metrics` (and `HEAD`) with `source.text()` on `address`;
 * every other path is 404, every other method on `/metrics` 405.
 *
 * @example Usage
 * ```ts
 * import { serveMetrics } from "./metrics_server.ts";
 * import { Registry } from "./registry.ts";
 *
 * const registry = new Registry();
 * registry.counter("demo_total", "A demo counter.").inc();
 * await using endpoint = serveMetrics("127.0.0.1:0", registry);
 * const response = await fetch(`http://127.0.0.1:${endpoint.addr.port}/metrics`);
 * if (!(await response.text()).includes("demo_total 1")) throw new Error();
 * ```
 *
 * @param address `HOST:PORT` (see {@linkcode parseMetricsAddress}) or its parts
 * @param source what to print
 * @param options signal
 * @returns the running endpoint, once it listens
 * @throws {TypeError} for an address that is not `HOST:PORT`
 * @throws {Error} when the address cannot be bound (the OS reason; the Deno error is the cause)
 */
export function serveMetrics(
  address: string | MetricsAddress,
  source: MetricsSource,
  options: MetricsServerOptions = {},
): MetricsServer {
  options.signal?.throwIfAborted();
  const text = typeof address === "string"
    ? address
    : `${address.hostname ?? ""}:${address.port}`;
  const { hostname, port } = typeof address === "string"
    ? parseMetricsAddress(address)
    : address;
  const handler = (request: Request): Response => {
    if (new URL(request.url).pathname !== "/metrics") {
      return new Response("Not Found: the metrics are at /metrics\n", {
        status: 404,
      });
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("Method Not Allowed\n", {
        status: 405,
        headers: { allow: "GET, HEAD" },
      });
    }
    return new Response(source.text(), {
      headers: { "content-type": EXPOSITION_CONTENT_TYPE },
    });
  };
  const server = bind(hostname, port, handler, text);
  let closing: Promise<void> | undefined;
  const close = () => {
    options.signal?.removeEventListener("abort", onAbort);
    closing ??= server.shutdown().then(() => server.finished);
    return closing;
  };
  const onAbort = () => {
    close().catch(() => {});
  };
  options.signal?.addEventListener("abort", onAbort, { once: true });
  return {
    addr: server.addr,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * `Deno.serve` on the address, quietly (no "Listening on" line, no error
 * log); without a hostname, dual-stack `[::]`, or `0.0.0.0` where IPv6 is
 * unavailable (as the server's own `listen()`).
 */
function bind(
  hostname: string | undefined,
  port: number,
  handler: (request: Request) => Response,
  text: string,
): Deno.HttpServer<Deno.NetAddr> {
  const serveOn = (host: string) =>
    Deno.serve({
      hostname: host,
      port,
      onListen: () => {},
      onError: () => new Response("Internal Server Error\n", { status: 500 }),
    }, handler);
  try {
    return serveOn(hostname ?? "::");
  } catch (error) {
    if (hostname === undefined) {
      try {
        return serveOn("0.0.0.0");
      } catch {
        // Report the first failure below.
      }
    }
    throw new Error(`Cannot serve metrics on "${text}": ${osReason(error)}`, {
      cause: error,
    });
  }
}
