/**
 * `--gsro` on the wire: the keys iperf3 3.21 sends (`gso`, `gso_dg_size`,
 * `gso_bf_size`, `gro`, `gro_bf_size`), read and written as 3.21 does, and
 * absent from a plain test's parameters (which stay 3.12's). On the command
 * line: a client flag for UDP.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseCommandLine } from "../../lib/cli/args.ts";
import { UsageError } from "../../lib/errors.ts";
import {
  decodeParams,
  encodeParams,
  gsoBufferSize,
  ParamError,
  tcpTestParams,
} from "../../lib/protocol/params.ts";

// Parameter JSON an iperf3 3.21+ client sent (`-u -t 1 -l 1400`, with and
// without --gsro), as our server's -d printed it.
const CAPTURES = {
  gsro:
    '{"udp":true,"omit":0,"time":1,"num":0,"blockcount":0,"parallel":1,"len":1400,"bandwidth":1048576,"pacing_timer":1000,"gso":1,"gso_dg_size":1400,"gso_bf_size":64400,"gro":1,"gro_bf_size":65507,"client_version":"3.21+"}',
  plain:
    '{"udp":true,"omit":0,"time":1,"num":0,"blockcount":0,"parallel":1,"len":1400,"bandwidth":1048576,"pacing_timer":1000,"gso":0,"gso_dg_size":0,"gso_bf_size":65507,"gro":0,"gro_bf_size":65507,"client_version":"3.21+"}',
};

const udp = tcpTestParams({
  protocol: "udp",
  time: 1,
  length: 1400,
  bandwidth: 1048576,
});

Deno.test("encodeParams() writes --gsro as iperf3 3.21 does", () => {
  const wire = encodeParams({ ...udp, gso: true, gro: true });
  const expected = JSON.parse(CAPTURES.gsro);
  expected["client_version"] = "3.12";
  assert.equal(JSON.stringify(wire), JSON.stringify(expected));
});

Deno.test("encodeParams() leaves the GSO keys out of a plain test (3.12's parameters)", () => {
  const wire = encodeParams(udp);
  for (const key of ["gso", "gso_dg_size", "gso_bf_size", "gro"]) {
    assert.equal(key in wire, false, key);
  }
  // TCP never carries them, even when asked (as 3.21's send_parameters).
  const tcp = encodeParams(tcpTestParams({ gso: true, gro: true }));
  assert.equal("gso" in tcp, false);
});

Deno.test("decodeParams() reads a 3.21 client's --gsro, and its keys without it", () => {
  const on = decodeParams(JSON.parse(CAPTURES.gsro));
  assert.equal(on.gso, true);
  assert.equal(on.gro, true);
  assert.equal(on.gsoBufferSize, 64400);
  const off = decodeParams(JSON.parse(CAPTURES.plain));
  assert.equal("gso" in off, false);
  assert.equal("gro" in off, false);
  // Round trip (the client version travels as it came).
  assert.deepEqual(decodeParams(encodeParams(on)), on);
});

Deno.test("decodeParams() sizes GSO sends from the block size, as 3.21's server does", () => {
  const wire = JSON.parse(CAPTURES.gsro);
  // A client's gso_dg_size is replaced by the block size; gso_bf_size is
  // rounded down to whole datagrams and capped at 65507.
  wire["gso_dg_size"] = 999;
  wire["gso_bf_size"] = 10_000;
  assert.equal(decodeParams(wire).gsoBufferSize, 9800);
  wire["gso_bf_size"] = 1_000_000;
  assert.equal(decodeParams(wire).gsoBufferSize, gsoBufferSize(1400));
});

Deno.test("decodeParams() refuses the GSO values 3.21 refuses", () => {
  for (
    const [key, value] of [
      ["gso", -1],
      ["gro", 2],
      ["gso_bf_size", "big"],
      ["gso_dg_size", -5],
    ] as const
  ) {
    const wire = JSON.parse(CAPTURES.gsro);
    wire[key] = value;
    assert.throws(() => decodeParams(wire), ParamError, `${key}: ${value}`);
  }
});

Deno.test("parseCommandLine() takes --gsro for a UDP client only", () => {
  const config = parseCommandLine(["-c", "h", "-u", "--gsro"]);
  assert.ok(config.role === "client");
  assert.equal(config.client.params.gso, true);
  assert.equal(config.client.params.gro, true);
  const tcp = parseCommandLine(["-c", "h", "--gsro"]);
  assert.ok(tcp.role === "client");
  assert.equal(tcp.client.params.gso, undefined);
  assert.throws(
    () => parseCommandLine(["-s", "--gsro"]),
    (error: unknown) =>
      error instanceof UsageError && /client only: --gsro/.test(error.message),
  );
});
