/**
 * The test kinds whose `-J` documents are compared with iperf3's (the
 * 3.12 interop test and the captured 3.21 shapes).
 *
 * @module
 */

/** Name and client flags of each kind. */
export const SHAPE_CASES: readonly (readonly [string, readonly string[]])[] = [
  ["TCP", ["-t", "1"]],
  ["-P 2", ["-t", "1", "-P", "2"]],
  ["-R", ["-t", "1", "-R"]],
  ["--bidir", ["-t", "1", "--bidir"]],
  ["UDP", ["-u", "-b", "10M", "-t", "1"]],
  ["UDP -R -P 2", ["-u", "-b", "10M", "-t", "1", "-R", "-P", "2"]],
  ["UDP --bidir", ["-u", "-b", "10M", "-t", "1", "--bidir"]],
];
