/**
 * `--web.listen-address` as Go's `net.Listen("tcp", address)` reads it:
 * `:9579` (every address), `127.0.0.1:9579`, `[::1]:9579`, `host:0`.
 *
 * @module
 */

/** Where one HTTP listener binds. */
export interface ListenAddress {
  /** The address as given. */
  readonly text: string;
  /** The host to bind; undefined for every address (IPv6 and IPv4). */
  readonly hostname?: string;
  /** The port; 0 for any free one. */
  readonly port: number;
}

/**
 * Splits a listen address into host and port, with Go's
 * `net.SplitHostPort` rules and messages.
 *
 * @param text `host:port`, `[v6]:port` or `:port`
 * @returns host and port
 * @throws {TypeError} `address X: missing port in address` and the like
 */
export function parseListenAddress(text: string): ListenAddress {
  if (text.startsWith("vsock://")) {
    throw new TypeError(
      `Cannot listen on "${text}": vsock addresses are not supported`,
    );
  }
  const fail = (why: string) => new TypeError(`address ${text}: ${why}`);
  const colon = text.lastIndexOf(":");
  if (colon === -1) throw fail("missing port in address");
  let host = text.slice(0, colon);
  // Where a stray bracket may no longer appear.
  let open = 0;
  let close = 0;
  if (text.startsWith("[")) {
    const end = text.indexOf("]");
    if (end === -1) throw fail("missing ']' in address");
    if (end + 1 === text.length) throw fail("missing port in address");
    if (end + 1 !== colon) {
      throw fail(
        text[end + 1] === ":"
          ? "too many colons in address"
          : "missing port in address",
      );
    }
    host = text.slice(1, end);
    open = 1;
    close = end + 1;
  } else if (host.includes(":")) {
    throw fail("too many colons in address");
  }
  if (text.indexOf("[", open) !== -1) throw fail("unexpected '[' in address");
  if (text.indexOf("]", close) !== -1) throw fail("unexpected ']' in address");
  const portText = text.slice(colon + 1);
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw new TypeError(
      `Cannot listen on "${text}": the port must be a number from 0 to 65535`,
    );
  }
  return {
    text,
    port: Number(portText),
    ...(host === "" ? {} : { hostname: host }),
  };
}
