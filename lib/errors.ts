/**
 * Every error class of iperf-ts, and iperf3's error numbers (`i_errno`) with
 * the texts iperf3 prints for them.
 *
 * Library code throws these; only `main.ts` turns them into an
 * `iperf3: error - ...` line and an exit code.
 *
 * @module
 */

/** iperf3's `i_errno` values that iperf-ts produces or understands (see iperf_api.h). */
export const ERROR_CODES = {
  IENONE: 0,
  IEDURATION: 5,
  IENUMSTREAMS: 6,
  IEBLOCKSIZE: 7,
  IEBUFSIZE: 8,
  IEINTERVAL: 9,
  IEMSS: 10,
  IEOMIT: 12,
  IEUNIMP: 13,
  IEFILE: 14,
  IEBURST: 15,
  IEENDCONDITIONS: 16,
  IEUDPBLOCKSIZE: 20,
  IEBADTOS: 21,
  IEBADFORMAT: 24,
  IEREVERSEBIDIR: 25,
  IEBADPORT: 26,
  IEUDPFILETRANSFER: 34,
  IETOTALRATE: 27,
  IECNTLKA: 36,
  IEMAXSERVERTESTDURATION: 37,
  IEINITTEST: 101,
  IELISTEN: 102,
  IECONNECT: 103,
  IEACCEPT: 104,
  IESENDCOOKIE: 105,
  IERECVCOOKIE: 106,
  IECTRLWRITE: 107,
  IECTRLREAD: 108,
  IECTRLCLOSE: 109,
  IEMESSAGE: 110,
  IESENDMESSAGE: 111,
  IERECVMESSAGE: 112,
  IESENDPARAMS: 113,
  IERECVPARAMS: 114,
  IESENDRESULTS: 116,
  IERECVRESULTS: 117,
  IECLIENTTERM: 119,
  IESERVERTERM: 120,
  IEACCESSDENIED: 121,
  IESETNODELAY: 122,
  IESETMSS: 123,
  IESETBUF: 124,
  IESETTOS: 125,
  IESETCOS: 126,
  IESETFLOW: 127,
  IEPROTOCOL: 131,
  IESETCONGESTION: 134,
  IESETBUF2: 141,
  IEAUTHTEST: 142,
  IENOMSG: 144,
  IESETDONTFRAGMENT: 145,
  IESETUSERTIMEOUT: 148,
  IESETCNTLKA: 155,
  IESETCNTLKAKEEPIDLE: 156,
  IESETCNTLKAINTERVAL: 157,
  IESETCNTLKACOUNT: 158,
  IECREATESTREAM: 200,
  IEINITSTREAM: 201,
  IESTREAMLISTEN: 202,
  IESTREAMCONNECT: 203,
  IESTREAMACCEPT: 204,
  IESTREAMWRITE: 205,
  IESTREAMREAD: 206,
  IESTREAMCLOSE: 207,
  IESTREAMID: 208,
} as const;

/** One of the `i_errno` values in {@linkcode ERROR_CODES}. */
export type ErrorCode = typeof ERROR_CODES[keyof typeof ERROR_CODES];

/** The text iperf3 prints for each code (iperf_error.c, 3.12; IECONNECT as in 3.21, which says more). */
const ERROR_TEXTS: Readonly<Record<number, string>> = {
  0: "no error",
  5: "test duration too long (maximum = 86400 seconds)",
  6: "number of parallel streams too large (maximum = 128)",
  7: "block size too large (maximum = 1048576 bytes)",
  8: "socket buffer size too large (maximum = 536870912 bytes)",
  9: "invalid report interval (min = 0.1, max = 60 seconds)",
  10: "TCP MSS too large (maximum = 32767 bytes)",
  12: "bogus value for --omit",
  13: "an option you are trying to set is not implemented yet",
  14: "unable to open -F file",
  15: "invalid burst count (maximum = 1000)",
  16: "only one test end condition (-t, -n, -k) may be specified",
  20: "block size invalid (minimum = 16 bytes, maximum = 65507 bytes)",
  21: "bad TOS value (must be between 0 and 255 inclusive)",
  24: "bad format specifier (valid formats are in the set [kmgtKMGT])",
  25: "cannot be both reverse and bidirectional",
  26: "port number must be between 1 and 65535 inclusive",
  34: "cannot transfer file using UDP",
  27: "total required bandwidth is larger than server limit",
  36:
    "control connection Keepalive period should be larger than the full retry period (interval * count)",
  37:
    "client's requested duration exceeds the server's maximum permitted limit",
  101: "test initialization failed",
  102: "unable to start listener for connections",
  103:
    "unable to connect to server - server may have stopped running or use a different port, firewall issue, etc.",
  104: "unable to accept connection from client",
  105: "unable to send cookie to server",
  106: "unable to receive cookie at server",
  107: "unable to write to the control socket",
  108: "unable to read from the control socket",
  109: "control socket has closed unexpectedly",
  110: "received an unknown control message",
  111: "unable to send control message",
  112: "unable to receive control message",
  113: "unable to send parameters to server",
  114: "unable to receive parameters from client",
  115: "unable to package results",
  116: "unable to send results",
  117: "unable to receive results",
  119: "the client has terminated",
  120: "the server has terminated",
  121: "the server is busy running a test. try again later",
  122: "unable to set TCP/SCTP NODELAY",
  123: "unable to set TCP/SCTP MSS",
  124: "unable to set socket buffer size",
  125: "unable to set IP TOS",
  126: "unable to set IPv6 traffic class",
  127: "unable to set IPv6 flow label",
  131: "protocol does not exist",
  134:
    "unable to set TCP_CONGESTION: Supplied congestion control algorithm not supported on this host",
  141: "socket buffer size not set correctly",
  142: "test authorization failed",
  144: "idle timeout for receiving data",
  145: "unable to set IP Do-Not-Fragment flag",
  148: "unable to set TCP USER_TIMEOUT",
  155: "unable to set socket keepalive (SO_KEEPALIVE) option",
  156: "unable to set socket keepalive TCP period (TCP_KEEPIDLE) option",
  157:
    "unable to set/get socket keepalive TCP retry interval (TCP_KEEPINTVL) option",
  158:
    "unable to set/get socket keepalive TCP number of retries (TCP_KEEPCNT) option",
  200: "unable to create a new stream",
  201: "unable to initialize stream",
  202: "unable to start stream listener",
  203: "unable to connect stream",
  204: "unable to accept stream connection",
  205: "unable to write to stream socket",
  206: "unable to read from stream socket",
  207: "stream socket has closed unexpectedly",
  208: "stream has an invalid id",
};

/**
 * The text iperf3 prints for an `i_errno` value, `int_errno=N` for unknown ones.
 *
 * @param code iperf3's error number
 * @returns the message, lower case as iperf3 prints it
 */
export function errorText(code: number): string {
  return ERROR_TEXTS[code] ?? `int_errno=${code}`;
}

/** Options shared by the error constructors. */
export interface IperfErrorOptions {
  /** The OS-level reason, printed after a colon (iperf3's `strerror(errno)`). */
  detail?: string;
  /** The underlying error. */
  cause?: unknown;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * Base class of every runtime failure that iperf3 reports with an `i_errno`.
 * `iperfText` is the line iperf3 prints after `iperf3: error - `.
 */
export class IperfError extends Error {
  /** iperf3's error number for this failure. */
  readonly code: number;
  /** The OS-level reason, if any. */
  readonly detail: string | undefined;

  /**
   * Creates an instance.
   *
   * @param code iperf3's error number
   * @param options detail and cause
   */
  constructor(code: number, options: IperfErrorOptions = {}) {
    const text = errorText(code) +
      (options.detail === undefined ? "" : `: ${options.detail}`);
    super(capitalize(text), { cause: options.cause });
    this.name = "IperfError";
    this.code = code;
    this.detail = options.detail;
  }

  /** The message exactly as iperf3 prints it (lower case, with the OS reason). */
  get iperfText(): string {
    return errorText(this.code) +
      (this.detail === undefined ? "" : `: ${this.detail}`);
  }
}

/** Options of {@linkcode ProtocolError}. */
export interface ProtocolErrorOptions extends IperfErrorOptions {
  /** What the protocol called for at this point. */
  expected?: string;
  /** What arrived instead. */
  received?: string;
}

/** The peer broke the protocol: unexpected state, malformed frame, bad cookie. */
export class ProtocolError extends IperfError {
  /** What the protocol called for at this point. */
  readonly expected: string | undefined;
  /** What arrived instead. */
  readonly received: string | undefined;

  /**
   * Creates an instance.
   *
   * @param code iperf3's error number (usually `IEMESSAGE` or `IECTRLCLOSE`)
   * @param options expected/received states, detail and cause
   */
  constructor(code: number, options: ProtocolErrorOptions = {}) {
    super(code, options);
    this.name = "ProtocolError";
    this.expected = options.expected;
    this.received = options.received;
  }
}

/** The server refused the test because it is busy (state ACCESS_DENIED). */
export class AccessDeniedError extends IperfError {
  /**
   * Creates an instance.
   *
   * @param options cause
   */
  constructor(options: IperfErrorOptions = {}) {
    super(ERROR_CODES.IEACCESSDENIED, options);
    this.name = "AccessDeniedError";
  }
}

/**
 * The `i_errno` values after which iperf3 prints `strerror(errno)`
 * (`perr = 1` in 3.21's `iperf_strerror`). For the others the errno a peer
 * sends is whatever its errno held, often stale: 3.21's server sends EBADF
 * with IESETBUF2, and iperf3 prints only "socket buffer size not set
 * correctly".
 */
const WITH_ERRNO: ReadonlySet<number> = new Set([
  14,
  17,
  31,
  32,
  33,
  36,
  100,
  101,
  102,
  103,
  104,
  105,
  106,
  107,
  108,
  111,
  112,
  113,
  114,
  115,
  116,
  117,
  118,
  122,
  123,
  124,
  125,
  126,
  128,
  129,
  130,
  132,
  133,
  135,
  136,
  137,
  138,
  140,
  148,
  150,
  151,
  152,
  153,
  155,
  156,
  157,
  158,
  160,
  201,
  202,
  203,
  204,
  205,
  206,
  300,
  301,
]);

/** The peer sent SERVER_ERROR with iperf3's `i_errno` and, usually, `errno`. */
export class ServerError extends IperfError {
  /** The OS errno the server sent, if it sent one. */
  readonly errno: number | undefined;

  /**
   * Creates an instance.
   *
   * @param code the `i_errno` the server sent
   * @param errno the `errno` the server sent, if any
   */
  constructor(code: number, errno?: number) {
    super(
      code,
      errno && WITH_ERRNO.has(code) ? { detail: strerror(errno) } : {},
    );
    this.name = "ServerError";
    this.errno = errno;
  }
}

/** One data stream failed (connect, read, write). */
export class StreamError extends IperfError {
  /** The iperf3 stream id (1, 3, 4, ...). */
  readonly streamId: number;

  /**
   * Creates an instance.
   *
   * @param code iperf3's error number (200-208)
   * @param streamId the stream's id
   * @param options detail and cause
   */
  constructor(code: number, streamId: number, options: IperfErrorOptions = {}) {
    super(code, options);
    this.name = "StreamError";
    this.streamId = streamId;
  }
}

/** The test was interrupted by a signal or an abort. */
export class InterruptedError extends IperfError {
  /**
   * Creates an instance.
   *
   * @param code `IECLIENTTERM` on the client, `IESERVERTERM` on the server
   */
  constructor(code: number) {
    super(code);
    this.name = "InterruptedError";
  }
}

/** A bad command line or option value. */
export class UsageError extends Error {
  /** The process exit code to use. */
  readonly exitCode: number;

  /**
   * Creates an instance.
   *
   * @param message the text printed after `iperf3: parameter error - `
   * @param exitCode the exit code (1 as iperf3)
   */
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = "UsageError";
    this.exitCode = exitCode;
  }
}

/**
 * An option iperf-ts recognises but does not implement yet. The command
 * line prints it as one line, `iperf3: option --X is not implemented yet:
 * REASON`, without the usage text.
 */
export class NotImplementedOptionError extends UsageError {
  /** The option's long name, without `--`. */
  readonly option: string;

  /**
   * Creates an instance.
   *
   * @param option the option's long name, without `--`
   * @param reason why it is not there yet, in a few words
   */
  constructor(option: string, reason: string) {
    super(`option --${option} is not implemented yet: ${reason}`);
    this.name = "NotImplementedOptionError";
    this.option = option;
  }
}

/**
 * A plot that cannot be made: the input is not an iperf3 document, has no
 * intervals or is too large, or the output cannot be written. The message
 * is one line, printed after `iperf3: error - `.
 */
export class PlotError extends Error {
  /**
   * Creates an instance.
   *
   * @param message what went wrong, naming the file
   * @param options the underlying error
   */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = "PlotError";
  }
}

/** Linux `strerror` texts for the errno values a peer is likely to send. */
const STRERROR: Readonly<Record<number, string>> = {
  1: "Operation not permitted",
  2: "No such file or directory",
  4: "Interrupted system call",
  5: "Input/output error",
  9: "Bad file descriptor",
  11: "Resource temporarily unavailable",
  12: "Cannot allocate memory",
  13: "Permission denied",
  22: "Invalid argument",
  24: "Too many open files",
  32: "Broken pipe",
  98: "Address already in use",
  99: "Cannot assign requested address",
  101: "Network is unreachable",
  104: "Connection reset by peer",
  105: "No buffer space available",
  110: "Connection timed out",
  111: "Connection refused",
  113: "No route to host",
};

/**
 * Linux's `strerror` text for an errno number sent by a peer.
 *
 * @param errno the number
 * @returns the text, or `Unknown error N`
 */
export function strerror(errno: number): string {
  return STRERROR[errno] ?? `Unknown error ${errno}`;
}

/**
 * The `strerror`-style reason for an error thrown by Deno's socket API, as
 * iperf3 prints it after a colon (`Connection refused`).
 *
 * @param error what Deno threw
 * @returns the OS-level reason
 */
export function osReason(error: unknown): string {
  if (error instanceof Deno.errors.ConnectionRefused) {
    return "Connection refused";
  }
  if (error instanceof Deno.errors.ConnectionReset) {
    return "Connection reset by peer";
  }
  if (error instanceof Deno.errors.ConnectionAborted) {
    return "Software caused connection abort";
  }
  if (error instanceof Deno.errors.TimedOut) return "Connection timed out";
  if (error instanceof Deno.errors.AddrInUse) return "Address already in use";
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return "Cannot assign requested address";
  }
  if (error instanceof Deno.errors.BrokenPipe) return "Broken pipe";
  if (error instanceof Deno.errors.NotConnected) {
    return "Transport endpoint is not connected";
  }
  if (error instanceof Deno.errors.NotCapable) {
    return `Permission denied (${firstLine(error.message)})`;
  }
  if (error instanceof Deno.errors.PermissionDenied) return "Permission denied";
  if (error instanceof Deno.errors.NetworkUnreachable) {
    return "Network is unreachable";
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && code in NODE_CODES) {
    return NODE_CODES[code] as string;
  }
  if (error instanceof Error) return firstLine(error.message);
  return String(error);
}

/** strerror texts for the error codes `node:net` reports. */
const NODE_CODES: Readonly<Record<string, string>> = {
  ECONNREFUSED: "Connection refused",
  ECONNRESET: "Connection reset by peer",
  ETIMEDOUT: "Connection timed out",
  EADDRINUSE: "Address already in use",
  EADDRNOTAVAIL: "Cannot assign requested address",
  EPIPE: "Broken pipe",
  ENETUNREACH: "Network is unreachable",
  EHOSTUNREACH: "No route to host",
  EACCES: "Permission denied",
  EINVAL: "Invalid argument",
};

function firstLine(text: string): string {
  const line = text.split("\n", 1)[0] ?? text;
  // Deno appends " (os error 111)" and the like; iperf3 prints strerror only.
  return line.replace(/ \(os error \d+\)$/, "");
}
