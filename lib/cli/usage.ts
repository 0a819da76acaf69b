/**
 * Help texts, in iperf3's layout, listing the flags iperf-ts implements.
 *
 * @module
 */

/** iperf3's short usage, printed after a parameter error. */
export const USAGE_SHORT = "Usage: iperf3 [-s|-c host] [options]\n" +
  "Try `iperf3 --help' for more information.\n";

/** The `--help` text. */
export const USAGE_LONG = `Usage: iperf3 [-s|-c host] [options]
       iperf3 [-h|--help] [-v|--version]

iperf-ts: an iperf3-compatible network throughput tester (TypeScript, Deno).

Server or Client:
  -p, --port      #         server port to listen on/connect to (default 5201)
  -f, --format   [kmgtKMGT] format to report: Kbits, Mbits, Gbits, Tbits
  -i, --interval  #         seconds between periodic throughput reports
                            (default 1, 0 to disable)
  -B, --bind      <host>    bind to the interface associated with the address <host>
                            (server only in iperf-ts)
  -V, --verbose             more detailed output
  -4, --version4            only use IPv4
  -6, --version6            only use IPv6
  --data-threads  #         threads that move the streams' bytes (Linux with
                            --allow-ffi; default: one per CPU); 0 moves them
                            in the main thread (the in-process loops)
  -v, --version             show version information and quit
  -h, --help                show this message and quit
Server specific:
  -s, --server              run in server mode
  -1, --one-off             handle one client connection then exit
Client specific:
  -c, --client    <host>    run in client mode, connecting to <host>
  --connect-timeout #       timeout for control connection setup (ms)
  -b, --bitrate #[KMG][/#]  target bitrate in bits/sec per stream (0 for unlimited)
  -t, --time      #         time in seconds to transmit for (default 10 secs)
  -n, --bytes     #[KMG]    number of bytes to transmit (instead of -t)
  -k, --blockcount #[KMG]   number of blocks (packets) to transmit (instead of -t or -n)
  -l, --length    #[KMG]    length of buffer to read or write (default 128 KB)
  -P, --parallel  #         number of parallel client streams to run (1-128)
  -R, --reverse             run in reverse mode (server sends, client receives)
  --bidir                   run in bidirectional mode.
                            Client and server send and receive data.
  -N, --no-delay            set TCP no delay, disabling Nagle's Algorithm
  -O, --omit N              perform pre-test for N seconds and omit the pre-test statistics
  -T, --title str           prefix every output line with this string
  --repeating-payload       use repeating pattern in payload, instead of
                            randomized payload (like in iperf2)
  --gsro                    enable UDP GSO/GRO on both client and server
                            (client-only option; needs the data-plane threads)

[KMG] indicates options that support a K/M/G suffix for kilo-, mega-, or giga-

Other iperf3 options are recognised and answered with the issue that adds them.
`;
