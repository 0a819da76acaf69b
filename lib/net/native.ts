/**
 * Linux socket options and `TCP_INFO` through libc (`Deno.dlopen`), for the
 * sockets Deno opened: Deno's connections expose no descriptor, so each one
 * is found by asking every descriptor of the process for its addresses
 * (`getsockname`/`getpeername`) and matching the connection's 4-tuple. The
 * match is checked again before every read, so a descriptor that was closed
 * and reused is never read as the old socket.
 *
 * Only on Linux and only where `--allow-ffi` is granted; everywhere else
 * {@linkcode nativeSockets} returns `undefined` and
 * {@linkcode nativeUnavailableReason} says why.
 *
 * @module
 */

/** Protocol levels and option names (Linux values, the same on every architecture Deno runs on). */
export const SOCKOPT = {
  SOL_SOCKET: 1,
  SO_TYPE: 3,
  SO_ERROR: 4,
  SO_SNDBUF: 7,
  SO_RCVBUF: 8,
  SO_ACCEPTCONN: 30,
  SO_MAX_PACING_RATE: 47,
  SO_BINDTODEVICE: 25,
  SO_PROTOCOL: 38,
  SO_COOKIE: 57,
  IPPROTO_IP: 0,
  IP_TOS: 1,
  IP_MTU_DISCOVER: 10,
  IP_PMTUDISC_DO: 2,
  IPPROTO_IPV6: 41,
  IPV6_TCLASS: 67,
  IPPROTO_TCP: 6,
  TCP_NODELAY: 1,
  TCP_MAXSEG: 2,
  TCP_KEEPIDLE: 4,
  TCP_KEEPINTVL: 5,
  TCP_KEEPCNT: 6,
  TCP_INFO: 11,
  TCP_CONGESTION: 13,
  TCP_USER_TIMEOUT: 18,
  SO_REUSEADDR: 2,
  IPPROTO_UDP: 17,
  UDP_SEGMENT: 103,
  UDP_GRO: 104,
} as const;

const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
/** Not inherited by processes we start (Deno's own sockets are not either). */
const SOCK_CLOEXEC = 0o2000000;
const EBADF = 9;
const ENOENT = 2;
const EINPROGRESS = 115;
const ENOTCONN = 107;

/** The size of the `struct tcp_info` prefix read (Linux 5.4+ layout up to `tcpi_snd_wnd`). */
const TCP_INFO_SIZE = 232;

/** Descriptors are handed out lowest first; after this many closed ones in a row there are no more. */
const CLOSED_RUN_END = 1024;

/** Never scan past this descriptor. */
const MAX_FD = 1 << 20;

const SYMBOLS = {
  getsockopt: {
    parameters: ["i32", "i32", "i32", "buffer", "buffer"],
    result: "i32",
  },
  setsockopt: {
    parameters: ["i32", "i32", "i32", "buffer", "u32"],
    result: "i32",
  },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  getpeername: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "pointer"], result: "i32" },
  sched_setaffinity: { parameters: ["i32", "usize", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** The figures iperf3 takes from Linux `struct tcp_info`. */
export interface TcpInfo {
  /** `tcpi_total_retrans`: segments retransmitted since the connection opened. */
  totalRetrans: number;
  /** `tcpi_snd_cwnd × tcpi_snd_mss`: the congestion window in bytes. */
  sndCwnd: number;
  /** `tcpi_snd_wnd`: the peer's advertised window in bytes (0 on kernels before 5.4). */
  sndWnd: number;
  /** `tcpi_reord_seen`: reordering events seen (0 on kernels before 4.19); iperf3 3.21's `reorder`. */
  reordSeen: number;
  /** `tcpi_rtt`: smoothed round-trip time in microseconds. */
  rtt: number;
  /** `tcpi_rttvar`: round-trip time variation in microseconds. */
  rttvar: number;
  /** `tcpi_rcv_rtt`: the receiver's estimate of the round-trip time in microseconds (0 before one). */
  rcvRtt: number;
  /** `tcpi_min_rtt`: the smallest RTT sample of the last few minutes, the handshake's included, in microseconds (0 on kernels before 4.10). */
  minRtt: number;
  /** `tcpi_pmtu`: path MTU in bytes. */
  pmtu: number;
  /** `tcpi_snd_mss`: the MSS used for sending. */
  sndMss: number;
  /** `tcpi_bytes_acked`: bytes the peer acknowledged. */
  bytesAcked: number;
}

/** An OS error of a libc call: `code` is the errno name's number, the message is `strerror`. */
export class NativeError extends Error {
  /** The errno value. */
  readonly errno: number;

  /**
   * Creates an instance.
   *
   * @param call the libc call that failed
   * @param errno its errno
   * @param text `strerror(errno)`
   */
  constructor(call: string, errno: number, text: string) {
    super(`${text} (${call})`);
    this.name = "NativeError";
    this.errno = errno;
  }
}

let loaded: { libc: Libc } | { reason: string } | undefined;

/**
 * libc's socket calls, or `undefined` when they cannot be used here (not
 * Linux, `--allow-ffi` not granted, libc not found).
 *
 * @returns the handle, loaded once
 */
export function nativeSockets(): NativeSockets | undefined {
  const l = load();
  if (!("libc" in l)) return undefined;
  // One instance: its scratch buffers are reused by every call (all calls
  // are synchronous on the one JS thread).
  shared ??= new NativeSockets(l.libc);
  return shared;
}

let shared: NativeSockets | undefined;

/**
 * Why {@linkcode nativeSockets} returns `undefined`, or `undefined` when it
 * does not.
 *
 * @returns one sentence, or undefined
 */
export function nativeUnavailableReason(): string | undefined {
  const l = load();
  return "reason" in l ? l.reason : undefined;
}

function load(): { libc: Libc } | { reason: string } {
  if (loaded) return loaded;
  if (Deno.build.os !== "linux") {
    loaded = {
      reason: `socket options and TCP_INFO are read through Linux's libc, ` +
        `and this is ${Deno.build.os}`,
    };
    return loaded;
  }
  let granted = false;
  try {
    granted = Deno.permissions.querySync({ name: "ffi" }).state === "granted";
  } catch {
    granted = false;
  }
  if (!granted) {
    loaded = {
      reason: "socket options and TCP_INFO need Deno's --allow-ffi",
    };
    return loaded;
  }
  let lastError = "";
  for (const name of ["libc.so.6", "libc.so"]) {
    try {
      loaded = { libc: Deno.dlopen(name, SYMBOLS).symbols };
      return loaded;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
  }
  loaded = { reason: `libc could not be opened: ${lastError}` };
  return loaded;
}

// Loaded once, when this module is first imported: the library stays open
// for the life of the process (and a test's resource sanitizer does not
// see a library opened during the test).
load();

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * An address as 16 bytes (IPv4 as IPv4-mapped IPv6) plus the port, as a
 * string key; `undefined` for a hostname that is not an IP literal.
 *
 * @param hostname an IPv4 or IPv6 literal (brackets and a zone are ignored)
 * @param port the port
 * @returns the key
 */
export function addressKey(hostname: string, port: number): string | undefined {
  const bytes = ipBytes(hostname);
  return bytes ? `${hex(bytes)}:${port}` : undefined;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function ipv4(text: string): number[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  return parts.every((p) => p <= 255) ? parts : undefined;
}

/**
 * Parses an IP literal into 16 bytes.
 *
 * @param hostname IPv4 (mapped into IPv6) or IPv6 text
 * @returns the bytes, or undefined when it is not an IP literal
 */
export function ipBytes(hostname: string): Uint8Array | undefined {
  let text = hostname.replace(/^\[/, "").replace(/\]$/, "").replace(
    /%.*$/,
    "",
  );
  const out = new Uint8Array(16);
  const v4 = ipv4(text);
  if (v4) {
    out[10] = 0xff;
    out[11] = 0xff;
    out.set(v4, 12);
    return out;
  }
  if (!text.includes(":")) return undefined;
  let tail: number[] = [];
  const embedded = /:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (embedded) {
    const parts = ipv4(embedded[1] as string);
    if (!parts) return undefined;
    tail = parts;
    text = text.slice(0, text.length - (embedded[1] as string).length) + "0:0";
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string) => s === "" ? [] : s.split(":");
  const head = groups(halves[0] as string);
  const rest = halves.length === 2 ? groups(halves[1] as string) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [
    ...head,
    ...Array<string>(halves.length === 2 ? missing : 0)
      .fill("0"),
    ...rest,
  ];
  for (let i = 0; i < 8; i++) {
    const g = all[i] as string;
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  }
  if (tail.length) out.set(tail, 12);
  return out;
}

/** A socket's address as libc returned it. */
interface SockAddr {
  family: number;
  key: string;
}

function parseSockAddr(buf: Uint8Array, len: number): SockAddr | undefined {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const family = view.getUint16(0, LITTLE_ENDIAN);
  const port = view.getUint16(2, false);
  const bytes = new Uint8Array(16);
  if (family === AF_INET && len >= 8) {
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    bytes.set(buf.subarray(4, 8), 12);
  } else if (family === AF_INET6 && len >= 24) {
    bytes.set(buf.subarray(8, 24));
  } else {
    return undefined;
  }
  return { family, key: `${hex(bytes)}:${port}` };
}

/**
 * A `struct sockaddr_in` (IPv4 literals) or `sockaddr_in6` for an address.
 *
 * @param hostname an IP literal
 * @param port the port
 * @returns the bytes and the address family
 * @throws {TypeError} when `hostname` is not an IP literal
 */
export function makeSockAddr(
  hostname: string,
  port: number,
): { buf: Uint8Array; family: number } {
  const bytes = ipBytes(hostname);
  if (!bytes) throw new TypeError(`not an IP address: ${hostname}`);
  const v4 = hostname.includes(":") ? undefined : ipv4(hostname);
  if (v4) {
    const buf = new Uint8Array(16);
    new DataView(buf.buffer).setUint16(0, AF_INET, LITTLE_ENDIAN);
    new DataView(buf.buffer).setUint16(2, port, false);
    buf.set(v4, 4);
    return { buf, family: AF_INET };
  }
  const buf = new Uint8Array(28);
  new DataView(buf.buffer).setUint16(0, AF_INET6, LITTLE_ENDIAN);
  new DataView(buf.buffer).setUint16(2, port, false);
  buf.set(bytes, 8);
  return { buf, family: AF_INET6 };
}

/** An address to look for: 16 bytes (IPv4 mapped) and the port. */
interface Target {
  bytes: Uint8Array;
  port: number;
}

function target(addr: Deno.NetAddr): Target | undefined {
  const bytes = ipBytes(addr.hostname);
  return bytes ? { bytes, port: addr.port } : undefined;
}

/** What to look for: a connected TCP socket, a listening TCP socket, or a UDP socket. */
export type SocketKind = "tcp" | "listener" | "udp";

/** libc's socket calls (see {@linkcode nativeSockets}). */
export class NativeSockets {
  readonly #libc: Libc;
  readonly #addr = new Uint8Array(128);
  readonly #len = new Uint32Array(1);
  readonly #lenBytes = new Uint8Array(this.#len.buffer);
  readonly #int = new Int32Array(1);
  #errnoView: Deno.UnsafePointerView | undefined;

  /**
   * Creates an instance.
   *
   * @param libc the loaded symbols
   */
  constructor(libc: Libc) {
    this.#libc = libc;
  }

  /** errno of the last failed call (this thread's; JS runs on one thread). */
  #errno(): number {
    if (!this.#errnoView) {
      const p = this.#libc.__errno_location();
      if (!p) return 0;
      this.#errnoView = new Deno.UnsafePointerView(p);
    }
    return this.#errnoView.getInt32();
  }

  #error(call: string): NativeError {
    const errno = this.#errno();
    const p = this.#libc.strerror(errno);
    const text = p ? Deno.UnsafePointerView.getCString(p) : `errno ${errno}`;
    return new NativeError(call, errno, text);
  }

  /** getsockname/getpeername into `#addr`; returns its length, or -errno. */
  #nameInto(fd: number, peer: boolean): number {
    this.#len[0] = this.#addr.byteLength;
    const call = peer ? this.#libc.getpeername : this.#libc.getsockname;
    if (call(fd, this.#addr, this.#lenBytes) !== 0) return -this.#errno();
    return this.#len[0] as number;
  }

  #name(fd: number, peer: boolean): SockAddr | undefined {
    const len = this.#nameInto(fd, peer);
    return len < 0 ? undefined : parseSockAddr(this.#addr, len);
  }

  /** Whether `#addr` (of length `len`) holds `want` (16 bytes + port). */
  #addrIs(len: number, want: Target): boolean {
    const a = this.#addr;
    if ((a[2] as number) * 256 + (a[3] as number) !== want.port) return false;
    const family = new DataView(a.buffer).getUint16(0, LITTLE_ENDIAN);
    const b = want.bytes;
    if (family === AF_INET && len >= 8) {
      for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
      if (b[10] !== 0xff || b[11] !== 0xff) return false;
      for (let i = 0; i < 4; i++) if (a[4 + i] !== b[12 + i]) return false;
      return true;
    }
    if (family === AF_INET6 && len >= 24) {
      for (let i = 0; i < 16; i++) if (a[8 + i] !== b[i]) return false;
      return true;
    }
    return false;
  }

  /**
   * The descriptor of the socket with this local (and, for TCP connections,
   * remote) address, found by asking each descriptor in turn.
   *
   * @param kind a TCP connection, a TCP listener or a UDP socket
   * @param local the socket's local address (as Deno reports it)
   * @param remote the peer's address (TCP connections)
   * @returns the descriptor, or undefined when no socket matches
   */
  find(
    kind: SocketKind,
    local: Deno.NetAddr,
    remote?: Deno.NetAddr,
  ): number | undefined {
    const want = target(local);
    const peer = remote && target(remote);
    if (!want || (kind === "tcp" && !peer)) return undefined;
    let closedRun = 0;
    for (let fd = 0; fd < MAX_FD && closedRun < CLOSED_RUN_END; fd++) {
      const len = this.#nameInto(fd, false);
      if (len < 0) {
        closedRun = -len === EBADF ? closedRun + 1 : 0;
        continue;
      }
      closedRun = 0;
      if (this.#addrIs(len, want) && this.#kindMatches(fd, kind, peer)) {
        return fd;
      }
    }
    return undefined;
  }

  #kindMatches(fd: number, kind: SocketKind, peer?: Target): boolean {
    const type = this.getInt(fd, SOCKOPT.SOL_SOCKET, SOCKOPT.SO_TYPE);
    if (kind === "udp") return type === SOCK_DGRAM;
    if (type !== SOCK_STREAM) return false;
    const listening =
      this.getInt(fd, SOCKOPT.SOL_SOCKET, SOCKOPT.SO_ACCEPTCONN) === 1;
    if (kind === "listener") return listening;
    if (listening || !peer) return false;
    const len = this.#nameInto(fd, true);
    return len >= 0 && this.#addrIs(len, peer);
  }

  /**
   * Whether `fd` still is the socket {@linkcode find} matched, by its
   * addresses (see {@linkcode NativeSockets.cookie} for the better test).
   *
   * @param fd the descriptor
   * @param kind the socket's kind
   * @param local its local address
   * @param remote its peer (TCP connections)
   * @returns true when it still matches
   */
  still(
    fd: number,
    kind: SocketKind,
    local: Deno.NetAddr,
    remote?: Deno.NetAddr,
  ): boolean {
    const want = target(local);
    if (!want) return false;
    const len = this.#nameInto(fd, false);
    if (len < 0 || !this.#addrIs(len, want)) return false;
    const peer = remote && target(remote);
    return this.#kindMatches(fd, kind, peer);
  }

  /**
   * The socket's SO_COOKIE: a number the kernel gives each socket once, so it
   * tells a socket from a later one on the same descriptor, and stays
   * readable after a reset (when getpeername no longer answers).
   *
   * @param fd the descriptor
   * @returns the cookie, or undefined where the kernel has none (before 4.13)
   */
  cookie(fd: number): bigint | undefined {
    const buf = new BigUint64Array(1);
    this.#len[0] = 8;
    const r = this.#libc.getsockopt(
      fd,
      SOCKOPT.SOL_SOCKET,
      SOCKOPT.SO_COOKIE,
      new Uint8Array(buf.buffer),
      this.#lenBytes,
    );
    return r === 0 && this.#len[0] === 8 ? buf[0] : undefined;
  }

  /**
   * The address family of a socket (2 = IPv4, 10 = IPv6).
   *
   * @param fd the descriptor
   * @returns the family, or undefined
   */
  family(fd: number): number | undefined {
    return this.#name(fd, false)?.family;
  }

  /**
   * `getsockopt` of an int option.
   *
   * @param fd the descriptor
   * @param level the protocol level
   * @param name the option
   * @returns the value, or undefined when the call fails
   */
  getInt(fd: number, level: number, name: number): number | undefined {
    this.#len[0] = 4;
    const r = this.#libc.getsockopt(
      fd,
      level,
      name,
      new Uint8Array(this.#int.buffer),
      new Uint8Array(this.#len.buffer),
    );
    return r === 0 ? this.#int[0] : undefined;
  }

  /**
   * `setsockopt` of an int option.
   *
   * @param fd the descriptor
   * @param level the protocol level
   * @param name the option
   * @param value the value
   * @throws {NativeError} when the kernel refuses it
   */
  setInt(fd: number, level: number, name: number, value: number): void {
    this.#int[0] = value;
    const r = this.#libc.setsockopt(
      fd,
      level,
      name,
      new Uint8Array(this.#int.buffer),
      4,
    );
    if (r !== 0) throw this.#error("setsockopt");
  }

  /**
   * The socket's TCP congestion control algorithm.
   *
   * @param fd the descriptor
   * @returns its name, or undefined when it cannot be read
   */
  congestion(fd: number): string | undefined {
    const buf = new Uint8Array(16);
    this.#len[0] = buf.byteLength;
    const r = this.#libc.getsockopt(
      fd,
      SOCKOPT.IPPROTO_TCP,
      SOCKOPT.TCP_CONGESTION,
      buf,
      new Uint8Array(this.#len.buffer),
    );
    if (r !== 0) return undefined;
    const end = buf.indexOf(0);
    return new TextDecoder().decode(
      buf.subarray(0, end < 0 ? buf.length : end),
    );
  }

  /**
   * Sets the socket's TCP congestion control algorithm.
   *
   * @param fd the descriptor
   * @param algorithm its name (e.g. `cubic`)
   * @throws {NativeError} when the kernel refuses it (ENOENT: not available)
   */
  setCongestion(fd: number, algorithm: string): void {
    const bytes = new TextEncoder().encode(algorithm);
    const r = this.#libc.setsockopt(
      fd,
      SOCKOPT.IPPROTO_TCP,
      SOCKOPT.TCP_CONGESTION,
      bytes,
      bytes.byteLength,
    );
    if (r !== 0) throw this.#error("setsockopt TCP_CONGESTION");
  }

  /**
   * Reads `TCP_INFO`.
   *
   * @param fd the descriptor
   * @returns the figures, or undefined when the call fails
   */
  tcpInfo(fd: number): TcpInfo | undefined {
    const buf = new Uint8Array(TCP_INFO_SIZE);
    this.#len[0] = TCP_INFO_SIZE;
    const r = this.#libc.getsockopt(
      fd,
      SOCKOPT.IPPROTO_TCP,
      SOCKOPT.TCP_INFO,
      buf,
      new Uint8Array(this.#len.buffer),
    );
    if (r !== 0) return undefined;
    const len = this.#len[0] as number;
    const v = new DataView(buf.buffer);
    const u32 = (at: number) =>
      at + 4 <= len ? v.getUint32(at, LITTLE_ENDIAN) : 0;
    const sndMss = u32(16);
    return {
      totalRetrans: u32(100),
      sndCwnd: u32(80) * sndMss,
      sndWnd: u32(228),
      reordSeen: u32(220),
      rtt: u32(68),
      rttvar: u32(72),
      rcvRtt: u32(92),
      minRtt: u32(148),
      pmtu: u32(60),
      sndMss,
      bytesAcked: len >= 128 ? Number(v.getBigUint64(120, LITTLE_ENDIAN)) : 0,
    };
  }

  /**
   * Opens a non-blocking TCP socket, lets `configure` set options on it, binds
   * it if asked, and starts connecting (socket options such as TCP_MAXSEG
   * and the window scale only take effect before the handshake).
   *
   * @param hostname the server's IP address
   * @param port the server's port
   * @param options local address/port to bind, a hook to set options
   * @returns the descriptor, connected once {@linkcode connectDone} says so
   * @throws {NativeError} when a call fails (the descriptor is closed)
   */
  startConnect(
    hostname: string,
    port: number,
    options: {
      localAddress?: string | undefined;
      localPort?: number | undefined;
      configure?: (fd: number) => void;
      /** IPPROTO_MPTCP (262) for `-m`; 0 (plain TCP) when absent. */
      protocol?: number;
      /** An IPv6 flow label (`-L`): leased with IPV6_FLOWLABEL_MGR and sent in `sin6_flowinfo`. */
      flowLabel?: number;
    } = {},
  ): number {
    const dest = makeSockAddr(hostname, port);
    if (options.flowLabel && dest.family !== AF_INET6) {
      throw new NativeError("flowlabel", 97, "Address family not supported");
    }
    const fd = this.#libc.socket(
      dest.family,
      SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
      options.protocol ?? 0,
    );
    if (fd < 0) throw this.#error("socket");
    try {
      if (options.flowLabel) {
        this.#leaseFlowLabel(fd, dest.buf, options.flowLabel);
      }
      options.configure?.(fd);
      if (options.localAddress !== undefined || options.localPort) {
        const host = options.localAddress ??
          (dest.family === AF_INET ? "0.0.0.0" : "::");
        const local = makeSockAddr(host, options.localPort ?? 0);
        if (local.family !== dest.family) {
          throw new NativeError("bind", 97, "Address family not supported");
        }
        if (this.#libc.bind(fd, local.buf, local.buf.byteLength) !== 0) {
          throw this.#error("bind");
        }
      }
      const r = this.#libc.connect(fd, dest.buf, dest.buf.byteLength);
      if (r !== 0 && this.#errno() !== EINPROGRESS) {
        throw this.#error("connect");
      }
      return fd;
    } catch (error) {
      this.#libc.close(fd);
      throw error;
    }
  }

  /**
   * Whether a connect started by {@linkcode startConnect} has finished.
   *
   * @param fd the descriptor
   * @returns true once connected
   * @throws {NativeError} when the connect failed
   */
  connectDone(fd: number): boolean {
    if (this.#name(fd, true)) return true;
    if (this.#errno() !== ENOTCONN) throw this.#error("getpeername");
    const err = this.getInt(fd, SOCKOPT.SOL_SOCKET, SOCKOPT.SO_ERROR) ?? 0;
    if (err !== 0) {
      const p = this.#libc.strerror(err);
      throw new NativeError(
        "connect",
        err,
        p ? Deno.UnsafePointerView.getCString(p) : `errno ${err}`,
      );
    }
    return false;
  }

  /**
   * The buffer sizes a new TCP (or UDP) socket of this address family gets, after
   * asking for `window` bytes (what iperf3's server reports from the
   * listener it re-creates for a test).
   *
   * @param hostname an address of the family (the control connection's)
   * @param window SO_SNDBUF/SO_RCVBUF to ask for, 0 for the defaults
   * @param udp a UDP socket rather than TCP
   * @returns the sizes as the kernel reports them, or undefined
   */
  probeBuffers(
    hostname: string,
    window: number,
    udp = false,
  ): { sndbuf: number; rcvbuf: number } | undefined {
    const family = ipv4(hostname.replace(/^::ffff:/i, "")) &&
        !hostname.includes(":")
      ? AF_INET
      : AF_INET6;
    const fd = this.#libc.socket(
      family,
      (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC,
      0,
    );
    if (fd < 0) return undefined;
    try {
      const { SOL_SOCKET, SO_SNDBUF, SO_RCVBUF } = SOCKOPT;
      if (window) {
        try {
          this.setInt(fd, SOL_SOCKET, SO_RCVBUF, window);
          this.setInt(fd, SOL_SOCKET, SO_SNDBUF, window);
        } catch {
          // Reported as granted below.
        }
      }
      const sndbuf = this.getInt(fd, SOL_SOCKET, SO_SNDBUF);
      const rcvbuf = this.getInt(fd, SOL_SOCKET, SO_RCVBUF);
      return sndbuf === undefined || rcvbuf === undefined
        ? undefined
        : { sndbuf, rcvbuf };
    } finally {
      this.#libc.close(fd);
    }
  }

  /**
   * Closes a descriptor this module opened and nobody adopted.
   *
   * @param fd the descriptor
   */
  close(fd: number): void {
    this.#libc.close(fd);
  }

  /**
   * A second descriptor for the same socket, close-on-exec
   * (`fcntl(F_DUPFD_CLOEXEC)`): whoever holds it closes it, and the socket
   * lives until both are closed.
   *
   * @param fd the descriptor
   * @returns the new descriptor
   * @throws {NativeError} when the process is out of descriptors
   */
  dup(fd: number): number {
    const F_DUPFD_CLOEXEC = 1030;
    const copy = this.#libc.fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (copy < 0) throw this.#error("fcntl");
    return copy;
  }

  /**
   * Leases `label` for the destination in `dest` (a `sockaddr_in6`), writes
   * it into `dest`'s `sin6_flowinfo` and turns IPV6_FLOWINFO_SEND on, as
   * iperf3's `-L` does (linux/in6.h `struct in6_flowlabel_req`).
   */
  #leaseFlowLabel(fd: number, dest: Uint8Array, label: number): void {
    const IPV6_FLOWLABEL_MGR = 32;
    const IPV6_FLOWINFO_SEND = 33;
    const req = new Uint8Array(32);
    const view = new DataView(req.buffer);
    req.set(dest.subarray(8, 24), 0); // flr_dst
    view.setUint32(16, label & 0xfffff, false); // flr_label, network order
    req[20] = 0; // flr_action: IPV6_FL_A_GET
    req[21] = 255; // flr_share: IPV6_FL_S_ANY
    view.setUint16(22, 1, LITTLE_ENDIAN); // flr_flags: IPV6_FL_F_CREATE
    if (
      this.#libc.setsockopt(
        fd,
        SOCKOPT.IPPROTO_IPV6,
        IPV6_FLOWLABEL_MGR,
        req,
        32,
      ) !== 0
    ) {
      throw this.#error("flowlabel");
    }
    dest.set(req.subarray(16, 20), 4); // sin6_flowinfo
    this.setInt(fd, SOCKOPT.IPPROTO_IPV6, IPV6_FLOWINFO_SEND, 1);
  }

  /**
   * SO_BINDTODEVICE: the socket sends and receives only through the
   * network interface `device` (`--bind-dev`).
   *
   * @param fd the descriptor
   * @param device the interface's name, as `ip link` shows it
   * @throws {NativeError} when the kernel refuses (ENODEV: no such device)
   */
  bindToDevice(fd: number, device: string): void {
    const name = new TextEncoder().encode(`${device}\0`);
    const r = this.#libc.setsockopt(
      fd,
      SOCKOPT.SOL_SOCKET,
      SOCKOPT.SO_BINDTODEVICE,
      name,
      name.byteLength,
    );
    if (r !== 0) throw this.#error("setsockopt");
  }

  /**
   * Pins the calling thread to one CPU (`sched_setaffinity(0)`, as iperf3's
   * `-A`). Threads it starts afterwards inherit the mask: the data-plane
   * Workers, which move the bytes; threads Deno started before keep theirs.
   *
   * @param cpu the CPU number (0-1023)
   * @throws {NativeError} when the kernel refuses (EINVAL: no such CPU)
   */
  pinToCpu(cpu: number): void {
    const mask = new Uint8Array(128);
    mask[cpu >> 3] = 1 << (cpu & 7);
    if (this.#libc.sched_setaffinity(0, BigInt(mask.byteLength), mask) !== 0) {
      throw this.#error("sched_setaffinity");
    }
  }

  /**
   * Takes sockets out of every epoll set of this process that watches them
   * (Deno's event loops), so no event loop wakes for the segments a
   * data-plane thread moves on their duplicates (a receiving TcpConn woke
   * the server's main thread for each, a third of a core at 34 Gbit/s). The
   * sockets stay open; nothing may read or write them through Deno again
   * (a read would wait for an event that never comes), only close them,
   * which takes them out of the set once more (tokio ignores the ENOENT).
   *
   * Each descriptor in turn is asked to take the first socket out:
   * EINVAL says it is no epoll set, 0 or ENOENT that it is one.
   *
   * @param fds the sockets' descriptors, as Deno holds them (not duplicates)
   * @returns how many were taken out of a set
   */
  unwatch(fds: readonly number[]): number {
    const EPOLL_CTL_DEL = 2;
    const [first] = fds;
    if (first === undefined) return 0;
    let taken = 0;
    let closedRun = 0;
    for (let ep = 0; ep < MAX_FD && closedRun < CLOSED_RUN_END; ep++) {
      if (fds.includes(ep)) continue;
      const r = this.#libc.epoll_ctl(ep, EPOLL_CTL_DEL, first, null);
      if (r !== 0) {
        const errno = this.#errno();
        closedRun = errno === EBADF ? closedRun + 1 : 0;
        if (errno !== ENOENT) continue;
      } else {
        closedRun = 0;
        taken++;
      }
      for (const fd of fds.slice(1)) {
        if (this.#libc.epoll_ctl(ep, EPOLL_CTL_DEL, fd, null) === 0) taken++;
      }
    }
    return taken;
  }
}
