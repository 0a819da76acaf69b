/**
 * Checks that a `-J` document as built (plain objects) has the shape of
 * {@linkcode IperfJson}, so the library API hands out typed results without
 * casts. Each guard's shape is typed against its interface: a member left
 * out, or checked as the wrong type, does not compile.
 *
 * @module
 */

import type {
  IperfJson,
  JsonConnected,
  JsonEnd,
  JsonEndFigures,
  JsonEndStream,
  JsonInterval,
  JsonIntervalLatency,
  JsonIntervalStream,
  JsonIntervalSum,
  JsonLatency,
  JsonRttFigures,
  JsonStart,
  JsonTestStart,
} from "./json_types.ts";

/** A runtime check that narrows to `T`. */
export type Guard<T> = (value: unknown) => value is T;

/** One guard per member of `T` (optional members take `optional(...)`). */
type Shape<T> = { [K in keyof T]-?: Guard<T[K]> };

const isNumber: Guard<number> = (v): v is number => typeof v === "number";
const isString: Guard<string> = (v): v is string => typeof v === "string";
const isBoolean: Guard<boolean> = (v): v is boolean => typeof v === "boolean";

const isNumberOrNull: Guard<number | null> = (v): v is number | null =>
  v === null || typeof v === "number";

function oneOf<const T extends string>(...values: T[]): Guard<T> {
  return (v): v is T => values.some((value) => value === v);
}

function nullable<T>(guard: Guard<T>): Guard<T | null> {
  return (v): v is T | null => v === null || guard(v);
}

function optional<T>(guard: Guard<T>): Guard<T | undefined> {
  return (v): v is T | undefined => v === undefined || guard(v);
}

function arrayOf<T>(guard: Guard<T>): Guard<T[]> {
  return (v): v is T[] => Array.isArray(v) && v.every((item) => guard(item));
}

/** An object whose members pass `shape`'s guards; other members are allowed (a peer's newer keys). */
function object<T>(shape: Shape<T>): Guard<T> {
  const entries: [string, Guard<unknown>][] = Object.entries(shape);
  return (v): v is T =>
    typeof v === "object" && v !== null && !Array.isArray(v) &&
    entries.every(([key, guard]) => guard(Reflect.get(v, key)));
}

const figures = {
  start: isNumber,
  end: isNumber,
  seconds: isNumber,
  bytes: isNumber,
  "bits_per_second": isNumber,
  retransmits: optional(isNumber),
  packets: optional(isNumber),
  "jitter_ms": optional(isNumber),
  "lost_packets": optional(isNumber),
  "lost_percent": optional(isNumber),
  sender: isBoolean,
};

const isConnected = object<JsonConnected>({
  socket: isNumber,
  "local_host": isString,
  "local_port": isNumber,
  "remote_host": isString,
  "remote_port": isNumber,
});

const isTestStart = object<JsonTestStart>({
  protocol: isString,
  "num_streams": isNumber,
  blksize: isNumber,
  omit: isNumber,
  duration: isNumber,
  bytes: isNumber,
  blocks: isNumber,
  reverse: isNumber,
  tos: isNumber,
  "target_bitrate": isNumber,
  bidir: optional(isNumber),
});

const isHostPort = object<{ "host": string; "port": number }>({
  host: isString,
  port: isNumber,
});

const isStart = object<JsonStart>({
  connected: arrayOf(isConnected),
  version: isString,
  "system_info": isString,
  timestamp: optional(
    object<{ "time": string; "timesecs": number }>({
      time: isString,
      timesecs: isNumber,
    }),
  ),
  "connecting_to": optional(isHostPort),
  "accepted_connection": optional(isHostPort),
  cookie: optional(isString),
  "tcp_mss_default": optional(isNumber),
  "tcp_mss": optional(isNumber),
  "target_bitrate": optional(isNumber),
  "sock_bufsize": optional(isNumber),
  "sndbuf_actual": optional(isNumber),
  "rcvbuf_actual": optional(isNumber),
  "test_start": optional(isTestStart),
});

const isIntervalStream = object<JsonIntervalStream>({
  ...figures,
  socket: isNumber,
  "snd_cwnd": optional(isNumber),
  "snd_wnd": optional(isNumber),
  rtt: optional(isNumber),
  rttvar: optional(isNumber),
  pmtu: optional(isNumber),
  omitted: isBoolean,
});

const isIntervalSum = object<JsonIntervalSum>({
  ...figures,
  omitted: isBoolean,
});

const isIntervalLatency = object<JsonIntervalLatency>({
  "rtt_ms": isNumberOrNull,
  probe: object<JsonIntervalLatency["probe"]>({
    count: isNumber,
    lost: isNumber,
    "min_ms": isNumberOrNull,
    "median_ms": isNumberOrNull,
    "max_ms": isNumberOrNull,
  }),
  "tcp_rtt_ms": isNumberOrNull,
});

/** Whether `value` is one element of a document's `intervals`. */
export const isJsonInterval: Guard<JsonInterval> = object<JsonInterval>({
  streams: arrayOf(isIntervalStream),
  sum: isIntervalSum,
  "sum_bidir_reverse": optional(isIntervalSum),
  "iperf_ts": optional(
    object<{ "latency": JsonIntervalLatency }>({ latency: isIntervalLatency }),
  ),
});

const rttFigures: Shape<JsonRttFigures> = {
  count: isNumber,
  "min_ms": isNumberOrNull,
  "median_ms": isNumberOrNull,
  "p90_ms": isNumberOrNull,
  "p99_ms": isNumberOrNull,
  "max_ms": isNumberOrNull,
};

type Loaded = JsonLatency["loaded"];

const isLatency = object<JsonLatency>({
  idle: object<JsonLatency["idle"]>({
    ...rttFigures,
    lost: optional(isNumber),
    source: oneOf("probe", "tcp_info"),
  }),
  loaded: object<Loaded>({
    probe: nullable(
      object<NonNullable<Loaded["probe"]>>({ ...rttFigures, lost: isNumber }),
    ),
    "tcp_info": nullable(
      object<NonNullable<Loaded["tcp_info"]>>({
        ...rttFigures,
        source: oneOf("sending_streams", "receiving_streams", "control"),
      }),
    ),
  }),
  rpm: object<JsonLatency["rpm"]>({
    value: isNumberOrNull,
    foreign: isNumberOrNull,
    self: isNumberOrNull,
  }),
  "server_echo": isBoolean,
  note: optional(isString),
});

const isEndFigures = object<JsonEndFigures>({
  ...figures,
  socket: optional(isNumber),
  "out_of_order": optional(isNumber),
  "max_snd_cwnd": optional(isNumber),
  "max_snd_wnd": optional(isNumber),
  "max_rtt": optional(isNumber),
  "min_rtt": optional(isNumber),
  "mean_rtt": optional(isNumber),
});

const isEndStream = object<JsonEndStream>({
  sender: optional(isEndFigures),
  receiver: optional(isEndFigures),
  udp: optional(isEndFigures),
});

type Cpu = NonNullable<JsonEnd["cpu_utilization_percent"]>;

const isEnd = object<JsonEnd>({
  streams: optional(arrayOf(isEndStream)),
  sum: optional(isEndFigures),
  "sum_sent": optional(isEndFigures),
  "sum_received": optional(isEndFigures),
  "sum_bidir_reverse": optional(isEndFigures),
  "sum_sent_bidir_reverse": optional(isEndFigures),
  "sum_received_bidir_reverse": optional(isEndFigures),
  "cpu_utilization_percent": optional(
    object<Cpu>({
      "host_total": isNumber,
      "host_user": isNumber,
      "host_system": isNumber,
      "remote_total": isNumber,
      "remote_user": isNumber,
      "remote_system": isNumber,
    }),
  ),
  "sender_tcp_congestion": optional(isString),
  "receiver_tcp_congestion": optional(isString),
  "iperf_ts": optional(
    object<{ "latency": JsonLatency }>({ latency: isLatency }),
  ),
});

const isDocument: Guard<IperfJson> = object<IperfJson>({
  start: isStart,
  intervals: arrayOf(isJsonInterval),
  end: isEnd,
  title: optional(isString),
  "extra_data": optional(isString),
  "server_output_json": optional((v): v is IperfJson => isIperfJson(v)),
  "server_output_text": optional(isString),
  error: optional(isString),
});

/**
 * Whether `value` is a whole `-J` document.
 *
 * @param value a parsed or built document
 * @returns whether it has {@linkcode IperfJson}'s shape
 */
export function isIperfJson(value: unknown): value is IperfJson {
  return isDocument(value);
}
