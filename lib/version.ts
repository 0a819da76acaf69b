/**
 * iperf-ts's own version.
 *
 * @module
 */

/** The release of iperf-ts. */
export const VERSION = "0.1.0";
