/**
 * The parameters JSON the client sends after PARAM_EXCHANGE, converted to and
 * from the camelCase {@linkcode TestParams} (iperf3 `send_parameters` /
 * `get_parameters`).
 *
 * @module
 */

import { ERROR_CODES, ProtocolError } from "../errors.ts";

/** The iperf3 release whose protocol and output iperf-ts follows: the wire's `client_version`. */
export const IPERF_PROTOCOL_VERSION = "3.12";

/**
 * The iperf3 release whose command line and behaviour iperf-ts announces:
 * the second word of `--version` and of `start.version` (`iperf 3.21
 * (iperf-ts ...)`), which wrappers such as perfSONAR's pScheduler parse to
 * pick features. The wire keeps {@linkcode IPERF_PROTOCOL_VERSION}.
 */
export const IPERF_ANNOUNCED_VERSION = "3.21";

/** iperf3's limits (iperf.h, iperf_api.h). */
export const LIMITS = {
  MAX_TIME: 86400,
  MAX_OMIT: 600,
  MAX_STREAMS: 128,
  MAX_BLOCKSIZE: 1024 * 1024,
  MIN_UDP_BLOCKSIZE: 16,
  MAX_UDP_BLOCKSIZE: 65507,
  MAX_TCP_BUFFER: 512 * 1024 * 1024,
  MAX_MSS: 32767,
  MAX_BURST: 1000,
  MAX_TOS: 255,
} as const;

/** Default TCP block size (`-l`): 128 KiB. */
export const DEFAULT_TCP_BLKSIZE = 131072;

/** Default UDP datagram size when the control connection's MSS is unknown (iperf3's DEFAULT_UDP_BLKSIZE). */
export const DEFAULT_UDP_BLKSIZE = 1460;

/** Default UDP rate: 1 Mbit/s as iperf3 counts it (1024 × 1024). */
export const DEFAULT_UDP_RATE = 1048576;

/** Default pacing timer in microseconds. */
export const DEFAULT_PACING_TIMER = 1000;

/** iperf3 3.21's GSO_BF_MAX_SIZE and GRO_BF_MAX_SIZE: the largest UDP payload. */
export const GSO_BUFFER_MAX = 65507;

/**
 * iperf3 3.21's GSO send size for `length`-byte datagrams: the most whole
 * datagrams that fit in `buffer` bytes.
 *
 * @param length the datagram size (`-l`)
 * @param buffer the largest send, 65507 unless the client said otherwise
 * @returns bytes, a multiple of `length`
 */
export function gsoBufferSize(
  length: number,
  buffer: number = GSO_BUFFER_MAX,
): number {
  const capped = Math.min(buffer, GSO_BUFFER_MAX);
  return length > 0 ? Math.floor(capped / length) * length : capped;
}

/** What a test is: everything the client tells the server. */
export interface TestParams {
  /** `tcp` or `udp`. */
  protocol: "tcp" | "udp";
  /** Seconds omitted at the start (`-O`). */
  omit: number;
  /** Test length in seconds (`-t`); 0 when `-n` or `-k` ends the test. */
  time: number;
  /** Bytes to send (`-n`), 0 when unused. */
  bytes: number;
  /** Blocks to send (`-k`), 0 when unused. */
  blocks: number;
  /** Number of streams (`-P`). */
  parallel: number;
  /** The server sends (`-R`). */
  reverse: boolean;
  /** Both sides send (`--bidir`). */
  bidirectional: boolean;
  /** Block or datagram size in bytes (`-l`). */
  length: number;
  /** Target rate per stream in bits/s (`-b`), 0 for unlimited. */
  bandwidth: number;
  /** Packets per burst (`-b rate/N`), 0 when unused. */
  burst: number;
  /** Pacing timer in microseconds. */
  pacingTimer: number;
  /** TCP_NODELAY on the data streams (`-N`). */
  noDelay: boolean;
  /** Socket buffer size (`-w`), 0 when unset. */
  window: number;
  /** TCP MSS (`-M`), 0 when unset. */
  mss: number;
  /** IP TOS byte (`-S`), 0 when unset. */
  tos: number;
  /** Fair-queue pacing rate in bits/s (`--fq-rate`), 0 when unset. */
  fqRate: number;
  /** TCP receivers discard what arrives with MSG_TRUNC, uncopied (`--skip-rx-copy`, iperf3 3.21's `skip_rx_copy`). Absent when off. */
  skipRxCopy?: boolean;
  /**
   * The CPU the client asks the server to pin itself to (`-A n,m`; wire
   * `server_affinity`). iperf-ts's server serves many tests at once and is
   * not pinned by one client; iperf3's servers honour it.
   */
  serverAffinity?: number;
  /** IPv6 flow label (`-L`), 0 when unset. */
  flowLabel: number;
  /** Title prefixed to every line (`-T`). */
  title?: string;
  /** Free text carried into both sides' JSON (`--extra-data`). */
  extraData?: string;
  /** Requested TCP congestion control algorithm (`-C`). */
  congestion?: string;
  /** Ask for the server's output in the results (`--get-server-output`). */
  getServerOutput: boolean;
  /** 64-bit UDP packet counters (`--udp-counters-64bit`). */
  udpCounters64bit: boolean;
  /** Repeating payload pattern instead of random bytes (`--repeating-payload`). */
  repeatingPayload: boolean;
  /** Zero-copy send (`-Z`). */
  zeroCopy: boolean;
  /** IPv4 don't-fragment flag (`--dont-fragment`). */
  dontFragment: boolean;
  /**
   * UDP GSO (`--gsro`, iperf3 3.21's `gso`): senders hand the kernel up to
   * `gsoBufferSize` bytes at a time, cut into `length`-byte datagrams.
   * Absent when off.
   */
  gso?: boolean;
  /** Bytes per GSO send (`gso_bf_size`): a multiple of `length`, at most 65507. */
  gsoBufferSize?: number;
  /** UDP GRO (`--gsro`, iperf3 3.21's `gro`): receivers read coalesced datagrams. Absent when off. */
  gro?: boolean;
  /** Encrypted credentials (`--username`). */
  authToken?: string;
  /**
   * `--latency` (an iperf-ts extension, wire {@linkcode LATENCY_PARAM}): an
   * iperf-ts server answers the test's latency probes on its UDP port;
   * iperf3 servers ignore the key. Absent when off.
   */
  latency?: boolean;
  /** The client's iperf3 version string, e.g. `"3.12"`. */
  clientVersion?: string;
}

/**
 * A TCP test with iperf3's client defaults (10 seconds, one stream, 128 KiB
 * blocks, no rate limit), changed by `overrides`.
 *
 * @param overrides the settings that differ from iperf3's defaults
 * @returns the test
 */
export function tcpTestParams(overrides: Partial<TestParams> = {}): TestParams {
  return {
    protocol: "tcp",
    omit: 0,
    time: 10,
    bytes: 0,
    blocks: 0,
    parallel: 1,
    reverse: false,
    bidirectional: false,
    length: DEFAULT_TCP_BLKSIZE,
    bandwidth: 0,
    burst: 0,
    pacingTimer: DEFAULT_PACING_TIMER,
    noDelay: false,
    window: 0,
    mss: 0,
    tos: 0,
    fqRate: 0,
    flowLabel: 0,
    getServerOutput: false,
    udpCounters64bit: false,
    repeatingPayload: false,
    zeroCopy: false,
    dontFragment: false,
    ...overrides,
  };
}

/**
 * The parameter key of `--latency`: a boolean that iperf3's servers do not
 * know and ignore (3.12's `get_parameters` reads only its own keys).
 */
export const LATENCY_PARAM = "iperf_ts_latency";

/** The parameter JSON exactly as iperf3 puts it on the wire (snake_case keys). */
export type WireParams = Record<string, boolean | number | string>;

/**
 * The wire JSON for a test, with iperf3 3.12's keys in iperf3's order and
 * JSON types that 3.18+ servers accept (numbers, not booleans, for the
 * `get_server_output`-style flags).
 *
 * @example Usage
 * ```ts
 * import { encodeParams } from "./params.ts";
 * const wire = encodeParams({
 *   protocol: "tcp", omit: 0, time: 10, bytes: 0, blocks: 0, parallel: 1,
 *   reverse: false, bidirectional: false, length: 131072, bandwidth: 0,
 *   burst: 0, pacingTimer: 1000, noDelay: false, window: 0, mss: 0, tos: 0,
 *   fqRate: 0, flowLabel: 0, getServerOutput: false, udpCounters64bit: false,
 *   repeatingPayload: false, zeroCopy: false, dontFragment: false,
 * });
 * if (JSON.stringify(wire) !== '{"tcp":true,"omit":0,"time":10,"num":0,"blockcount":0,"parallel":1,"len":131072,"pacing_timer":1000,"client_version":"3.12"}') {
 *   throw new Error("unexpected wire form");
 * }
 * ```
 *
 * @param p the test
 * @returns an object to send with `encodeJsonFrame`
 */
export function encodeParams(p: TestParams): WireParams {
  const w: WireParams = {};
  w[p.protocol] = true;
  w["omit"] = p.omit;
  w["time"] = p.time;
  w["num"] = p.bytes;
  w["blockcount"] = p.blocks;
  if (p.mss) w["MSS"] = p.mss;
  if (p.noDelay) w["nodelay"] = true;
  w["parallel"] = p.parallel;
  if (p.reverse) w["reverse"] = true;
  if (p.bidirectional) w["bidirectional"] = true;
  if (p.window) w["window"] = p.window;
  w["len"] = p.length;
  if (p.bandwidth) w["bandwidth"] = p.bandwidth;
  if (p.fqRate) w["fqrate"] = p.fqRate;
  w["pacing_timer"] = p.pacingTimer;
  if (p.burst) w["burst"] = p.burst;
  if (p.protocol === "udp" && (p.gso || p.gro)) {
    // As iperf3 3.21's send_parameters puts them (older servers ignore
    // keys they do not know); only with --gsro, so a plain test's
    // parameters stay those of 3.12.
    w["gso"] = p.gso ? 1 : 0;
    w["gso_dg_size"] = p.gso ? p.length : 0;
    w["gso_bf_size"] = p.gsoBufferSize ?? gsoBufferSize(p.length);
    w["gro"] = p.gro ? 1 : 0;
    w["gro_bf_size"] = GSO_BUFFER_MAX;
  }
  if (p.tos) w["TOS"] = p.tos;
  if (p.flowLabel) w["flowlabel"] = p.flowLabel;
  if (p.title !== undefined) w["title"] = p.title;
  if (p.extraData !== undefined) w["extra_data"] = p.extraData;
  if (p.congestion !== undefined) w["congestion"] = p.congestion;
  if (p.getServerOutput) w["get_server_output"] = 1;
  if (p.udpCounters64bit) w["udp_counters_64bit"] = 1;
  if (p.repeatingPayload) w["repeating_payload"] = 1;
  if (p.zeroCopy) w["zerocopy"] = 1;
  if (p.dontFragment) w["dont_fragment"] = 1;
  if (p.skipRxCopy) w["skip_rx_copy"] = 1;
  if (p.serverAffinity !== undefined) {
    w["server_affinity"] = p.serverAffinity;
  }
  if (p.authToken !== undefined) w["authtoken"] = p.authToken;
  if (p.latency) w[LATENCY_PARAM] = true;
  w["client_version"] = p.clientVersion ?? IPERF_PROTOCOL_VERSION;
  return w;
}

/** A parameter the server refuses; `code` is the i_errno to send back in SERVER_ERROR. */
export class ParamError extends ProtocolError {
  /**
   * Creates an instance.
   *
   * @param code iperf3's error number for the bad parameter
   * @param detail which key and why
   */
  constructor(code: number, detail: string) {
    super(code, { detail });
    this.name = "ParamError";
  }
}

/**
 * The test a client asked for, validated as strictly as iperf3's newest
 * server: wrongly typed values and values out of iperf3's ranges are refused
 * (iperf3 3.12 accepts anything). Unknown keys are ignored; iperf-ts's own
 * ({@linkcode LATENCY_PARAM}) are known and checked like iperf3's.
 *
 * @param wire the parsed parameters JSON
 * @returns the test
 * @throws {ParamError} carrying the i_errno to answer with
 */
export function decodeParams(wire: Record<string, unknown>): TestParams {
  const protocol = flag(wire, "udp") ? "udp" : "tcp";
  if (flag(wire, "sctp")) {
    throw new ParamError(ERROR_CODES.IEUNIMP, "SCTP is not supported");
  }
  if (!flag(wire, "tcp") && !flag(wire, "udp")) {
    throw new ParamError(
      ERROR_CODES.IERECVPARAMS,
      'no protocol: expected "tcp" or "udp"',
    );
  }
  const length = int(
    wire,
    "len",
    protocol === "tcp" ? DEFAULT_TCP_BLKSIZE : 1460,
  );
  const p: TestParams = {
    protocol,
    omit: int(wire, "omit", 0, LIMITS.MAX_OMIT, ERROR_CODES.IEOMIT),
    time: int(wire, "time", 0, LIMITS.MAX_TIME, ERROR_CODES.IEDURATION),
    bytes: int(wire, "num", 0),
    blocks: int(wire, "blockcount", 0),
    parallel: int(
      wire,
      "parallel",
      1,
      LIMITS.MAX_STREAMS,
      ERROR_CODES.IENUMSTREAMS,
    ),
    reverse: flag(wire, "reverse"),
    bidirectional: flag(wire, "bidirectional"),
    length,
    bandwidth: int(wire, "bandwidth", 0),
    burst: int(wire, "burst", 0, LIMITS.MAX_BURST, ERROR_CODES.IEBURST),
    pacingTimer: int(wire, "pacing_timer", DEFAULT_PACING_TIMER),
    noDelay: flag(wire, "nodelay"),
    window: int(
      wire,
      "window",
      0,
      LIMITS.MAX_TCP_BUFFER,
      ERROR_CODES.IEBUFSIZE,
    ),
    mss: int(wire, "MSS", 0, LIMITS.MAX_MSS, ERROR_CODES.IEMSS),
    tos: int(wire, "TOS", 0, LIMITS.MAX_TOS, ERROR_CODES.IEBADTOS),
    fqRate: int(wire, "fqrate", 0),
    flowLabel: int(wire, "flowlabel", 0, 0xfffff),
    getServerOutput: flag(wire, "get_server_output"),
    udpCounters64bit: flag(wire, "udp_counters_64bit"),
    repeatingPayload: flag(wire, "repeating_payload"),
    zeroCopy: flag(wire, "zerocopy"),
    dontFragment: flag(wire, "dont_fragment"),
    ...(flag(wire, "skip_rx_copy") ? { skipRxCopy: true } : {}),
    ...(flag(wire, LATENCY_PARAM) ? { latency: true } : {}),
  };
  // iperf3 3.21's get_parameters: any positive "gso" asks for GSO, "gro"
  // is 0 or 1; the datagram size is the block size whatever the client
  // says (iperf_exchange_parameters sets gso_dg_size = blksize).
  const gso = int(wire, "gso", 0) > 0;
  int(wire, "gso_dg_size", 0);
  const bufferSize = int(wire, "gso_bf_size", GSO_BUFFER_MAX);
  int(wire, "gro_bf_size", GSO_BUFFER_MAX);
  if (protocol === "udp" && gso) {
    p.gso = true;
    p.gsoBufferSize = gsoBufferSize(length, bufferSize);
  }
  if (protocol === "udp" && int(wire, "gro", 0, 1) === 1) p.gro = true;
  if (p.parallel < 1) {
    throw new ParamError(
      ERROR_CODES.IENUMSTREAMS,
      '"parallel" must be at least 1',
    );
  }
  if (protocol === "tcp" && (length < 1 || length > LIMITS.MAX_BLOCKSIZE)) {
    throw new ParamError(ERROR_CODES.IEBLOCKSIZE, `"len" is ${length}`);
  }
  if (
    protocol === "udp" &&
    (length < LIMITS.MIN_UDP_BLOCKSIZE || length > LIMITS.MAX_UDP_BLOCKSIZE)
  ) {
    throw new ParamError(ERROR_CODES.IEUDPBLOCKSIZE, `"len" is ${length}`);
  }
  if (p.reverse && p.bidirectional) {
    throw new ParamError(
      ERROR_CODES.IEREVERSEBIDIR,
      '"reverse" with "bidirectional"',
    );
  }
  for (
    const [key, name] of [
      ["title", "title"],
      ["extra_data", "extraData"],
      ["congestion", "congestion"],
      ["authtoken", "authToken"],
      ["client_version", "clientVersion"],
    ] as const
  ) {
    const value = text(wire, key);
    if (value !== undefined) p[name] = value;
  }
  return p;
}

function flag(wire: Record<string, unknown>, key: string): boolean {
  const value = wire[key];
  if (value === undefined || value === null) return false;
  if (typeof value === "boolean") return value;
  if (typeof value === "number" && Number.isFinite(value)) return value !== 0;
  throw new ParamError(
    ERROR_CODES.IERECVPARAMS,
    `"${key}" must be a boolean or a number`,
  );
}

function int(
  wire: Record<string, unknown>,
  key: string,
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
  code: number = ERROR_CODES.IERECVPARAMS,
): number {
  const value = wire[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw new ParamError(
      ERROR_CODES.IERECVPARAMS,
      `"${key}" must be a whole number`,
    );
  }
  if (value < 0 || value > max) {
    throw new ParamError(code, `"${key}" is ${value}, expected 0 to ${max}`);
  }
  return value;
}

function text(wire: Record<string, unknown>, key: string): string | undefined {
  const value = wire[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") {
    throw new ParamError(ERROR_CODES.IERECVPARAMS, `"${key}" must be a string`);
  }
  return value;
}
