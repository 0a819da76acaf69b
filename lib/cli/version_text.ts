/**
 * What `--version` prints, in iperf3 3.21's three lines: the version (with
 * iperf-ts's own after iperf3's, as `iperf 3.21 (iperf-ts 0.1.0)`), the
 * `uname` line, and the optional features this process really has.
 *
 * @module
 */

import { nativeSockets } from "../net/native.ts";
import { systemInfo, VERSION_STRING } from "../report/system_info.ts";

/**
 * iperf3 3.21's "Optional features available" names that iperf-ts has
 * here, in iperf3's order (`get_optional_features`). All but
 * authentication go through libc (Linux with `--allow-ffi`): CPU affinity,
 * flow labels, congestion control, socket pacing (`--fq-rate`), binding to a
 * device (the client's streams), don't-fragment, the data-plane threads and
 * GSO/GRO. SCTP and sendfile are not implemented.
 *
 * @returns the names, `["None"]` when there are none
 */
export function optionalFeatures(): string[] {
  const native = nativeSockets() !== undefined;
  const features = [
    ...(native
      ? [
        "CPU affinity setting",
        "IPv6 flow label",
        "TCP congestion algorithm setting",
        "socket pacing",
      ]
      : []),
    "authentication",
    ...(native
      ? [
        "bind to device",
        "support IPv4 don't fragment",
        "POSIX threads",
        "GSO/GRO support",
      ]
      : []),
  ];
  return features.length > 0 ? features : ["None"];
}

/**
 * The `--version` text.
 *
 * @returns three lines, each ending in a newline
 */
export function versionText(): string {
  return `${VERSION_STRING}\n${systemInfo()}\n` +
    `Optional features available: ${optionalFeatures().join(", ")}\n`;
}
