import assert from "node:assert/strict";
import {
  decodeParams,
  DEFAULT_UDP_RATE,
  encodeParams,
  IPERF_PROTOCOL_VERSION,
  LATENCY_PARAM,
  ParamError,
  tcpTestParams,
  type TestParams,
} from "../../lib/protocol/params.ts";
import { encodeJsonFrame, readJsonFrame } from "../../lib/protocol/codec.ts";
import { ERROR_CODES, ProtocolError } from "../../lib/errors.ts";
import { MemoryReader } from "../_support/memory.ts";

// Wire texts are the parameter JSON an iperf3 3.12 client sent, captured with
// tcpdump (reference doc §2.4 and §3).

const CAPTURES = {
  /** `iperf3 -c 127.0.0.1 -t 2` */
  defaultTcp:
    '{"tcp":true,"omit":0,"time":2,"num":0,"blockcount":0,"parallel":1,"len":131072,"pacing_timer":1000,"client_version":"3.12"}',
  /** `iperf3 -c 127.0.0.1 -t 1 -b 1M` (the 143-byte frame of §2.4) */
  tcpRate:
    '{"tcp":true,"omit":0,"time":1,"num":0,"blockcount":0,"parallel":1,"len":131072,"bandwidth":1000000,"pacing_timer":1000,"client_version":"3.12"}',
  /** `iperf3 -c 127.0.0.1 -u -t 1` on loopback (MSS 32768) */
  udp:
    '{"udp":true,"omit":0,"time":1,"num":0,"blockcount":0,"parallel":1,"len":32768,"bandwidth":1048576,"pacing_timer":1000,"client_version":"3.12"}',
  /** `iperf3 -c 127.0.0.1 -t 1 -R` */
  reverse:
    '{"tcp":true,"omit":0,"time":1,"num":0,"blockcount":0,"parallel":1,"reverse":true,"len":131072,"pacing_timer":1000,"client_version":"3.12"}',
  /** `iperf3 -c 127.0.0.1 --bidir -n 10M` */
  bidir:
    '{"tcp":true,"omit":0,"time":0,"num":10485760,"blockcount":0,"parallel":1,"bidirectional":true,"len":131072,"pacing_timer":1000,"client_version":"3.12"}',
  /** `iperf3 -c 127.0.0.1 -u -k 100 -b 1M -l 1000 --dont-fragment` */
  udpBlocks:
    '{"udp":true,"omit":0,"time":0,"num":0,"blockcount":100,"parallel":1,"len":1000,"bandwidth":1000000,"pacing_timer":1000,"dont_fragment":1,"client_version":"3.12"}',
  /**
   * `-O 1 -P 2 -w 256K -M 1400 -N -C cubic -S 16 -T mytitle --extra-data xd
   * --repeating-payload -Z --fq-rate 100M --pacing-timer 500 -b 100M/5
   * --get-server-output --udp-counters-64bit -A 0,1 -l 64K -t 1`
   */
  manyOptions:
    '{"tcp":true,"omit":1,"server_affinity":1,"time":1,"num":0,"blockcount":0,"MSS":1400,"nodelay":true,"parallel":2,"window":262144,"len":65536,"bandwidth":100000000,"fqrate":100000000,"pacing_timer":500,"burst":5,"TOS":16,"title":"mytitle","extra_data":"xd","congestion":"cubic","get_server_output":1,"udp_counters_64bit":1,"repeating_payload":1,"zerocopy":1,"client_version":"3.12"}',
  /** A 3.21 client's `-u` request, with the GSO/GRO keys iperf-ts does not know. */
  udp321:
    '{"udp":true,"omit":0,"time":1,"num":0,"blockcount":0,"parallel":1,"len":32768,"bandwidth":1048576,"pacing_timer":1000,"gso":0,"gso_dg_size":0,"gso_bf_size":65507,"gro":0,"gro_bf_size":65507,"client_version":"3.21"}',
} as const;

/** What a plain `iperf3 -c host` asks for, with fields overridden. */
function params(overrides: Partial<TestParams> = {}): TestParams {
  return tcpTestParams(overrides);
}

/** The TestParams each 3.12 capture stands for (as decodeParams reads it back). */
const DECODED: Record<keyof typeof CAPTURES, TestParams> = {
  defaultTcp: params({ time: 2, clientVersion: "3.12" }),
  tcpRate: params({ time: 1, bandwidth: 1000000, clientVersion: "3.12" }),
  udp: params({
    protocol: "udp",
    time: 1,
    length: 32768,
    bandwidth: DEFAULT_UDP_RATE,
    clientVersion: "3.12",
  }),
  reverse: params({ time: 1, reverse: true, clientVersion: "3.12" }),
  bidir: params({
    time: 0,
    bytes: 10 * 1024 * 1024,
    bidirectional: true,
    clientVersion: "3.12",
  }),
  udpBlocks: params({
    protocol: "udp",
    time: 0,
    blocks: 100,
    length: 1000,
    bandwidth: 1000000,
    dontFragment: true,
    clientVersion: "3.12",
  }),
  manyOptions: params({
    omit: 1,
    time: 1,
    mss: 1400,
    noDelay: true,
    parallel: 2,
    window: 262144,
    length: 65536,
    bandwidth: 100000000,
    fqRate: 100000000,
    pacingTimer: 500,
    burst: 5,
    tos: 16,
    title: "mytitle",
    extraData: "xd",
    congestion: "cubic",
    getServerOutput: true,
    udpCounters64bit: true,
    repeatingPayload: true,
    zeroCopy: true,
    clientVersion: "3.12",
  }),
  udp321: params({
    protocol: "udp",
    time: 1,
    length: 32768,
    bandwidth: DEFAULT_UDP_RATE,
    clientVersion: "3.21",
  }),
};

/** The ParamError `decodeParams(wire)` throws; fails the test if it returns. */
function paramError(wire: Record<string, unknown>): ParamError {
  let result: TestParams;
  try {
    result = decodeParams(wire);
  } catch (error) {
    assert.ok(
      error instanceof ParamError,
      `expected ParamError, got ${String(error)}`,
    );
    return error;
  }
  assert.fail(
    `expected ${JSON.stringify(wire)} to be refused, got ${
      JSON.stringify(result)
    }`,
  );
}

/** The default TCP capture as an object, with keys changed. */
function wire(
  changes: Record<string, unknown>,
  remove: string[] = [],
): Record<string, unknown> {
  const w: Record<string, unknown> = {
    ...JSON.parse(CAPTURES.defaultTcp),
    ...changes,
  };
  for (const key of remove) delete w[key];
  return w;
}

// --- encodeParams -----------------------------------------------------------

Deno.test("encodeParams() matches iperf3 3.12's default TCP request", () => {
  assert.equal(
    JSON.stringify(encodeParams(params({ time: 2 }))),
    CAPTURES.defaultTcp,
  );
});

Deno.test("encodeParams() matches the 143-byte request of iperf3 3.12 -t 1 -b 1M", () => {
  const p = params({ time: 1, bandwidth: 1000000 });
  assert.equal(JSON.stringify(encodeParams(p)), CAPTURES.tcpRate);
  const frame = encodeJsonFrame(encodeParams(p));
  assert.equal(frame.byteLength, 4 + 143);
  assert.deepEqual(
    frame,
    new Uint8Array([
      0,
      0,
      0,
      0x8f,
      ...new TextEncoder().encode(CAPTURES.tcpRate),
    ]),
  );
});

Deno.test("encodeParams() matches iperf3 3.12's -u request", () => {
  const p = params({
    protocol: "udp",
    time: 1,
    length: 32768,
    bandwidth: DEFAULT_UDP_RATE,
  });
  assert.equal(JSON.stringify(encodeParams(p)), CAPTURES.udp);
});

Deno.test("encodeParams() matches iperf3 3.12's -R request", () => {
  assert.equal(
    JSON.stringify(encodeParams(params({ time: 1, reverse: true }))),
    CAPTURES.reverse,
  );
});

Deno.test("encodeParams() matches iperf3 3.12's --bidir -n 10M request", () => {
  const p = params({ time: 0, bytes: 10485760, bidirectional: true });
  assert.equal(JSON.stringify(encodeParams(p)), CAPTURES.bidir);
});

Deno.test("encodeParams() matches iperf3 3.12's -u -k 100 -b 1M -l 1000 --dont-fragment request", () => {
  const p = params({
    protocol: "udp",
    time: 0,
    blocks: 100,
    length: 1000,
    bandwidth: 1000000,
    dontFragment: true,
  });
  assert.equal(JSON.stringify(encodeParams(p)), CAPTURES.udpBlocks);
});

Deno.test("encodeParams() matches iperf3 3.12's many-options request except server_affinity", () => {
  // -A (CPU affinity) is not a TestParams feature, so drop its key.
  const expected = JSON.parse(CAPTURES.manyOptions);
  delete expected["server_affinity"];
  assert.equal(
    JSON.stringify(encodeParams(DECODED.manyOptions)),
    JSON.stringify(expected),
  );
});

Deno.test("encodeParams() puts every key in iperf3's order", () => {
  const p = params({
    protocol: "udp",
    omit: 2,
    time: 3,
    bytes: 4,
    blocks: 5,
    mss: 6,
    noDelay: true,
    parallel: 7,
    reverse: true,
    window: 8,
    length: 9000,
    bandwidth: 10,
    fqRate: 11,
    pacingTimer: 12,
    burst: 13,
    tos: 14,
    flowLabel: 15,
    title: "t",
    extraData: "x",
    congestion: "c",
    getServerOutput: true,
    udpCounters64bit: true,
    repeatingPayload: true,
    zeroCopy: true,
    dontFragment: true,
    authToken: "a",
    clientVersion: "v",
  });
  // iperf3 3.12 send_parameters() order (reference doc §3), minus the keys
  // iperf-ts has no option for (server_affinity, congestion_used).
  assert.deepEqual(Object.keys(encodeParams(p)), [
    "udp",
    "omit",
    "time",
    "num",
    "blockcount",
    "MSS",
    "nodelay",
    "parallel",
    "reverse",
    "window",
    "len",
    "bandwidth",
    "fqrate",
    "pacing_timer",
    "burst",
    "TOS",
    "flowlabel",
    "title",
    "extra_data",
    "congestion",
    "get_server_output",
    "udp_counters_64bit",
    "repeating_payload",
    "zerocopy",
    "dont_fragment",
    "authtoken",
    "client_version",
  ]);
  assert.equal(
    Object.keys(encodeParams(params({ bidirectional: true }))).indexOf(
      "bidirectional",
    ),
    6,
  );
});

Deno.test("encodeParams() sends client_version 3.12 unless told otherwise", () => {
  assert.equal(IPERF_PROTOCOL_VERSION, "3.12");
  assert.equal(encodeParams(params())["client_version"], "3.12");
  assert.equal(
    encodeParams(params({ clientVersion: "3.21" }))["client_version"],
    "3.21",
  );
});

Deno.test("encodeParams() sends flag options as numbers that 3.18+ servers accept", () => {
  const w = encodeParams(params({
    getServerOutput: true,
    udpCounters64bit: true,
    repeatingPayload: true,
    zeroCopy: true,
    dontFragment: true,
    noDelay: true,
    reverse: true,
  }));
  for (
    const key of [
      "get_server_output",
      "udp_counters_64bit",
      "repeating_payload",
      "zerocopy",
      "dont_fragment",
    ]
  ) {
    assert.equal(w[key], 1, key);
  }
  assert.equal(w["nodelay"], true);
  assert.equal(w["reverse"], true);
  assert.equal(w["tcp"], true);
});

// --- decodeParams -----------------------------------------------------------

for (const name of Object.keys(CAPTURES) as (keyof typeof CAPTURES)[]) {
  Deno.test(`decodeParams() reads the ${name} capture`, () => {
    assert.deepEqual(decodeParams(JSON.parse(CAPTURES[name])), DECODED[name]);
  });
}

Deno.test("decodeParams() reads a 3.12 request off the wire through readJsonFrame()", async () => {
  const body = new TextEncoder().encode(CAPTURES.tcpRate);
  const bytes = new Uint8Array([0, 0, 0, 0x8f, ...body]);
  for (const chunk of [1, 3, Infinity]) {
    const value = await readJsonFrame(new MemoryReader(bytes, chunk), {
      code: ERROR_CODES.IERECVPARAMS,
    });
    assert.deepEqual(decodeParams(value), DECODED.tcpRate);
  }
});

Deno.test("decodeParams() ignores unknown keys", () => {
  const w = wire({
    "server_affinity": 1,
    "mptcp": true,
    "gso": 0,
    "congestion_used": "bbr",
    "future": { "nested": [1, 2, 3] },
    "Tcp": "not the protocol key",
  });
  assert.deepEqual(decodeParams(w), DECODED.defaultTcp);
});

Deno.test("decodeParams() reads iperf3 3.21's skip_rx_copy, and encodeParams() writes it only when set", () => {
  assert.equal(decodeParams(wire({ "skip_rx_copy": 1 })).skipRxCopy, true);
  assert.equal(decodeParams(wire({ "skip_rx_copy": 0 })).skipRxCopy, undefined);
  const p = decodeParams(wire({ "skip_rx_copy": 1 }));
  assert.equal(encodeParams(p)["skip_rx_copy"], 1);
  assert.equal(encodeParams(DECODED.defaultTcp)["skip_rx_copy"], undefined);
});

Deno.test("decodeParams() knows iperf-ts's iperf_ts_latency, and encodeParams() writes it only when set", () => {
  assert.equal(LATENCY_PARAM, "iperf_ts_latency");
  const p = decodeParams(wire({ "iperf_ts_latency": true }));
  assert.deepEqual(p, { ...DECODED.defaultTcp, latency: true });
  assert.equal(
    decodeParams(wire({ "iperf_ts_latency": false })).latency,
    undefined,
  );
  assert.equal(decodeParams(wire({ "iperf_ts_latency": 1 })).latency, true);
  // Known, so checked: a string is refused as iperf3 3.18+ refuses its own.
  assert.throws(
    () => decodeParams(wire({ "iperf_ts_latency": "yes" })),
    (error) =>
      error instanceof ParamError &&
      error.code === ERROR_CODES.IERECVPARAMS,
  );
  const wired = encodeParams(p);
  assert.equal(wired["iperf_ts_latency"], true);
  // Before client_version, after every iperf3 key.
  assert.deepEqual(Object.keys(wired).slice(-2), [
    "iperf_ts_latency",
    "client_version",
  ]);
  assert.equal("iperf_ts_latency" in encodeParams(DECODED.defaultTcp), false);
});

Deno.test("decodeParams() defaults absent num and blockcount to 0", () => {
  const p = decodeParams(wire({}, ["num", "blockcount"]));
  assert.equal(p.bytes, 0);
  assert.equal(p.blocks, 0);
});

Deno.test("decodeParams() round-trips encodeParams() for a rich TestParams", () => {
  const rich: TestParams[] = [
    DECODED.manyOptions,
    params({
      protocol: "udp",
      omit: 600,
      time: 86400,
      bytes: 2 ** 40,
      blocks: 0,
      parallel: 128,
      bidirectional: true,
      length: 65507,
      bandwidth: 10_000_000_000,
      burst: 1000,
      pacingTimer: 250,
      noDelay: true,
      window: 512 * 1024 * 1024,
      mss: 9000,
      tos: 255,
      fqRate: 5_000_000,
      flowLabel: 0xfffff,
      title: 't\u00edtulo \u2713 "q"',
      extraData: "",
      congestion: "reno",
      getServerOutput: true,
      udpCounters64bit: true,
      repeatingPayload: true,
      zeroCopy: true,
      dontFragment: true,
      authToken: "c2VjcmV0",
      clientVersion: "3.12",
    }),
    params({ reverse: true, time: 0, blocks: 7, clientVersion: "3.12" }),
  ];
  for (const p of rich) {
    assert.deepEqual(decodeParams(encodeParams(p)), p);
    // And through the JSON text, as it travels.
    assert.deepEqual(
      decodeParams(JSON.parse(JSON.stringify(encodeParams(p)))),
      p,
    );
  }
});

Deno.test("decodeParams() rejects parallel 0 or 129 with IENUMSTREAMS", () => {
  for (const parallel of [0, 129, 1000]) {
    assert.equal(
      paramError(wire({ parallel })).code,
      ERROR_CODES.IENUMSTREAMS,
      `parallel ${parallel}`,
    );
  }
  assert.equal(decodeParams(wire({ parallel: 128 })).parallel, 128);
});

Deno.test("decodeParams() rejects time 86401 with IEDURATION", () => {
  assert.equal(paramError(wire({ time: 86401 })).code, ERROR_CODES.IEDURATION);
  assert.equal(decodeParams(wire({ time: 86400 })).time, 86400);
});

Deno.test("decodeParams() rejects omit 601 with IEOMIT", () => {
  assert.equal(paramError(wire({ omit: 601 })).code, ERROR_CODES.IEOMIT);
  assert.equal(decodeParams(wire({ omit: 600 })).omit, 600);
});

Deno.test("decodeParams() rejects a TCP len of 0 or 2 MiB with IEBLOCKSIZE", () => {
  for (const len of [0, 2 * 1024 * 1024, 1024 * 1024 + 1]) {
    assert.equal(
      paramError(wire({ len })).code,
      ERROR_CODES.IEBLOCKSIZE,
      `len ${len}`,
    );
  }
  assert.equal(decodeParams(wire({ len: 1024 * 1024 })).length, 1048576);
  assert.equal(decodeParams(wire({ len: 1 })).length, 1);
});

Deno.test("decodeParams() rejects a UDP len outside 16 to 65507 with IEUDPBLOCKSIZE", () => {
  const udp = JSON.parse(CAPTURES.udp);
  for (const len of [0, 15, 65508]) {
    assert.equal(
      paramError({ ...udp, len }).code,
      ERROR_CODES.IEUDPBLOCKSIZE,
      `len ${len}`,
    );
  }
  assert.equal(decodeParams({ ...udp, len: 16 }).length, 16);
  assert.equal(decodeParams({ ...udp, len: 65507 }).length, 65507);
});

Deno.test("decodeParams() rejects reverse with bidirectional with IEREVERSEBIDIR", () => {
  assert.equal(
    paramError(wire({ reverse: true, bidirectional: true })).code,
    ERROR_CODES.IEREVERSEBIDIR,
  );
});

Deno.test("decodeParams() rejects sctp with IEUNIMP", () => {
  assert.equal(
    paramError(wire({ sctp: true }, ["tcp"])).code,
    ERROR_CODES.IEUNIMP,
  );
  assert.equal(paramError(wire({ sctp: true })).code, ERROR_CODES.IEUNIMP);
});

Deno.test("decodeParams() rejects a request without a protocol with IERECVPARAMS", () => {
  assert.equal(
    paramError(wire({}, ["tcp"])).code,
    ERROR_CODES.IERECVPARAMS,
  );
  assert.equal(
    paramError(wire({ tcp: false })).code,
    ERROR_CODES.IERECVPARAMS,
  );
  assert.equal(paramError({}).code, ERROR_CODES.IERECVPARAMS);
});

Deno.test("decodeParams() rejects wrongly typed values with IERECVPARAMS", () => {
  const cases: Record<string, unknown>[] = [
    { parallel: "4" },
    { time: 1.5 },
    { time: "10" },
    { omit: true },
    { len: [131072] },
    { num: -1 },
    { bandwidth: { rate: 1 } },
    { title: 5 },
    { title: true },
    { "extra_data": 1 },
    { congestion: ["cubic"] },
    { "client_version": 3.12 },
    { authtoken: 0 },
    { reverse: "true" },
    { tcp: "yes" },
    { nodelay: {} },
  ];
  for (const changes of cases) {
    const error = paramError(wire(changes));
    assert.equal(
      error.code,
      ERROR_CODES.IERECVPARAMS,
      JSON.stringify(changes),
    );
  }
});

Deno.test("decodeParams() throws a ParamError that is a ProtocolError", () => {
  const error = paramError(wire({ parallel: 0 }));
  assert.ok(error instanceof ProtocolError);
  assert.equal(error.name, "ParamError");
  assert.match(error.message, /parallel/);
});
