/**
 * The types of iperf3's `-J` document, as iperf-ts prints it and as the
 * library API returns it. Keys are iperf3's (snake_case); optional members
 * are the ones iperf3 prints only in some tests (UDP, `--bidir`, a peer with
 * TCP_INFO, `--get-server-output`, a failure).
 *
 * @module
 */

/** One `start.connected[]` entry: a data stream's addresses. */
export interface JsonConnected {
  /** The stream's socket number. */
  "socket": number;
  /** This side's address. */
  "local_host": string;
  /** This side's port. */
  "local_port": number;
  /** The peer's address. */
  "remote_host": string;
  /** The peer's port. */
  "remote_port": number;
}

/** `start.test_start`: the test as asked for. */
export interface JsonTestStart {
  /** `"TCP"` or `"UDP"`. */
  "protocol": string;
  /** `-P`. */
  "num_streams": number;
  /** `-l`. */
  "blksize": number;
  /** `-O`. */
  "omit": number;
  /** `-t` (0 with `-n`/`-k`). */
  "duration": number;
  /** `-n`. */
  "bytes": number;
  /** `-k`. */
  "blocks": number;
  /** 1 with `-R`. */
  "reverse": number;
  /** `-S`. */
  "tos": number;
  /** `-b` in bits/s. */
  "target_bitrate": number;
  /** 1 with `--bidir` (iperf3 3.13+). */
  "bidir"?: number;
}

/** The document's `start` object. */
export interface JsonStart {
  /** One entry per data stream. */
  "connected": JsonConnected[];
  /** `iperf 3.21 (iperf-ts x.y.z)`. */
  "version": string;
  /** The `uname`-style line. */
  "system_info": string;
  /** When the test connected. */
  "timestamp"?: { "time": string; "timesecs": number };
  /** Client: where it connected. */
  "connecting_to"?: { "host": string; "port": number };
  /** Server: who connected. */
  "accepted_connection"?: { "host": string; "port": number };
  /** The test's cookie. */
  "cookie"?: string;
  /** The control connection's MSS (0: unknown). */
  "tcp_mss_default"?: number;
  /** `-M`, when given. */
  "tcp_mss"?: number;
  /** `-b` in bits/s. */
  "target_bitrate"?: number;
  /** `-w`. */
  "sock_bufsize"?: number;
  /** The socket's send buffer, where known. */
  "sndbuf_actual"?: number;
  /** The socket's receive buffer, where known. */
  "rcvbuf_actual"?: number;
  /** The test as asked for. */
  "test_start"?: JsonTestStart;
}

/** Figures common to every interval and summary object. */
export interface JsonFigures {
  /** Seconds from the stream's start. */
  "start": number;
  /** Seconds from the stream's start. */
  "end": number;
  /** Length in seconds. */
  "seconds": number;
  /** Bytes moved. */
  "bytes": number;
  /** bytes / seconds × 8. */
  "bits_per_second": number;
  /** TCP sender with TCP_INFO: retransmits. */
  "retransmits"?: number;
  /** UDP: datagrams. */
  "packets"?: number;
  /** UDP receiver: jitter in milliseconds. */
  "jitter_ms"?: number;
  /** UDP receiver: datagrams lost. */
  "lost_packets"?: number;
  /** UDP receiver: percent lost. */
  "lost_percent"?: number;
  /** Whether the local streams of this direction send. */
  "sender": boolean;
}

/** One stream in one interval. */
export interface JsonIntervalStream extends JsonFigures {
  /** The stream's socket number. */
  "socket": number;
  /** TCP sender with TCP_INFO: congestion window in bytes at the interval's end. */
  "snd_cwnd"?: number;
  /** TCP sender with TCP_INFO: the peer's advertised window in bytes. */
  "snd_wnd"?: number;
  /** TCP sender with TCP_INFO: smoothed RTT in microseconds. */
  "rtt"?: number;
  /** TCP sender with TCP_INFO: RTT variation in microseconds. */
  "rttvar"?: number;
  /** TCP sender with TCP_INFO: path MTU in bytes. */
  "pmtu"?: number;
  /** Whether the interval lies in the omit period. */
  "omitted": boolean;
}

/** One direction's sum in one interval. */
export interface JsonIntervalSum extends JsonFigures {
  /** Whether the interval lies in the omit period. */
  "omitted": boolean;
}

/** `intervals[].iperf_ts.latency` (`--latency`, iperf-ts's own; iperf3's readers ignore it). */
export interface JsonIntervalLatency {
  /** The interval's median probe RTT in ms (null without answers). */
  "rtt_ms": number | null;
  /** The probe answers that arrived in the interval. */
  "probe": {
    /** Answers. */
    "count": number;
    /** Probes whose second to answer ran out in the interval. */
    "lost": number;
    /** Smallest RTT, ms. */
    "min_ms": number | null;
    /** Median RTT, ms. */
    "median_ms": number | null;
    /** Largest RTT, ms. */
    "max_ms": number | null;
  };
  /** The mean TCP_INFO RTT of the interval's samples, ms (null without TCP_INFO). */
  "tcp_rtt_ms": number | null;
}

/** One element of `intervals`. */
export interface JsonInterval {
  /** Every stream. */
  "streams": JsonIntervalStream[];
  /** The client-to-server direction (or the only one). */
  "sum": JsonIntervalSum;
  /** `--bidir`: the server-to-client direction. */
  "sum_bidir_reverse"?: JsonIntervalSum;
  /** iperf-ts's own figures: `--latency`. */
  "iperf_ts"?: { "latency": JsonIntervalLatency };
}

/** RTT figures in `end.iperf_ts.latency`, ms; null without samples. */
export interface JsonRttFigures {
  /** Samples. */
  "count": number;
  /** Smallest. */
  "min_ms": number | null;
  /** Median. */
  "median_ms": number | null;
  /** 90th percentile. */
  "p90_ms": number | null;
  /** 99th percentile. */
  "p99_ms": number | null;
  /** Largest. */
  "max_ms": number | null;
}

/** `end.iperf_ts.latency` (`--latency`; see docs/latency.md). */
export interface JsonLatency {
  /** Before the load: the probe flow, or the control connection's TCP_INFO when the server does not answer. */
  "idle": JsonRttFigures & {
    /** Idle probes not answered (probe source only). */
    "lost"?: number;
    /** Where the figures come from. */
    "source": "probe" | "tcp_info";
  };
  /** Under load. */
  "loaded": {
    /** The probe flow (null when the server does not answer it). */
    "probe": (JsonRttFigures & { "lost": number }) | null;
    /** TCP_INFO samples every 100 ms (null without TCP_INFO). */
    "tcp_info":
      | (JsonRttFigures & {
        /** Which sockets. */
        "source": "sending_streams" | "receiving_streams" | "control";
      })
      | null;
  };
  /** Responsiveness, round trips per minute. */
  "rpm": {
    /** The mean of `foreign` and `self`, or the one that exists. */
    "value": number | null;
    /** From the loaded probe flow. */
    "foreign": number | null;
    /** From the load's TCP_INFO RTT. */
    "self": number | null;
  };
  /** Whether the server answered the probes. */
  "server_echo": boolean;
  /** Present when it did not: why the figures come from TCP_INFO only. */
  "note"?: string;
}

/** A summary object in `end`. */
export interface JsonEndFigures extends JsonFigures {
  /** The stream's socket number (per-stream objects only). */
  "socket"?: number;
  /** UDP per stream: datagrams out of order. */
  "out_of_order"?: number;
  /** TCP sender with retransmit counts: largest congestion window, bytes (0 when the peer sent). */
  "max_snd_cwnd"?: number;
  /** Largest peer window, bytes. */
  "max_snd_wnd"?: number;
  /** Largest RTT sample, microseconds. */
  "max_rtt"?: number;
  /** Smallest RTT sample, microseconds. */
  "min_rtt"?: number;
  /** Integer mean of the RTT samples, microseconds. */
  "mean_rtt"?: number;
}

/** One element of `end.streams`: TCP has `sender` and `receiver`, UDP `udp`. */
export interface JsonEndStream {
  /** TCP: the sending side's totals. */
  "sender"?: JsonEndFigures;
  /** TCP: the receiving side's totals. */
  "receiver"?: JsonEndFigures;
  /** UDP: one merged object. */
  "udp"?: JsonEndFigures;
}

/** The document's `end` object (empty when the test never ran). */
export interface JsonEnd {
  /** Per stream. */
  "streams"?: JsonEndStream[];
  /** UDP's legacy sum. */
  "sum"?: JsonEndFigures;
  /** What was sent. */
  "sum_sent"?: JsonEndFigures;
  /** What was received: `jq .end.sum_received.bits_per_second`. */
  "sum_received"?: JsonEndFigures;
  /** `--bidir`, UDP: the reverse direction's legacy sum. */
  "sum_bidir_reverse"?: JsonEndFigures;
  /** `--bidir`: the reverse direction's sent totals. */
  "sum_sent_bidir_reverse"?: JsonEndFigures;
  /** `--bidir`: the reverse direction's received totals. */
  "sum_received_bidir_reverse"?: JsonEndFigures;
  /** Process CPU use in percent of wall time. */
  "cpu_utilization_percent"?: {
    "host_total": number;
    "host_user": number;
    "host_system": number;
    "remote_total": number;
    "remote_user": number;
    "remote_system": number;
  };
  /** The sending side's TCP congestion control, when known. */
  "sender_tcp_congestion"?: string;
  /** The receiving side's TCP congestion control, when known. */
  "receiver_tcp_congestion"?: string;
  /** iperf-ts's own figures: `--latency`. */
  "iperf_ts"?: { "latency": JsonLatency };
}

/** The whole `-J` document. */
export interface IperfJson {
  /** Set-up. */
  "start": JsonStart;
  /** One entry per reporting interval. */
  "intervals": JsonInterval[];
  /** Totals. */
  "end": JsonEnd;
  /** `-T`. */
  "title"?: string;
  /** `--extra-data`. */
  "extra_data"?: string;
  /** `--get-server-output` from a `-J` server. */
  "server_output_json"?: IperfJson;
  /** `--get-server-output` from a text server. */
  "server_output_text"?: string;
  /** Why the test failed. */
  "error"?: string;
}
