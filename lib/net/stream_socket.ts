/**
 * iperf3's per-stream socket options (`-w`, `-M`, `-N`, `-C`, `-S`,
 * `--dont-fragment`) and TCP_INFO, applied to the sockets of a test through
 * {@linkcode NativeSockets}. Each function maps a refusal by the kernel to
 * the `i_errno` iperf3 reports for it.
 *
 * @module
 */

import { ERROR_CODES, IperfError } from "../errors.ts";
import type { StreamConn } from "./conn.ts";
import { adoptSocket } from "./bound_conn.ts";
import {
  NativeError,
  type NativeSockets,
  type SocketKind,
  SOCKOPT,
  type TcpInfo,
} from "./native.ts";

const AF_INET6 = 10;
const ENOENT = 2;

/** A data stream's socket, found through libc. */
export class StreamSocket {
  /** The descriptor. */
  readonly fd: number;
  readonly #native: NativeSockets;
  readonly #kind: SocketKind;
  readonly #local: Deno.NetAddr;
  readonly #remote: Deno.NetAddr | undefined;
  readonly #cookie: bigint | undefined;

  /**
   * Creates an instance.
   *
   * @param native libc's socket calls
   * @param fd the descriptor
   * @param kind what the socket is
   * @param local its local address
   * @param remote its peer (TCP connections)
   */
  constructor(
    native: NativeSockets,
    fd: number,
    kind: SocketKind,
    local: Deno.NetAddr,
    remote?: Deno.NetAddr,
  ) {
    this.#native = native;
    this.fd = fd;
    this.#kind = kind;
    this.#local = local;
    this.#remote = remote;
    this.#cookie = native.cookie(fd);
  }

  /** libc's socket calls this socket is read with. */
  get native(): NativeSockets {
    return this.#native;
  }

  /**
   * Whether the descriptor still is this socket (it is never read
   * otherwise): its SO_COOKIE, which also holds after a reset; its addresses
   * on kernels without one.
   */
  get alive(): boolean {
    if (this.#cookie !== undefined) {
      return this.#native.cookie(this.fd) === this.#cookie;
    }
    return this.#native.still(this.fd, this.#kind, this.#local, this.#remote);
  }

  /** TCP_INFO now, or undefined when the socket is gone. */
  tcpInfo(): TcpInfo | undefined {
    return this.alive ? this.#native.tcpInfo(this.fd) : undefined;
  }

  /** The congestion control algorithm in use, or undefined. */
  congestion(): string | undefined {
    return this.alive ? this.#native.congestion(this.fd) : undefined;
  }

  /** SO_SNDBUF and SO_RCVBUF as the kernel reports them (Linux doubles what was set). */
  buffers(): { sndbuf: number; rcvbuf: number } | undefined {
    if (!this.alive) return undefined;
    const { SOL_SOCKET, SO_SNDBUF, SO_RCVBUF } = SOCKOPT;
    const sndbuf = this.#native.getInt(this.fd, SOL_SOCKET, SO_SNDBUF);
    const rcvbuf = this.#native.getInt(this.fd, SOL_SOCKET, SO_RCVBUF);
    if (sndbuf === undefined || rcvbuf === undefined) return undefined;
    return { sndbuf, rcvbuf };
  }

  /**
   * An int option (for checks and `-d`).
   *
   * @param level the protocol level
   * @param name the option
   * @returns the value, or undefined
   */
  getInt(level: number, name: number): number | undefined {
    return this.alive ? this.#native.getInt(this.fd, level, name) : undefined;
  }
}

/**
 * Finds the socket of a TCP connection.
 *
 * @param native libc's socket calls
 * @param conn the connection
 * @returns the socket, or undefined when no descriptor matches
 */
export function locateTcp(
  native: NativeSockets,
  conn: { localAddr: Deno.NetAddr; remoteAddr: Deno.NetAddr },
): StreamSocket | undefined {
  const fd = native.find("tcp", conn.localAddr, conn.remoteAddr);
  return fd === undefined
    ? undefined
    : new StreamSocket(native, fd, "tcp", conn.localAddr, conn.remoteAddr);
}

/**
 * Finds a bound UDP socket.
 *
 * @param native libc's socket calls
 * @param local the socket's local address
 * @returns the socket, or undefined when no descriptor matches
 */
export function locateUdp(
  native: NativeSockets,
  local: Deno.NetAddr,
): StreamSocket | undefined {
  const fd = native.find("udp", local);
  return fd === undefined
    ? undefined
    : new StreamSocket(native, fd, "udp", local);
}

/** The options a test asks for (the parts of its parameters that are socket options). */
export interface SocketTuning {
  /** SO_SNDBUF and SO_RCVBUF (`-w`), 0 for the kernel's default. */
  window: number;
  /** TCP_MAXSEG (`-M`), 0 for the default. */
  mss?: number;
  /** TCP_NODELAY (`-N`). */
  noDelay?: boolean;
  /** IP TOS / IPv6 traffic class (`-S`), 0 for none. */
  tos: number;
  /** TCP congestion control algorithm (`-C`). */
  congestion?: string | undefined;
  /** IPv4 don't-fragment on UDP (`--dont-fragment`). */
  dontFragment?: boolean;
  /** TCP_USER_TIMEOUT in ms (`--snd-timeout`), 0 or absent for the default. */
  userTimeoutMs?: number;
  /** SO_MAX_PACING_RATE in bits/s (`--fq-rate`), 0 or absent for none. */
  fqRate?: number;
  /** SO_BINDTODEVICE before connect (`--bind-dev`). */
  bindDevice?: string | undefined;
  /** An MPTCP socket (IPPROTO_MPTCP) rather than plain TCP (`-m`). */
  mptcp?: boolean;
  /** The IPv6 flow label of the data streams (`-L`), 0 or absent for none. */
  flowLabel?: number;
}

/** `IPPROTO_MPTCP`: Linux 5.6+, where `net.mptcp.enabled` is 1. */
export const IPPROTO_MPTCP = 262;

/** SO_MAX_PACING_RATE as a 32-bit value: bytes per second, at most 2^32-1 (34 Gbit/s). */
const MAX_PACING_BYTES = 0xffff_ffff;

/** `--cntl-ka=IDLE/INTVL/CNT`: 0 keeps the system's value. */
export interface KeepAliveSettings {
  /** TCP_KEEPIDLE, seconds. */
  idle: number;
  /** TCP_KEEPINTVL, seconds. */
  interval: number;
  /** TCP_KEEPCNT. */
  count: number;
}

/**
 * Sets the given keepalive timings on a control connection (SO_KEEPALIVE is
 * switched on through Deno) and reads back what is in effect, as iperf3's
 * `iperf_set_control_keepalive`.
 *
 * @param socket the control connection's socket
 * @param settings the timings, 0 for the system's
 * @returns the timings in effect
 * @throws {IperfError} IECNTLKA when the idle time is not above interval x count, IESETCNTLKA* when the kernel refuses
 */
export function applyKeepAlive(
  socket: StreamSocket,
  settings: KeepAliveSettings,
): KeepAliveSettings {
  const native = socket.native;
  const fd = socket.fd;
  const { IPPROTO_TCP, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT } = SOCKOPT;
  const current = (name: number, code: number) => {
    const v = native.getInt(fd, IPPROTO_TCP, name);
    if (v === undefined) throw new IperfError(code);
    return v;
  };
  const idle = settings.idle ||
    current(TCP_KEEPIDLE, ERROR_CODES.IESETCNTLKAINTERVAL);
  const interval = settings.interval ||
    current(TCP_KEEPINTVL, ERROR_CODES.IESETCNTLKAINTERVAL);
  const count = settings.count ||
    current(TCP_KEEPCNT, ERROR_CODES.IESETCNTLKACOUNT);
  if (settings.idle && settings.idle <= interval * count) {
    throw new IperfError(ERROR_CODES.IECNTLKA, {
      detail:
        `idle ${idle} s is not above interval ${interval} s x count ${count}`,
    });
  }
  const set = (name: number, value: number, code: number) => {
    if (!value) return;
    try {
      native.setInt(fd, IPPROTO_TCP, name, value);
    } catch (error) {
      throw refused(code, error);
    }
  };
  set(TCP_KEEPIDLE, settings.idle, ERROR_CODES.IESETCNTLKAKEEPIDLE);
  set(TCP_KEEPINTVL, settings.interval, ERROR_CODES.IESETCNTLKAINTERVAL);
  set(TCP_KEEPCNT, settings.count, ERROR_CODES.IESETCNTLKACOUNT);
  return { idle, interval, count };
}

function refused(code: number, error: unknown): IperfError {
  return new IperfError(code, {
    detail: error instanceof Error
      ? error.message.replace(/ \(.*\)$/, "")
      : String(error),
    cause: error,
  });
}

/**
 * `--bind-dev`: SO_BINDTODEVICE on a data stream's socket (TCP before
 * connect, UDP before its hello).
 *
 * @param native libc
 * @param fd the descriptor
 * @param device the interface name
 * @throws {IperfError} IESTREAMCONNECT naming the device and the reason
 */
export function bindStreamToDevice(
  native: NativeSockets,
  fd: number,
  device: string,
): void {
  try {
    native.bindToDevice(fd, device);
  } catch (error) {
    throw new IperfError(ERROR_CODES.IESTREAMCONNECT, {
      detail: `--bind-dev ${device}: ${
        error instanceof Error
          ? error.message.replace(/ \(setsockopt\)$/, "")
          : String(error)
      }`,
      cause: error,
    });
  }
}

/**
 * Sets what must be in place before the handshake (iperf3 sets these
 * before `connect()`): TCP_NODELAY, TCP_MAXSEG, SO_RCVBUF, SO_SNDBUF.
 *
 * @param native libc's socket calls
 * @param fd the descriptor
 * @param tuning the options
 * @throws {IperfError} IESETNODELAY, IESETMSS or IESETBUF when the kernel refuses
 */
export function applyBeforeConnect(
  native: NativeSockets,
  fd: number,
  tuning: SocketTuning,
): void {
  const { IPPROTO_TCP, TCP_NODELAY, TCP_MAXSEG } = SOCKOPT;
  if (tuning.bindDevice !== undefined) {
    bindStreamToDevice(native, fd, tuning.bindDevice);
  }
  try {
    if (tuning.noDelay) native.setInt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
  } catch (error) {
    throw refused(ERROR_CODES.IESETNODELAY, error);
  }
  try {
    if (tuning.mss) native.setInt(fd, IPPROTO_TCP, TCP_MAXSEG, tuning.mss);
  } catch (error) {
    throw refused(ERROR_CODES.IESETMSS, error);
  }
  setBuffers(native, fd, tuning.window);
}

function setBuffers(native: NativeSockets, fd: number, window: number): void {
  if (!window) return;
  const { SOL_SOCKET, SO_RCVBUF, SO_SNDBUF } = SOCKOPT;
  try {
    native.setInt(fd, SOL_SOCKET, SO_RCVBUF, window);
    native.setInt(fd, SOL_SOCKET, SO_SNDBUF, window);
  } catch (error) {
    throw refused(ERROR_CODES.IESETBUF, error);
  }
  // iperf3 reads both back and fails when the kernel granted less (its
  // rmem_max/wmem_max caps what an unprivileged process may set).
  const snd = native.getInt(fd, SOL_SOCKET, SO_SNDBUF) ?? 0;
  const rcv = native.getInt(fd, SOL_SOCKET, SO_RCVBUF) ?? 0;
  if (snd < window || rcv < window) {
    throw new IperfError(ERROR_CODES.IESETBUF2, {
      detail:
        `asked for ${window} bytes, the kernel granted ${snd} (send) and ${rcv} (receive); ` +
        `see net.core.wmem_max and net.core.rmem_max`,
    });
  }
}

/**
 * Sets the options iperf3 sets on a connected (or accepted) stream:
 * `-w` where it could not be set before the handshake, TCP_CONGESTION and
 * the TOS byte; then reads the congestion algorithm in use.
 *
 * @param socket the stream's socket
 * @param tuning the options
 * @param options `buffers`: also set `-w` here (an accepted socket or a
 *   connection opened by Deno); `server`: an unknown algorithm only warns,
 *   as iperf3's server does
 * @returns the congestion algorithm in use (TCP), and a warning if any
 * @throws {IperfError} IESETBUF, IESETBUF2, IESETCONGESTION, IESETTOS,
 *   IESETCOS or IESETDONTFRAGMENT when the kernel refuses
 */
export function applyAfterConnect(
  socket: StreamSocket,
  tuning: SocketTuning,
  options: { buffers: boolean; server: boolean; tcp: boolean },
): { congestion?: string; warning?: string } {
  const native = socket.native;
  const fd = socket.fd;
  const out: { congestion?: string; warning?: string } = {};
  if (options.buffers) setBuffers(native, fd, tuning.window);
  // iperf3 converts --fq-rate to bytes/s and only warns when the kernel
  // refuses it. TCP paces itself to it (since Linux 4.13); UDP needs the
  // fq qdisc on the way out.
  const pacing = Math.min(
    MAX_PACING_BYTES,
    Math.floor((tuning.fqRate ?? 0) / 8),
  );
  if (pacing > 0) {
    try {
      native.setInt(fd, SOCKOPT.SOL_SOCKET, SOCKOPT.SO_MAX_PACING_RATE, pacing);
    } catch {
      out.warning = "Unable to set socket pacing";
    }
  }
  if (options.tcp && tuning.userTimeoutMs) {
    try {
      native.setInt(
        fd,
        SOCKOPT.IPPROTO_TCP,
        SOCKOPT.TCP_USER_TIMEOUT,
        tuning.userTimeoutMs,
      );
    } catch (error) {
      throw refused(ERROR_CODES.IESETUSERTIMEOUT, error);
    }
  }
  if (options.tcp && tuning.congestion) {
    try {
      native.setCongestion(fd, tuning.congestion);
    } catch (error) {
      if (
        options.server && error instanceof NativeError &&
        error.errno === ENOENT
      ) {
        out.warning = "TCP congestion control algorithm not supported";
      } else {
        throw new IperfError(ERROR_CODES.IESETCONGESTION, { cause: error });
      }
    }
  }
  if (tuning.tos) {
    const v6 = native.family(fd) === AF_INET6;
    try {
      if (v6) {
        native.setInt(
          fd,
          SOCKOPT.IPPROTO_IPV6,
          SOCKOPT.IPV6_TCLASS,
          tuning.tos,
        );
      } else {
        native.setInt(fd, SOCKOPT.IPPROTO_IP, SOCKOPT.IP_TOS, tuning.tos);
      }
    } catch (error) {
      throw refused(v6 ? ERROR_CODES.IESETCOS : ERROR_CODES.IESETTOS, error);
    }
  }
  if (!options.tcp && tuning.dontFragment && native.family(fd) !== AF_INET6) {
    try {
      native.setInt(
        fd,
        SOCKOPT.IPPROTO_IP,
        SOCKOPT.IP_MTU_DISCOVER,
        SOCKOPT.IP_PMTUDISC_DO,
      );
    } catch (error) {
      throw refused(ERROR_CODES.IESETDONTFRAGMENT, error);
    }
  }
  if (options.tcp) {
    const used = native.congestion(fd);
    if (used !== undefined) out.congestion = used;
    else if (tuning.congestion && !options.server) {
      throw new IperfError(ERROR_CODES.IESETCONGESTION);
    }
  }
  return out;
}

/** iperf3's IESETFLOW for a flow label the socket cannot take (an IPv4 peer, the kernel's refusal). */
function flowLabelled(open: () => number): number {
  try {
    return open();
  } catch (error) {
    if (error instanceof NativeError && error.message.endsWith("(flowlabel)")) {
      throw new IperfError(ERROR_CODES.IESETFLOW, {
        detail: error.message.replace(/ \(flowlabel\)$/, ""),
        cause: error,
      });
    }
    throw error;
  }
}

/** How often a native connect is checked for completion: from 1 ms, doubling up to 50 ms. */
const CONNECT_POLL_MS = 1;
const CONNECT_POLL_MAX_MS = 50;

/**
 * Connects a TCP stream the way iperf3 does when options must precede the
 * handshake (`-M`): a socket of our own, options set, bound if asked, then
 * connected and handed to Deno's `node:net` to carry the data.
 *
 * @param native libc's socket calls
 * @param hostname the server's IP address
 * @param port the server's port
 * @param options options to set, local address/port, abort signal
 * @returns the connection and its socket
 * @throws {IperfError} when an option is refused
 * @throws {NativeError} when the connection fails
 */
export async function connectTuned(
  native: NativeSockets,
  hostname: string,
  port: number,
  options: {
    tuning: SocketTuning;
    localAddress?: string | undefined;
    localPort?: number | undefined;
    signal?: AbortSignal | undefined;
  },
): Promise<{ conn: StreamConn; socket: StreamSocket }> {
  const fd = flowLabelled(() =>
    native.startConnect(hostname, port, {
      localAddress: options.localAddress,
      localPort: options.localPort,
      configure: (fd) => applyBeforeConnect(native, fd, options.tuning),
      ...(options.tuning.mptcp ? { protocol: IPPROTO_MPTCP } : {}),
      ...(options.tuning.flowLabel
        ? { flowLabel: options.tuning.flowLabel }
        : {}),
    })
  );
  let adopted = false;
  try {
    let waitMs = CONNECT_POLL_MS;
    while (!native.connectDone(fd)) {
      options.signal?.throwIfAborted();
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      waitMs = Math.min(waitMs * 2, CONNECT_POLL_MAX_MS);
    }
    // An abort that came while the last wait ran: nobody takes the socket.
    options.signal?.throwIfAborted();
    const conn = adoptSocket(fd);
    adopted = true;
    const socket = new StreamSocket(
      native,
      fd,
      "tcp",
      conn.localAddr,
      conn.remoteAddr,
    );
    return { conn, socket };
  } finally {
    if (!adopted) native.close(fd);
  }
}
