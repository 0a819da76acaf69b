/**
 * What iperf3 reports about the machine: the `uname` line (`system_info`)
 * and the kernel's default TCP socket buffer sizes (`sndbuf_actual`,
 * `rcvbuf_actual`). Each is read only where the permission was granted
 * up front; nothing here prompts.
 *
 * @module
 */

import { VERSION } from "../version.ts";
import { IPERF_ANNOUNCED_VERSION } from "../protocol/params.ts";

/**
 * The version string iperf-ts reports where iperf3 reports `iperf 3.21`:
 * the first line of `--version`, and `start.version` in the `-J` document.
 */
export const VERSION_STRING =
  `iperf ${IPERF_ANNOUNCED_VERSION} (iperf-ts ${VERSION})`;

function granted(descriptor: Deno.PermissionDescriptor): boolean {
  try {
    return Deno.permissions.querySync(descriptor).state === "granted";
  } catch {
    return false;
  }
}

function readIfAllowed(path: string): string | undefined {
  if (!granted({ name: "read", path })) return undefined;
  try {
    return Deno.readTextFileSync(path).trim();
  } catch {
    return undefined;
  }
}

const SYSNAMES: Readonly<Record<string, string>> = {
  linux: "Linux",
  darwin: "Darwin",
  windows: "Windows",
  freebsd: "FreeBSD",
  netbsd: "NetBSD",
  openbsd: "OpenBSD",
  android: "Linux",
  solaris: "SunOS",
  illumos: "SunOS",
  aix: "AIX",
};

/**
 * The `uname -snrvm` line iperf3 prints (`Linux vm 6.18.44 #1 SMP ... x86_64`).
 * Parts that need a permission not granted are left out.
 *
 * @returns the line
 */
export function systemInfo(): string {
  const parts = [SYSNAMES[Deno.build.os] ?? Deno.build.os];
  if (granted({ name: "sys", kind: "hostname" })) parts.push(Deno.hostname());
  if (granted({ name: "sys", kind: "osRelease" })) parts.push(Deno.osRelease());
  if (Deno.build.os === "linux") {
    const version = readIfAllowed("/proc/sys/kernel/version");
    if (version) parts.push(version);
  }
  parts.push(Deno.build.arch);
  return parts.join(" ");
}

/** The kernel's default TCP send and receive buffer sizes. */
export interface BufferDefaults {
  /** Default SO_SNDBUF of a new TCP socket. */
  sndbuf: number;
  /** Default SO_RCVBUF of a new TCP socket. */
  rcvbuf: number;
}

/**
 * The default buffer sizes of a new TCP socket on Linux (the middle values of
 * `tcp_wmem` and `tcp_rmem`, which is what iperf3 reads back with
 * `getsockopt` when no `-w` is given), or undefined where they cannot be read.
 *
 * @returns the sizes, or undefined
 */
export function tcpBufferDefaults(): BufferDefaults | undefined {
  if (Deno.build.os !== "linux") return undefined;
  const wmem = readIfAllowed("/proc/sys/net/ipv4/tcp_wmem");
  const rmem = readIfAllowed("/proc/sys/net/ipv4/tcp_rmem");
  const sndbuf = Number(wmem?.split(/\s+/)[1]);
  const rcvbuf = Number(rmem?.split(/\s+/)[1]);
  if (!Number.isSafeInteger(sndbuf) || !Number.isSafeInteger(rcvbuf)) {
    return undefined;
  }
  return { sndbuf, rcvbuf };
}
