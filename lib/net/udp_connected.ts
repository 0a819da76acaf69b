/**
 * Connected UDP sockets through libc, for the data-plane threads (iperf3's
 * `iperf_udp_accept` / `iperf_udp_connect` design):
 *
 * - A server's UDP streams arrive on one shared port (the hub's socket, which
 *   carries every test's datagrams and so cannot be given to a thread). For
 *   each threaded stream the server opens a socket of its own, bound to the
 *   same address and port with SO_REUSEADDR and `connect()`ed to the
 *   client's address: Linux then delivers that peer's datagrams to the
 *   connected socket (the most specific match) and everything else to the
 *   hub, as before. The hub's socket must carry SO_REUSEADDR too, which
 *   `UdpSocket.bind` sets (iperf3's `netannounce` does the same).
 * - A client's stream socket is Deno's; the thread gets a duplicate, which
 *   is `connect()`ed to the server here so the thread can `sendmmsg` to it
 *   without naming the address in every message.
 *
 * Only on Linux with `--allow-ffi`; {@linkcode connectedUdpUnavailable}
 * says why not elsewhere.
 *
 * @module
 */

import { ipBytes, makeSockAddr, NativeError, SOCKOPT } from "./native.ts";

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  setsockopt: {
    parameters: ["i32", "i32", "i32", "buffer", "u32"],
    result: "i32",
  },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;

let loaded: Libc | string | undefined;

function libc(): Libc {
  if (loaded === undefined) {
    loaded = "libc is not loaded";
    if (Deno.build.os !== "linux") {
      loaded = `connected UDP sockets need Linux, and this is ${Deno.build.os}`;
    } else if (!ffiGranted()) {
      loaded = "connected UDP sockets need Deno's --allow-ffi";
    } else {
      for (const name of ["libc.so.6", "libc.so"]) {
        try {
          loaded = Deno.dlopen(name, SYMBOLS).symbols;
          break;
        } catch (error) {
          loaded = `libc could not be opened: ${String(error)}`;
        }
      }
    }
  }
  if (typeof loaded === "string") throw new Error(loaded);
  return loaded;
}

function ffiGranted(): boolean {
  try {
    return Deno.permissions.querySync({ name: "ffi" }).state === "granted";
  } catch {
    return false;
  }
}

// Opened when the module is first imported (as native.ts does), so a test's
// resource sanitizer never sees the library opened inside a test.
try {
  libc();
} catch {
  // Reported by connectedUdpUnavailable() and by each call.
}

/**
 * Why connected UDP sockets cannot be made here, or undefined when they can.
 *
 * @returns one sentence, or undefined
 */
export function connectedUdpUnavailable(): string | undefined {
  return typeof loaded === "string" ? loaded : undefined;
}

function fail(call: string): NativeError {
  const l = libc();
  const p = l.__errno_location();
  const errno = p ? new Deno.UnsafePointerView(p).getInt32() : 0;
  const text = l.strerror(errno);
  return new NativeError(
    call,
    errno,
    text ? Deno.UnsafePointerView.getCString(text) : `errno ${errno}`,
  );
}

/** Whether an IP literal is IPv4, plain or IPv4-mapped IPv6. */
function isV4(hostname: string): boolean {
  const bytes = ipBytes(hostname);
  if (!bytes) throw new TypeError(`not an IP address: ${hostname}`);
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/** `hostname` in the family of a socket bound to `local` (IPv4 as such, or mapped into IPv6). */
function inFamilyOf(hostname: string, local: string): string {
  const bytes = ipBytes(hostname) as Uint8Array;
  const dotted = `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  if (!isV4(hostname)) return hostname;
  return isV4(local) && !local.includes(":") ? dotted : `::ffff:${dotted}`;
}

/** The local side's hostname as the socket is opened: a mapped IPv4 address as IPv4. */
function localHost(hostname: string): string {
  if (isV4(hostname)) {
    const bytes = ipBytes(hostname) as Uint8Array;
    return `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  }
  return hostname;
}

/**
 * A UDP socket of our own, bound beside the server's shared port and
 * connected to one client. Whoever holds it closes it (once; a second
 * `close()` does nothing); the data-plane thread works on a duplicate.
 */
export class ConnectedUdp implements Disposable {
  /** The descriptor. */
  readonly fd: number;
  #closed = false;

  /**
   * Wraps a descriptor this module opened.
   *
   * @param fd the descriptor
   */
  constructor(fd: number) {
    this.fd = fd;
  }

  /** Closes the socket: the peer's datagrams go to the shared port again. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    libc().close(this.fd);
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Opens a non-blocking UDP socket bound to `local` with SO_REUSEADDR and
 * connected to `peer` (iperf3's `iperf_udp_accept`).
 *
 * @param local the server's address and port (the shared port's)
 * @param peer the client's stream address
 * @returns the socket, owned by the caller
 * @throws {NativeError} when a call fails (EADDRINUSE: the shared socket
 *   lacks SO_REUSEADDR); nothing stays open then
 */
export function openConnectedUdp(
  local: { hostname: string; port: number },
  peer: Deno.NetAddr,
): ConnectedUdp {
  const l = libc();
  const host = localHost(local.hostname);
  const bound = makeSockAddr(host, local.port);
  const dest = makeSockAddr(inFamilyOf(peer.hostname, host), peer.port);
  const fd = l.socket(
    bound.family,
    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
    0,
  );
  if (fd < 0) throw fail("socket");
  try {
    const one = new Uint8Array(new Int32Array([1]).buffer);
    if (
      l.setsockopt(fd, SOCKOPT.SOL_SOCKET, SOCKOPT.SO_REUSEADDR, one, 4) !== 0
    ) {
      throw fail("setsockopt SO_REUSEADDR");
    }
    if (l.bind(fd, bound.buf, bound.buf.byteLength) !== 0) throw fail("bind");
    if (l.connect(fd, dest.buf, dest.buf.byteLength) !== 0) {
      throw fail("connect");
    }
  } catch (error) {
    l.close(fd);
    throw error;
  }
  return new ConnectedUdp(fd);
}

/**
 * `connect()`s a UDP descriptor to `peer`: from then on it sends there
 * without naming it and receives from it only.
 *
 * @param fd a UDP socket's descriptor (the caller keeps owning it)
 * @param peer the address, in the socket's family or IPv4 for a dual-stack one
 * @param local the socket's own address (its family decides how `peer` is written)
 * @throws {NativeError} when the kernel refuses
 */
export function connectUdp(
  fd: number,
  peer: Deno.NetAddr,
  local: Deno.NetAddr,
): void {
  const dest = makeSockAddr(
    inFamilyOf(peer.hostname, localHost(local.hostname)),
    peer.port,
  );
  if (libc().connect(fd, dest.buf, dest.buf.byteLength) !== 0) {
    throw fail("connect");
  }
}
