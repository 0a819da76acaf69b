import assert from "node:assert/strict";
import {
  formatCJson,
  formatCJsonCompact,
  MAX_CJSON_DEPTH,
} from "../../lib/report/cjson.ts";

// The two documents are Appendix B.1 and B.2 of
// shared/reference/iperf3-wire-and-output.md, real `iperf3 -J` output of
// version 3.12, copied byte for byte (tabs included) without the final
// newline, which iperf3 prints after the document.

/** `iperf3 -c 127.0.0.1 -t 2 -J` (Appendix B.1). */
const TCP_CLIENT_DOCUMENT = [
  "{",
  '\t"start":\t{',
  '\t\t"connected":\t[{',
  '\t\t\t\t"socket":\t5,',
  '\t\t\t\t"local_host":\t"127.0.0.1",',
  '\t\t\t\t"local_port":\t33624,',
  '\t\t\t\t"remote_host":\t"127.0.0.1",',
  '\t\t\t\t"remote_port":\t5611',
  "\t\t\t}],",
  '\t\t"version":\t"iperf 3.12",',
  '\t\t"system_info":\t"Linux vm 6.18.44-fc-v769 #1 SMP PREEMPT_DYNAMIC @0 x86_64",',
  '\t\t"timestamp":\t{',
  '\t\t\t"time":\t"Tue, 24 Nov 2026 00:42:10 GMT",',
  '\t\t\t"timesecs":\t1795480930',
  "\t\t},",
  '\t\t"connecting_to":\t{',
  '\t\t\t"host":\t"127.0.0.1",',
  '\t\t\t"port":\t5611',
  "\t\t},",
  '\t\t"cookie":\t"qt3ye4jmha6wt7btqfm7y5elaueghx7qlq64",',
  '\t\t"tcp_mss_default":\t32768,',
  '\t\t"target_bitrate":\t0,',
  '\t\t"sock_bufsize":\t0,',
  '\t\t"sndbuf_actual":\t16384,',
  '\t\t"rcvbuf_actual":\t131072,',
  '\t\t"test_start":\t{',
  '\t\t\t"protocol":\t"TCP",',
  '\t\t\t"num_streams":\t1,',
  '\t\t\t"blksize":\t131072,',
  '\t\t\t"omit":\t0,',
  '\t\t\t"duration":\t2,',
  '\t\t\t"bytes":\t0,',
  '\t\t\t"blocks":\t0,',
  '\t\t\t"reverse":\t0,',
  '\t\t\t"tos":\t0,',
  '\t\t\t"target_bitrate":\t0',
  "\t\t}",
  "\t},",
  '\t"intervals":\t[{',
  '\t\t\t"streams":\t[{',
  '\t\t\t\t\t"socket":\t5,',
  '\t\t\t\t\t"start":\t0,',
  '\t\t\t\t\t"end":\t1.000007,',
  '\t\t\t\t\t"seconds":\t1.0000070333480835,',
  '\t\t\t\t\t"bytes":\t2008023040,',
  '\t\t\t\t\t"bits_per_second":\t16064071335.794657,',
  '\t\t\t\t\t"retransmits":\t12,',
  '\t\t\t\t\t"snd_cwnd":\t1047728,',
  '\t\t\t\t\t"snd_wnd":\t1827840,',
  '\t\t\t\t\t"rtt":\t90,',
  '\t\t\t\t\t"rttvar":\t42,',
  '\t\t\t\t\t"pmtu":\t65535,',
  '\t\t\t\t\t"omitted":\tfalse,',
  '\t\t\t\t\t"sender":\ttrue',
  "\t\t\t\t}],",
  '\t\t\t"sum":\t{',
  '\t\t\t\t"start":\t0,',
  '\t\t\t\t"end":\t1.000007,',
  '\t\t\t\t"seconds":\t1.0000070333480835,',
  '\t\t\t\t"bytes":\t2008023040,',
  '\t\t\t\t"bits_per_second":\t16064071335.794657,',
  '\t\t\t\t"retransmits":\t12,',
  '\t\t\t\t"omitted":\tfalse,',
  '\t\t\t\t"sender":\ttrue',
  "\t\t\t}",
  "\t\t}, {",
  '\t\t\t"streams":\t[{',
  '\t\t\t\t\t"socket":\t5,',
  '\t\t\t\t\t"start":\t1.000007,',
  '\t\t\t\t\t"end":\t2.000367,',
  '\t\t\t\t\t"seconds":\t1.0003600120544434,',
  '\t\t\t\t\t"bytes":\t1630535680,',
  '\t\t\t\t\t"bits_per_second":\t13039591030.044172,',
  '\t\t\t\t\t"retransmits":\t8,',
  '\t\t\t\t\t"snd_cwnd":\t785796,',
  '\t\t\t\t\t"snd_wnd":\t2621440,',
  '\t\t\t\t\t"rtt":\t47,',
  '\t\t\t\t\t"rttvar":\t19,',
  '\t\t\t\t\t"pmtu":\t65535,',
  '\t\t\t\t\t"omitted":\tfalse,',
  '\t\t\t\t\t"sender":\ttrue',
  "\t\t\t\t}],",
  '\t\t\t"sum":\t{',
  '\t\t\t\t"start":\t1.000007,',
  '\t\t\t\t"end":\t2.000367,',
  '\t\t\t\t"seconds":\t1.0003600120544434,',
  '\t\t\t\t"bytes":\t1630535680,',
  '\t\t\t\t"bits_per_second":\t13039591030.044172,',
  '\t\t\t\t"retransmits":\t8,',
  '\t\t\t\t"omitted":\tfalse,',
  '\t\t\t\t"sender":\ttrue',
  "\t\t\t}",
  "\t\t}],",
  '\t"end":\t{',
  '\t\t"streams":\t[{',
  '\t\t\t\t"sender":\t{',
  '\t\t\t\t\t"socket":\t5,',
  '\t\t\t\t\t"start":\t0,',
  '\t\t\t\t\t"end":\t2.000367,',
  '\t\t\t\t\t"seconds":\t2.000367,',
  '\t\t\t\t\t"bytes":\t3638558720,',
  '\t\t\t\t\t"bits_per_second":\t14551564667.883446,',
  '\t\t\t\t\t"retransmits":\t20,',
  '\t\t\t\t\t"max_snd_cwnd":\t1047728,',
  '\t\t\t\t\t"max_snd_wnd":\t2621440,',
  '\t\t\t\t\t"max_rtt":\t90,',
  '\t\t\t\t\t"min_rtt":\t47,',
  '\t\t\t\t\t"mean_rtt":\t68,',
  '\t\t\t\t\t"sender":\ttrue',
  "\t\t\t\t},",
  '\t\t\t\t"receiver":\t{',
  '\t\t\t\t\t"socket":\t5,',
  '\t\t\t\t\t"start":\t0,',
  '\t\t\t\t\t"end":\t2.000425,',
  '\t\t\t\t\t"seconds":\t2.000367,',
  '\t\t\t\t\t"bytes":\t3638558720,',
  '\t\t\t\t\t"bits_per_second":\t14551142762.16304,',
  '\t\t\t\t\t"sender":\ttrue',
  "\t\t\t\t}",
  "\t\t\t}],",
  '\t\t"sum_sent":\t{',
  '\t\t\t"start":\t0,',
  '\t\t\t"end":\t2.000367,',
  '\t\t\t"seconds":\t2.000367,',
  '\t\t\t"bytes":\t3638558720,',
  '\t\t\t"bits_per_second":\t14551564667.883446,',
  '\t\t\t"retransmits":\t20,',
  '\t\t\t"sender":\ttrue',
  "\t\t},",
  '\t\t"sum_received":\t{',
  '\t\t\t"start":\t0,',
  '\t\t\t"end":\t2.000425,',
  '\t\t\t"seconds":\t2.000425,',
  '\t\t\t"bytes":\t3638558720,',
  '\t\t\t"bits_per_second":\t14551142762.16304,',
  '\t\t\t"sender":\ttrue',
  "\t\t},",
  '\t\t"cpu_utilization_percent":\t{',
  '\t\t\t"host_total":\t90.256197959165334,',
  '\t\t\t"host_user":\t2.18260646367516,',
  '\t\t\t"host_system":\t88.073691369947966,',
  '\t\t\t"remote_total":\t44.4031093004074,',
  '\t\t\t"remote_user":\t7.0345672223749656,',
  '\t\t\t"remote_system":\t37.368492089279911',
  "\t\t},",
  '\t\t"sender_tcp_congestion":\t"bbr",',
  '\t\t"receiver_tcp_congestion":\t"bbr"',
  "\t}",
  "}",
].join("\n");

/** `iperf3 -c 127.0.0.1 -u -b 10M -t 2 -J` (Appendix B.2). */
const UDP_CLIENT_DOCUMENT = [
  "{",
  '\t"start":\t{',
  '\t\t"connected":\t[{',
  '\t\t\t\t"socket":\t5,',
  '\t\t\t\t"local_host":\t"127.0.0.1",',
  '\t\t\t\t"local_port":\t43011,',
  '\t\t\t\t"remote_host":\t"127.0.0.1",',
  '\t\t\t\t"remote_port":\t5613',
  "\t\t\t}],",
  '\t\t"version":\t"iperf 3.12",',
  '\t\t"system_info":\t"Linux vm 6.18.44-fc-v769 #1 SMP PREEMPT_DYNAMIC @0 x86_64",',
  '\t\t"timestamp":\t{',
  '\t\t\t"time":\t"Tue, 24 Nov 2026 00:42:15 GMT",',
  '\t\t\t"timesecs":\t1795480935',
  "\t\t},",
  '\t\t"connecting_to":\t{',
  '\t\t\t"host":\t"127.0.0.1",',
  '\t\t\t"port":\t5613',
  "\t\t},",
  '\t\t"cookie":\t"crhw2kvufcxc5lkjv5honhykdhog3ehf7gbf",',
  '\t\t"target_bitrate":\t10000000,',
  '\t\t"sock_bufsize":\t0,',
  '\t\t"sndbuf_actual":\t212992,',
  '\t\t"rcvbuf_actual":\t212992,',
  '\t\t"test_start":\t{',
  '\t\t\t"protocol":\t"UDP",',
  '\t\t\t"num_streams":\t1,',
  '\t\t\t"blksize":\t32768,',
  '\t\t\t"omit":\t0,',
  '\t\t\t"duration":\t2,',
  '\t\t\t"bytes":\t0,',
  '\t\t\t"blocks":\t0,',
  '\t\t\t"reverse":\t0,',
  '\t\t\t"tos":\t0,',
  '\t\t\t"target_bitrate":\t10000000',
  "\t\t}",
  "\t},",
  '\t"intervals":\t[{',
  '\t\t\t"streams":\t[{',
  '\t\t\t\t\t"socket":\t5,',
  '\t\t\t\t\t"start":\t0,',
  '\t\t\t\t\t"end":\t1.00017,',
  '\t\t\t\t\t"seconds":\t1.0001699924468994,',
  '\t\t\t\t\t"bytes":\t1277952,',
  '\t\t\t\t\t"bits_per_second":\t10221878.357886035,',
  '\t\t\t\t\t"packets":\t39,',
  '\t\t\t\t\t"omitted":\tfalse,',
  '\t\t\t\t\t"sender":\ttrue',
  "\t\t\t\t}],",
  '\t\t\t"sum":\t{',
  '\t\t\t\t"start":\t0,',
  '\t\t\t\t"end":\t1.00017,',
  '\t\t\t\t"seconds":\t1.0001699924468994,',
  '\t\t\t\t"bytes":\t1277952,',
  '\t\t\t\t"bits_per_second":\t10221878.357886035,',
  '\t\t\t\t"packets":\t39,',
  '\t\t\t\t"omitted":\tfalse,',
  '\t\t\t\t"sender":\ttrue',
  "\t\t\t}",
  "\t\t}, {",
  '\t\t\t"streams":\t[{',
  '\t\t\t\t\t"socket":\t5,',
  '\t\t\t\t\t"start":\t1.00017,',
  '\t\t\t\t\t"end":\t2.000226,',
  '\t\t\t\t\t"seconds":\t1.0000560283660889,',
  '\t\t\t\t\t"bytes":\t1245184,',
  '\t\t\t\t\t"bits_per_second":\t9960913.90626908,',
  '\t\t\t\t\t"packets":\t38,',
  '\t\t\t\t\t"omitted":\tfalse,',
  '\t\t\t\t\t"sender":\ttrue',
  "\t\t\t\t}],",
  '\t\t\t"sum":\t{',
  '\t\t\t\t"start":\t1.00017,',
  '\t\t\t\t"end":\t2.000226,',
  '\t\t\t\t"seconds":\t1.0000560283660889,',
  '\t\t\t\t"bytes":\t1245184,',
  '\t\t\t\t"bits_per_second":\t9960913.90626908,',
  '\t\t\t\t"packets":\t38,',
  '\t\t\t\t"omitted":\tfalse,',
  '\t\t\t\t"sender":\ttrue',
  "\t\t\t}",
  "\t\t}],",
  '\t"end":\t{',
  '\t\t"streams":\t[{',
  '\t\t\t\t"udp":\t{',
  '\t\t\t\t\t"socket":\t5,',
  '\t\t\t\t\t"start":\t0,',
  '\t\t\t\t\t"end":\t2.000226,',
  '\t\t\t\t\t"seconds":\t2.000226,',
  '\t\t\t\t\t"bytes":\t2523136,',
  '\t\t\t\t\t"bits_per_second":\t10091403.671385134,',
  '\t\t\t\t\t"jitter_ms":\t0.040190310614869,',
  '\t\t\t\t\t"lost_packets":\t0,',
  '\t\t\t\t\t"packets":\t77,',
  '\t\t\t\t\t"lost_percent":\t0,',
  '\t\t\t\t\t"out_of_order":\t0,',
  '\t\t\t\t\t"sender":\ttrue',
  "\t\t\t\t}",
  "\t\t\t}],",
  '\t\t"sum":\t{',
  '\t\t\t"start":\t0,',
  '\t\t\t"end":\t2.000309,',
  '\t\t\t"seconds":\t2.000309,',
  '\t\t\t"bytes":\t2523136,',
  '\t\t\t"bits_per_second":\t10091403.671385134,',
  '\t\t\t"jitter_ms":\t0.040190310614869,',
  '\t\t\t"lost_packets":\t0,',
  '\t\t\t"packets":\t77,',
  '\t\t\t"lost_percent":\t0,',
  '\t\t\t"sender":\ttrue',
  "\t\t},",
  '\t\t"sum_sent":\t{',
  '\t\t\t"start":\t0,',
  '\t\t\t"end":\t2.000226,',
  '\t\t\t"seconds":\t2.000226,',
  '\t\t\t"bytes":\t2523136,',
  '\t\t\t"bits_per_second":\t10091403.671385134,',
  '\t\t\t"jitter_ms":\t0,',
  '\t\t\t"lost_packets":\t0,',
  '\t\t\t"packets":\t77,',
  '\t\t\t"lost_percent":\t0,',
  '\t\t\t"sender":\ttrue',
  "\t\t},",
  '\t\t"sum_received":\t{',
  '\t\t\t"start":\t0,',
  '\t\t\t"end":\t2.000309,',
  '\t\t\t"seconds":\t2.000309,',
  '\t\t\t"bytes":\t2523136,',
  '\t\t\t"bits_per_second":\t10090984.942826333,',
  '\t\t\t"jitter_ms":\t0.040190310614869,',
  '\t\t\t"lost_packets":\t0,',
  '\t\t\t"packets":\t77,',
  '\t\t\t"lost_percent":\t0,',
  '\t\t\t"sender":\tfalse',
  "\t\t},",
  '\t\t"cpu_utilization_percent":\t{',
  '\t\t\t"host_total":\t1.8352908970290855,',
  '\t\t\t"host_user":\t1.47676500443599,',
  '\t\t\t"host_system":\t0.358475937752272,',
  '\t\t\t"remote_total":\t0.16792296440273116,',
  '\t\t\t"remote_user":\t0.11228192261045972,',
  '\t\t\t"remote_system":\t0.055641041792271445',
  "\t\t}",
  "\t}",
  "}",
].join("\n");

Deno.test("formatCJson() reproduces the iperf3 3.12 TCP client document", () => {
  assert.equal(
    formatCJson(JSON.parse(TCP_CLIENT_DOCUMENT)),
    TCP_CLIENT_DOCUMENT,
  );
});

Deno.test("formatCJson() reproduces the iperf3 3.12 UDP client document", () => {
  assert.equal(
    formatCJson(JSON.parse(UDP_CLIENT_DOCUMENT)),
    UDP_CLIENT_DOCUMENT,
  );
});

// Every expected number below was printed by iperf3's own src/cjson.c (the
// 3.17 copy, which prints integers signed) for the same double.

Deno.test("formatCJson() prints integers without a fraction", () => {
  assert.equal(formatCJson(0), "0");
  assert.equal(formatCJson(-0), "0");
  assert.equal(formatCJson(-1), "-1");
  assert.equal(formatCJson(131072), "131072");
  assert.equal(formatCJson(16064071335), "16064071335");
  assert.equal(formatCJson(1e15), "1000000000000000");
});

Deno.test("formatCJson() prints the exact value of integers above 2^53", () => {
  assert.equal(formatCJson(2 ** 53 + 2), "9007199254740994");
  assert.equal(formatCJson(1e16 + 2), "10000000000000002");
  assert.equal(formatCJson(-(2 ** 63)), "-9223372036854775808");
});

Deno.test("formatCJson() saturates at the int64 range like cJSON_CreateNumber", () => {
  // 2^63 is stored as LLONG_MAX, whose double is 2^63 again.
  assert.equal(formatCJson(2 ** 63), "9223372036854775807");
  assert.equal(formatCJson(2 ** 64), "1.8446744073709552e+19");
  assert.equal(formatCJson(1e21), "1e+21");
});

Deno.test("formatCJson() prints fractions with %1.15g", () => {
  assert.equal(formatCJson(0.1), "0.1");
  assert.equal(formatCJson(-0.5), "-0.5");
  assert.equal(formatCJson(5.6e-05), "5.6e-05");
  assert.equal(formatCJson(1.5e-7), "1.5e-07");
  assert.equal(formatCJson(0.000123), "0.000123");
  assert.equal(formatCJson(123456.789), "123456.789");
  assert.equal(formatCJson(-1e-300), "-1e-300");
});

Deno.test("formatCJson() falls back to %1.17g when 15 digits lose the value", () => {
  assert.equal(formatCJson(1 / 3), "0.33333333333333331");
  assert.equal(
    formatCJson(0.00035399998887442052),
    "0.00035399998887442052",
  );
  assert.equal(formatCJson(1.0000070333480835), "1.0000070333480835");
  assert.equal(formatCJson(16064071335.794657), "16064071335.794657");
  assert.equal(formatCJson(90.256197959165334), "90.256197959165334");
});

Deno.test("formatCJson() keeps 15 digits that read back within one DBL_EPSILON", () => {
  // cJSON's compare_double accepts a neighbouring double, so these print
  // shorter than an exact round trip would need.
  assert.equal(formatCJson(0.1 + 0.2), "0.3");
  assert.equal(formatCJson(3.6796670000000002), "3.679667");
  assert.equal(formatCJson(2.3894307613372803), "2.38943076133728");
  assert.equal(formatCJson(Number.MAX_VALUE), "1.79769313486232e+308");
  assert.equal(formatCJson(Number.MIN_VALUE), "4.94065645841247e-324");
});

Deno.test("formatCJson() prints NaN and infinities as null", () => {
  assert.equal(formatCJson(NaN), "null");
  assert.equal(formatCJsonCompact([Infinity, -Infinity]), "[null,null]");
  assert.equal(formatCJson({ jitter_ms: NaN }), '{\n\t"jitter_ms":\tnull\n}');
});

Deno.test("formatCJson() lays out nested and empty objects and arrays like cJSON_Print", () => {
  const value = {
    e: {},
    a: [],
    nest: [{}, [1, {}, { k: "v" }]],
    t: true,
    f: false,
    n: null,
  };
  const expected = [
    "{",
    '\t"e":\t{',
    "\t},",
    '\t"a":\t[],',
    '\t"nest":\t[{',
    "\t\t}, [1, {",
    "\t\t\t}, {",
    '\t\t\t\t"k":\t"v"',
    "\t\t\t}]],",
    '\t"t":\ttrue,',
    '\t"f":\tfalse,',
    '\t"n":\tnull',
    "}",
  ].join("\n");
  assert.equal(formatCJson(value), expected);
  assert.equal(formatCJson({}), "{\n}");
  assert.equal(formatCJson([]), "[]");
  assert.equal(formatCJson([{}]), "[{\n\t}]");
  assert.equal(formatCJson([1, "a", [2, 3]]), '[1, "a", [2, 3]]');
});

Deno.test("formatCJson() escapes strings like cJSON", () => {
  const text = 'q"b\\s/\b\f\n\r\t\x00\x01\x1f\x7f caf\u00e9 \u{1f600}';
  assert.equal(
    formatCJson(text),
    '"q\\"b\\\\s/\\b\\f\\n\\r\\t\\u0000\\u0001\\u001f\x7f caf\u00e9 \u{1f600}"',
  );
  assert.equal(formatCJson({ 'k"\n': 1 }), '{\n\t"k\\"\\n":\t1\n}');
});

Deno.test("formatCJson() skips undefined members and prints undefined elements as null", () => {
  assert.equal(
    formatCJson({ a: 1, b: undefined, c: 2 }),
    '{\n\t"a":\t1,\n\t"c":\t2\n}',
  );
  assert.equal(formatCJson({ b: undefined }), "{\n}");
  assert.equal(formatCJson([1, undefined]), "[1, null]");
});

Deno.test("formatCJson() rejects values JSON cannot hold", () => {
  assert.throws(() => formatCJson(undefined), TypeError);
  assert.throws(() => formatCJson({ a: 1n }), TypeError);
  assert.throws(() => formatCJson([() => 1]), TypeError);
  assert.throws(() => formatCJson({ s: Symbol("s") }), TypeError);
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  assert.throws(() => formatCJson(cycle), {
    name: "TypeError",
    message: "Cannot format value as JSON: circular reference",
  });
});

Deno.test("formatCJson() allows the same object twice when it is not a cycle", () => {
  const shared = { x: 1 };
  assert.equal(
    formatCJsonCompact({ a: shared, b: [shared] }),
    '{"a":{"x":1},"b":[{"x":1}]}',
  );
});

Deno.test("formatCJsonCompact() prints without whitespace like cJSON_PrintUnformatted", () => {
  const value = {
    e: {},
    a: [],
    nest: [{}, [1, {}, { k: "v" }]],
    s: 'q"\t',
    t: true,
    n: null,
  };
  assert.equal(
    formatCJsonCompact(value),
    '{"e":{},"a":[],"nest":[{},[1,{},{"k":"v"}]],"s":"q\\"\\t","t":true,"n":null}',
  );
  assert.equal(formatCJsonCompact({ a: 1, b: [1, 2] }), '{"a":1,"b":[1,2]}');
  assert.equal(
    formatCJsonCompact({
      event: "interval",
      data: { bits_per_second: 90.256197959165334 },
    }),
    '{"event":"interval","data":{"bits_per_second":90.256197959165334}}',
  );
});

Deno.test("formatCJsonCompact() prints the captured documents with the same numbers", () => {
  const value = JSON.parse(TCP_CLIENT_DOCUMENT);
  const compact = formatCJsonCompact(value);
  assert.equal(/\s/.test(compact.replaceAll(/"[^"]*"/g, "")), false);
  assert.deepEqual(JSON.parse(compact), value);
  assert.ok(compact.includes('"seconds":1.0000070333480835,'));
});

/** Arrays or objects nested `levels` deep, built without recursion. */
function nested(levels: number, kind: "array" | "object"): unknown {
  let value: unknown = kind === "array" ? [] : {};
  for (let i = 1; i < levels; i++) {
    value = kind === "array" ? [value] : { a: value };
  }
  return value;
}

Deno.test("formatCJson() refuses a value nested deeper than MAX_CJSON_DEPTH with its own RangeError", () => {
  assert.equal(MAX_CJSON_DEPTH, 256);
  const message = "Cannot format value as JSON: nesting deeper than 256 levels";
  for (const kind of ["array", "object"] as const) {
    for (const levels of [MAX_CJSON_DEPTH + 1, 100_000]) {
      for (const format of [formatCJson, formatCJsonCompact]) {
        assert.throws(
          () => format(nested(levels, kind)),
          (error: unknown) => {
            // Not V8's "Maximum call stack size exceeded".
            assert.ok(error instanceof RangeError);
            assert.equal(error.message, message);
            return true;
          },
        );
      }
    }
  }
});

Deno.test("formatCJson() prints a value nested exactly MAX_CJSON_DEPTH levels", () => {
  const arrays = nested(MAX_CJSON_DEPTH, "array");
  assert.equal(
    formatCJson(arrays),
    "[".repeat(MAX_CJSON_DEPTH) + "]".repeat(MAX_CJSON_DEPTH),
  );
  const objects = nested(MAX_CJSON_DEPTH, "object");
  assert.deepEqual(JSON.parse(formatCJson(objects)), objects);
  assert.equal(formatCJsonCompact(objects), JSON.stringify(objects));
});
